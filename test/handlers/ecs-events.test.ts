/**
 * The alarm handler fed ECS events, shaped as AWS documents them:
 * @see https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_service_deployment_events.html
 * @see https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_service_events.html
 */
import { SendTaskFailureCommand } from '@aws-sdk/client-sfn';
import { QueryCommand, UpdateCommand, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { createHandler } from '../../functions/alarm/handler';
import { ErrorName } from '../../functions/core/errors';
import { deploymentEvent, serviceArn } from '../fixtures/aws-events';
import { ACCOUNT, CLUSTER, REGION, ROLLOUT_ID } from '../fixtures/state';
import { LAMBDA_CONTEXT, NOW, TABLE, aws, conditionFailed, lockItem, lockUpdates, realDeps, resetAws, totalAwsCalls, type Deps } from './harness';

const TOKEN = 'AQCEAAAAKgAAAAMAAAAAAAAAAd2Wl7YvM0Y3steady-token';
const PAYMENTS_ID = 'payments-df0042b9a5d5-20261124T101200Z';
const CLUSTER_ARN = `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/${CLUSTER}`;
/** The idle slot of checkout, which the rollout deploys to. */
const GREEN_ARN = serviceArn(CLUSTER, 'checkout-green');
const CIRCUIT_BREAKER = 'ECS deployment circuit breaker: task failed to start.';

type EcsEvent = Record<string, unknown> & { detail: Record<string, unknown> };

/** An `ECS Service Action` event as the service action events page shows it. */
function serviceAction(eventName: string, eventType: string, extra: Record<string, unknown> = {}, resource = GREEN_ARN): EcsEvent {
  return {
    version: '0',
    id: '57c9506e-9d21-294c-d2fe-e8738da7e67d',
    'detail-type': 'ECS Service Action',
    source: 'aws.ecs',
    account: ACCOUNT,
    time: '2026-11-24T10:19:58Z',
    region: REGION,
    resources: [resource],
    detail: { eventType, eventName, clusterArn: CLUSTER_ARN, createdAt: '2026-11-24T10:19:58.725Z', ...extra },
  };
}

const deploymentFailed = () => deploymentEvent('SERVICE_DEPLOYMENT_FAILED', 'ERROR', CIRCUIT_BREAKER);

let deps: Deps;
const invoke = (event: unknown) => createHandler(() => deps)(event, LAMBDA_CONTEXT);

/** The lock of checkout while it deploys to its green slot. */
const checkoutLock = (overrides: Record<string, unknown> = {}) => ({ ...lockItem({ taskToken: TOKEN, idleService: { cluster: CLUSTER, serviceName: 'checkout-green' } }), ...overrides });

const paymentsLock = (overrides: Record<string, unknown> = {}) => ({
  ...lockItem({ service: 'payments', rolloutId: PAYMENTS_ID, alarms: ['payments-5xx'], taskToken: `${TOKEN}-payments`, idleService: { cluster: CLUSTER, serviceName: 'payments-green' } }),
  pk: 'service#payments',
  ...overrides,
});

/** The active index holds these lock items; markAborted answers the lock as it is after the update. */
function givenActiveLocks(items: Array<Record<string, unknown>>): void {
  aws.dynamo.on(QueryCommand, { IndexName: 'active' }).resolves({ Items: items });
  aws.dynamo.on(UpdateCommand).callsFake((input: UpdateCommandInput) => {
    const item = items.find((i) => i.pk === input.Key?.pk) ?? {};
    return { Attributes: { ...item, abort: input.ExpressionAttributeValues?.[':abort'] } };
  });
}

/** The UpdateItem that records `reason` as checkout's abort. */
const abortOfCheckout = (reason: string) => ({
  TableName: TABLE,
  Key: { pk: 'service#checkout', sk: 'lock' },
  UpdateExpression: 'SET #abort = if_not_exists(#abort, :abort)',
  ConditionExpression: '#rid = :id',
  ExpressionAttributeNames: { '#abort': 'abort', '#rid': 'rolloutId' },
  ExpressionAttributeValues: { ':abort': { error: ErrorName.DeploymentFailed, reason, at: NOW }, ':id': ROLLOUT_ID },
  ReturnValues: 'ALL_NEW',
});

const taskFailures = () => aws.sfn.commandCalls(SendTaskFailureCommand).map((c) => c.args[0].input);

beforeEach(() => {
  resetAws();
  deps = realDeps();
  aws.sfn.on(SendTaskFailureCommand).resolves({});
});

describe('alarm handler: ECS failure events', () => {
  it.each<[string, EcsEvent, string]>([
    ['a circuit-breaker SERVICE_DEPLOYMENT_FAILED', deploymentFailed(), `ECS SERVICE_DEPLOYMENT_FAILED on checkout-green: ${CIRCUIT_BREAKER}`],
    ['a SERVICE_TASK_START_IMPAIRED (WARN, no reason)', serviceAction('SERVICE_TASK_START_IMPAIRED', 'WARN'), 'ECS SERVICE_TASK_START_IMPAIRED on checkout-green: SERVICE_TASK_START_IMPAIRED'],
    [
      'a Fargate SERVICE_TASK_PLACEMENT_FAILURE',
      serviceAction('SERVICE_TASK_PLACEMENT_FAILURE', 'ERROR', { capacityProviderArns: [`arn:aws:ecs:${REGION}:${ACCOUNT}:capacity-provider/FARGATE_SPOT`], reason: 'RESOURCE:FARGATE' }),
      'ECS SERVICE_TASK_PLACEMENT_FAILURE on checkout-green: RESOURCE:FARGATE',
    ],
    [
      'an EC2 SERVICE_TASK_PLACEMENT_FAILURE with a reasons list',
      serviceAction('SERVICE_TASK_PLACEMENT_FAILURE', 'ERROR', {
        containerInstanceArns: [`arn:aws:ecs:${REGION}:${ACCOUNT}:container-instance/${CLUSTER}/2dd1b186f39845a584488d2ef155c131`],
        reasons: ['RESOURCE:CPU', 'RESOURCE:MEMORY'],
      }),
      'ECS SERVICE_TASK_PLACEMENT_FAILURE on checkout-green: RESOURCE:CPU; RESOURCE:MEMORY',
    ],
    [
      'a SERVICE_TASK_CONFIGURATION_FAILURE',
      serviceAction('SERVICE_TASK_CONFIGURATION_FAILURE', 'ERROR', { reason: 'ECS was unable to assume the role arn:aws:iam::123456789012:role/checkout-task' }),
      'ECS SERVICE_TASK_CONFIGURATION_FAILURE on checkout-green: ECS was unable to assume the role arn:aws:iam::123456789012:role/checkout-task',
    ],
    [
      'a SERVICE_DEPLOYMENT_FAILED sent as a service action',
      serviceAction('SERVICE_DEPLOYMENT_FAILED', 'ERROR', { reason: CIRCUIT_BREAKER }),
      `ECS SERVICE_DEPLOYMENT_FAILED on checkout-green: ${CIRCUIT_BREAKER}`,
    ],
  ])('aborts the rollout deploying to the service on %s and fails its token with DeploymentFailed', async (_name, event, reason) => {
    givenActiveLocks([checkoutLock(), paymentsLock()]);

    const result = await invoke(event);

    expect(result).toEqual({ aborted: [{ service: 'checkout', rolloutId: ROLLOUT_ID, resumedBake: true, restored: false }] });
    expect(lockUpdates()).toEqual([abortOfCheckout(reason)]);
    expect(taskFailures()).toEqual([{ taskToken: TOKEN, error: ErrorName.DeploymentFailed, cause: reason }]);
  });

  it.each([
    ['by name', CLUSTER],
    ['by ARN', CLUSTER_ARN],
  ])('matches the lock whose idle service names its cluster %s', async (_name, cluster) => {
    givenActiveLocks([checkoutLock({ idleService: { cluster, serviceName: 'checkout-green' } })]);

    const result = await invoke(deploymentFailed());

    expect(result.aborted).toEqual([{ service: 'checkout', rolloutId: ROLLOUT_ID, resumedBake: true, restored: false }]);
    expect(lockUpdates()).toEqual([abortOfCheckout(`ECS SERVICE_DEPLOYMENT_FAILED on checkout-green: ${CIRCUIT_BREAKER}`)]);
  });

  it('looks the rollouts in flight up on the active index', async () => {
    givenActiveLocks([]);

    await invoke(deploymentFailed());

    expect(aws.dynamo).toHaveReceivedCommandExactlyOnceWith(QueryCommand, {
      TableName: TABLE,
      IndexName: 'active',
      KeyConditionExpression: 'activeKey = :a',
      ExpressionAttributeValues: { ':a': 'active' },
    });
  });

  it('leaves the locks of other services and of the same service name in another cluster untouched', async () => {
    const otherCluster = paymentsLock({ idleService: { cluster: `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/shop-eu`, serviceName: 'checkout-green' } });
    givenActiveLocks([paymentsLock(), checkoutLock(), otherCluster]);

    const result = await invoke(deploymentFailed());

    expect(result.aborted.map((a) => a.service)).toEqual(['checkout']);
    expect(lockUpdates().map((u) => u.Key)).toEqual([{ pk: 'service#checkout', sk: 'lock' }]);
    expect(taskFailures().map((f) => f.taskToken)).toEqual([TOKEN]);
  });

  it.each<[string, Array<Record<string, unknown>>, EcsEvent, string]>([
    ['a failure in another cluster', [checkoutLock()], deploymentEvent('SERVICE_DEPLOYMENT_FAILED', 'ERROR', CIRCUIT_BREAKER, serviceArn('shop-eu', 'checkout-green')), 'shop-eu/checkout-green'],
    ['a failure of the live slot', [checkoutLock()], deploymentEvent('SERVICE_DEPLOYMENT_FAILED', 'ERROR', CIRCUIT_BREAKER, serviceArn(CLUSTER, 'checkout-blue')), 'shop/checkout-blue'],
    ['a rollout that has not chosen its idle slot yet', [lockItem({ taskToken: TOKEN })], deploymentFailed(), 'shop/checkout-green'],
    ['no rollout in flight', [], deploymentFailed(), 'shop/checkout-green'],
  ])('ignores %s, writing nothing', async (_name, locks, event, where) => {
    givenActiveLocks(locks);

    const result = await invoke(event);

    expect(result).toEqual({ aborted: [], ignored: `no rollout in flight deploys to ${where}` });
    expect(lockUpdates()).toEqual([]);
    expect(aws.sfn.calls()).toHaveLength(0);
  });

  it('records the abort without a token when the rollout is between two states', async () => {
    givenActiveLocks([checkoutLock({ taskToken: undefined })]);

    const result = await invoke(deploymentFailed());

    expect(result).toEqual({ aborted: [{ service: 'checkout', rolloutId: ROLLOUT_ID, resumedBake: false, restored: false }] });
    expect(lockUpdates()).toEqual([abortOfCheckout(`ECS SERVICE_DEPLOYMENT_FAILED on checkout-green: ${CIRCUIT_BREAKER}`)]);
    expect(aws.sfn.calls()).toHaveLength(0);
  });

  it('skips a rollout that released its lock between the lookup and the abort', async () => {
    aws.dynamo.on(QueryCommand, { IndexName: 'active' }).resolves({ Items: [checkoutLock()] });
    aws.dynamo.on(UpdateCommand).rejects(conditionFailed());

    const result = await invoke(deploymentFailed());

    expect(result).toEqual({ aborted: [] });
    expect(aws.sfn.calls()).toHaveLength(0);
  });

  it.each<[string, EcsEvent]>([
    ['SERVICE_DEPLOYMENT_IN_PROGRESS', deploymentEvent('SERVICE_DEPLOYMENT_IN_PROGRESS', 'INFO', 'ECS deployment ecs-svc/1234567890123456789 in progress.')],
    ['SERVICE_DEPLOYMENT_COMPLETED', deploymentEvent('SERVICE_DEPLOYMENT_COMPLETED', 'INFO', 'ECS deployment ecs-svc/1234567890123456789 completed.')],
    ['SERVICE_STEADY_STATE', serviceAction('SERVICE_STEADY_STATE', 'INFO')],
  ])('ignores %s without any AWS call and logs why', async (eventName, event) => {
    givenActiveLocks([checkoutLock()]);

    const result = await invoke(event);

    expect(result).toEqual({ aborted: [], ignored: `${eventName} is not a failure` });
    expect(totalAwsCalls()).toBe(0);
    expect(deps.log.lines).toContainEqual({ level: 'info', message: 'event ignored', fields: { reason: `${eventName} is not a failure` } });
  });

  it.each([['__proto__'], ['constructor'], ['toString'], ['ECS Task State Change']])('ignores an ECS event of detail-type %s without any AWS call', async (detailType) => {
    givenActiveLocks([checkoutLock()]);
    const event = { ...deploymentFailed(), 'detail-type': detailType };

    const result = await invoke(event);

    expect(result).toEqual({ aborted: [], ignored: `not an ECS deployment or service event (detail-type ${JSON.stringify(detailType)})` });
    expect(totalAwsCalls()).toBe(0);
    expect(deps.log.lines.map((l) => l.message)).toEqual(['event ignored']);
  });

  const SERVICE_ARN_PROBLEM = 'resources: must name the ECS service (arn:aws:ecs:<region>:<account>:service/<cluster>/<service>)';

  it.each<[string, (e: EcsEvent) => void, string]>([
    ['no resources', (e) => delete e.resources, SERVICE_ARN_PROBLEM],
    ['an empty resources list', (e) => (e.resources = []), SERVICE_ARN_PROBLEM],
    ['resources naming the cluster', (e) => (e.resources = [CLUSTER_ARN]), SERVICE_ARN_PROBLEM],
    ['resources naming a task', (e) => (e.resources = [`arn:aws:ecs:${REGION}:${ACCOUNT}:task/${CLUSTER}/b99d40b3517649f7`]), SERVICE_ARN_PROBLEM],
    ['a service ARN in the old format without the cluster', (e) => (e.resources = [`arn:aws:ecs:${REGION}:${ACCOUNT}:service/checkout-green`]), SERVICE_ARN_PROBLEM],
    ['resources that are not a list', (e) => (e.resources = GREEN_ARN), SERVICE_ARN_PROBLEM],
    ['no eventName', (e) => delete e.detail.eventName, 'detail.eventName: is required'],
    ['an eventName that is not a string', (e) => (e.detail.eventName = ['SERVICE_DEPLOYMENT_FAILED']), 'detail.eventName: is required'],
  ])('refuses an event with %s as InvalidInput before any AWS call', async (_name, change, problem) => {
    givenActiveLocks([checkoutLock()]);
    const event = deploymentFailed();
    change(event);

    await expect(invoke(event)).rejects.toMatchObject({ name: ErrorName.InvalidInput, problems: [problem] });
    expect(totalAwsCalls()).toBe(0);
  });

  it('refuses an event without a detail object as InvalidInput before any AWS call', async () => {
    const { detail: _detail, ...event } = deploymentFailed();

    await expect(invoke(event)).rejects.toMatchObject({ name: ErrorName.InvalidInput, message: 'ECS Deployment State Change event has no detail object' });
    expect(totalAwsCalls()).toBe(0);
  });
});
