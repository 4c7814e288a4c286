import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeImageScanFindingsCommand, DescribeImagesCommand } from '@aws-sdk/client-ecr';
import { DescribeExecutionCommand, SendTaskFailureCommand, SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import { ClientException, DescribeServicesCommand, DescribeTaskDefinitionCommand, RegisterTaskDefinitionCommand, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import {
  DescribeListenersCommand,
  DescribeTargetGroupsCommand,
  ListenerNotFoundException,
  ModifyListenerCommand,
  ModifyRuleCommand,
  TargetGroupNotFoundException,
  type Action,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { DeleteCommand, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { ErrorName } from '../../functions/core/errors';
import { recoveryId } from '../../functions/core/ownership';
import { executionArnOf } from '../../functions/aws/executions';
import type { LockRecord } from '../../functions/core/ports';
import type { LiveState } from '../../functions/core/rollout';
import { createHandler } from '../../functions/prepare/handler';
import { describedTaskDefinition, ecsService } from '../fixtures/ecs';
import {
  ALARMS,
  DIGEST,
  BLUE_TG,
  EVENT_ID,
  GREEN_TG,
  IDLE_TD,
  IMAGE_URI,
  LISTENER_ARN,
  OTHER_DIGEST,
  OTHER_ROLLOUT_ID,
  RETAINED_TD,
  ROLLOUT_ID,
  rolloutInput,
  serviceConfig,
  PUSHED_AT,
} from '../fixtures/state';
import {
  LAMBDA_CONTEXT,
  LEASE_UNTIL,
  LOCK_KEY,
  NOW,
  TABLE,
  aws,
  conditionText,
  fenceOf,
  fieldsRemoved,
  fieldsSet,
  givenAlarmStates,
  givenEcsService,
  givenHealthyEnvironment,
  givenListener,
  givenLockTable,
  historyWrites,
  lockAcquires,
  lockFences,
  lockItem,
  lockReleases,
  lockUpdates,
  namedError,
  realDeps,
  releaseOf,
  released,
  resetAws,
  sdkError,
  serviceStateWrites,
  slotWeights,
  totalAwsCalls,
  weightedForward,
  writes,
  type Deps,
  type LockTable,
  STATE_MACHINE_ARN,
} from './harness';

let deps: Deps;
let lock: LockTable;
const invoke = (input: unknown) => createHandler(() => deps)(input, LAMBDA_CONTEXT);

/** ECR's push time of the sample image (DescribeImages' imagePushedAt), which orders pushes. */
const PUSHED = '2026-11-24T10:15:00.000Z';
const PUSH = { pushedAt: PUSHED, digest: DIGEST };
const OTHER_IMAGE_URI = IMAGE_URI.replace(DIGEST, OTHER_DIGEST);
/** What recovery restores if the rollout dies once prepared: the retained revision on the live slot. */
const retained = (slot: 'blue' | 'green' = 'blue', desiredCount = 3): NonNullable<LockRecord['target']> => ({ slot, taskDefinitionArn: RETAINED_TD, desiredCount, phase: 'retained' });

/** What Prepare's fence records: the retained target, and the listener write that puts all traffic back on it. */
const prepared = (slot: 'blue' | 'green' = 'blue', desiredCount = 3) => ({
  target: retained(slot, desiredCount),
  fallback: {
    listenerArn: LISTENER_ARN,
    weights: [
      { targetGroupArn: BLUE_TG, weight: slot === 'blue' ? 100 : 0 },
      { targetGroupArn: GREEN_TG, weight: slot === 'green' ? 100 : 0 },
    ],
    target: retained(slot, desiredCount),
  },
});

/** The lock is free (or was never written): the acquire succeeds at a new generation. */
function givenFreeLock(): void {
  aws.dynamo.on(UpdateCommand).resolves({});
  lock = givenLockTable(undefined);
}

/** What the acquire of the sample push writes. */
const acquireFields = {
  service: 'checkout',
  rolloutId: ROLLOUT_ID,
  startedAt: NOW,
  alarms: [...ALARMS],
  push: PUSH,
  image: IMAGE_URI,
  activeKey: 'active',
  generation: 'if_not_exists(generation, 0) + 1',
};

/** The lock update that records the slot and weights prepare read (conditional on the holder only). */
const slotUpdate = () => lockUpdates().filter((u) => u.ConditionExpression === '#rid = :rid');

/** No change to traffic, services or task definitions was sent. */
function expectNothingChangedInAws(): void {
  expect(aws.elb).toHaveReceivedCommandTimes(ModifyListenerCommand, 0);
  expect(aws.elb).toHaveReceivedCommandTimes(ModifyRuleCommand, 0);
  expect(aws.ecs).toHaveReceivedCommandTimes(UpdateServiceCommand, 0);
  expect(aws.ecs).toHaveReceivedCommandTimes(RegisterTaskDefinitionCommand, 0);
}

beforeEach(() => {
  resetAws();
  deps = realDeps();
});

describe('prepare handler', () => {
  it('takes the lock, reads blue as live and green as idle, and records a RUNNING rollout', async () => {
    givenFreeLock();
    givenHealthyEnvironment();

    const live = await invoke(rolloutInput());

    expect(live).toEqual<LiveState>({
      startedAt: NOW,
      generation: 1,
      liveSlot: 'blue',
      idleSlot: 'green',
      retainedTaskDefinitionArn: RETAINED_TD,
      idleTaskDefinitionArn: IDLE_TD,
      desiredCount: 3,
      weights: { blue: 100, green: 0 },
      decision: 'blue is live on checkout:7 (3 tasks); green is idle and takes the new revision; alarms: checkout-5xx OK, checkout-p99-latency OK',
    });
    const [acquire] = lockAcquires();
    expect(acquire).toMatchObject({ TableName: TABLE, Key: LOCK_KEY, ReturnValues: 'ALL_NEW' });
    expect(fieldsSet(acquire!)).toEqual(acquireFields);
    expect(lockFences()).toEqual([fenceOf(ROLLOUT_ID, 1, prepared())]);
    const [update] = slotUpdate();
    expect(update?.ExpressionAttributeValues?.[':rid']).toBe(ROLLOUT_ID);
    expect(fieldsSet(update!)).toEqual({ newSlot: 'green', weights: { blue: 100, green: 0 }, idleService: { cluster: 'shop', serviceName: 'checkout-green' } });
    expect(writes()).toEqual(['acquire', 'dequeue', 'fence', 'history', 'lock update', 'close lease']);
    expect(lock.item).toEqual({
      ...LOCK_KEY,
      ...acquireFields,
      generation: 1,
      leaseUntil: LEASE_UNTIL,
      ...prepared(),
      newSlot: 'green',
      weights: { blue: 100, green: 0 },
      idleService: { cluster: 'shop', serviceName: 'checkout-green' },
    });
    expect(historyWrites()).toEqual([
      {
        sk: `rollout#${NOW}#${ROLLOUT_ID}`,
        fields: {
          service: 'checkout',
          rolloutId: ROLLOUT_ID,
          startedAt: NOW,
          outcome: 'RUNNING',
          image: IMAGE_URI,
          pushedAt: PUSHED,
          trigger: `ecr-push:${EVENT_ID}`,
          liveSlot: 'blue',
          retainedTaskDefinitionArn: RETAINED_TD,
          weights: { blue: 100, green: 0 },
        },
      },
    ]);
    expect(lockReleases()).toEqual([]);
    expectNothingChangedInAws();
  });

  it('takes the lock but changes nothing while a write of the previous owner may still land, and asks to be retried (LeaseOpen)', async () => {
    givenHealthyEnvironment();
    const stray = { generation: 2, until: new Date(Date.parse(NOW) + 12_000).toISOString() };
    aws.dynamo.on(UpdateCommand).resolves({});
    // The previous owner released, but one of its invocations died with a call on the wire.
    lock = givenLockTable({ ...LOCK_KEY, generation: 2, leaseUntil: stray.until, 'lease#died-mid-call': stray });

    await expect(invoke(rolloutInput())).rejects.toMatchObject({ name: ErrorName.LeaseOpen, waitMs: 12_000 });

    expectNothingChangedInAws();
    expect(writes()).toEqual(['acquire', 'dequeue', 'fence', 'close lease']);
    expect(lock.item).toMatchObject({ rolloutId: ROLLOUT_ID, generation: 3, 'lease#died-mid-call': stray });
    expect(lock.item).not.toHaveProperty(`lease#${LAMBDA_CONTEXT.awsRequestId}`);
  });

  it('reads green as live when green holds 100%', async () => {
    givenFreeLock();
    givenHealthyEnvironment({
      blue: ecsService('checkout-blue', 6, { desiredCount: 0, runningCount: 0 }),
      green: ecsService('checkout-green', 7, { desiredCount: 5, runningCount: 5 }),
    });
    givenListener([weightedForward(0, 100)]);

    const live = await invoke(rolloutInput());

    expect(live).toMatchObject({ liveSlot: 'green', idleSlot: 'blue', retainedTaskDefinitionArn: RETAINED_TD, idleTaskDefinitionArn: IDLE_TD, desiredCount: 5 });
    expect(lockFences()).toEqual([fenceOf(ROLLOUT_ID, 1, prepared('green', 5))]);
    expect(fieldsSet(slotUpdate()[0]!)).toEqual({ newSlot: 'blue', weights: { blue: 0, green: 100 }, idleService: { cluster: 'shop', serviceName: 'checkout-blue' } });
  });

  it('reads a plain TargetGroupArn forward as that slot at 100%', async () => {
    givenFreeLock();
    givenHealthyEnvironment();
    givenListener([
      { Type: 'authenticate-oidc', Order: 1, AuthenticateOidcConfig: { Issuer: 'https://idp.example.com', AuthorizationEndpoint: 'a', TokenEndpoint: 't', UserInfoEndpoint: 'u', ClientId: 'c' } },
      {
        Type: 'forward',
        Order: 2,
        ForwardConfig: {
          TargetGroups: [
            { TargetGroupArn: BLUE_TG, Weight: 1 },
            { TargetGroupArn: GREEN_TG, Weight: 0 },
          ],
        },
      },
    ]);

    const live = await invoke(rolloutInput());

    expect(live).toMatchObject({ liveSlot: 'blue', weights: { blue: 100, green: 0 } });
  });

  it('asks CloudWatch for the watched alarms by name, without a state filter (moto ignores it)', async () => {
    givenFreeLock();
    givenHealthyEnvironment();

    await invoke(rolloutInput());

    expect(aws.cloudwatch).toHaveReceivedCommandExactlyOnceWith(DescribeAlarmsCommand, { AlarmNames: [...ALARMS], AlarmTypes: ['MetricAlarm', 'CompositeAlarm'] });
    expect(aws.cloudwatch.commandCalls(DescribeAlarmsCommand)[0]!.args[0].input).not.toHaveProperty('StateValue');
  });

  it('keeps the first start time and the generation when a retried prepare takes its own lock again', async () => {
    givenFreeLock();
    lock.item = lockItem({ startedAt: '2026-11-24T10:15:03.000Z', generation: 4, push: PUSH, image: IMAGE_URI, newSlot: undefined, weights: undefined });
    givenHealthyEnvironment();

    const live = await invoke(rolloutInput());

    expect(live).toMatchObject({ startedAt: '2026-11-24T10:15:03.000Z', generation: 4 });
    expect(historyWrites()[0]).toMatchObject({ sk: `rollout#2026-11-24T10:15:03.000Z#${ROLLOUT_ID}`, fields: { startedAt: '2026-11-24T10:15:03.000Z', outcome: 'RUNNING' } });
    expect(lockFences()).toEqual([fenceOf(ROLLOUT_ID, 4, prepared())]);
    expect(lock.item).toMatchObject({ rolloutId: ROLLOUT_ID, generation: 4, startedAt: '2026-11-24T10:15:03.000Z' });
  });

  it('refuses with RolloutBusy when another rollout holds the lock and the policy is reject, writing only a REFUSED record', async () => {
    givenFreeLock();
    lock.item = lockItem({ rolloutId: OTHER_ROLLOUT_ID });

    const attempt = invoke(rolloutInput({ service: serviceConfig({ concurrency: 'reject' }) }));

    await expect(attempt).rejects.toMatchObject({
      name: ErrorName.RolloutBusy,
      message: `service checkout is busy: rollout ${OTHER_ROLLOUT_ID} holds its lock`,
    });
    // The holder read when the acquire fails, then again after the refusal (the turn goes on only when free).
    expect(aws.dynamo.commandCalls(GetCommand, { Key: LOCK_KEY }).map((c) => c.args[0].input)).toEqual([
      { TableName: TABLE, Key: LOCK_KEY, ConsistentRead: true },
      { TableName: TABLE, Key: LOCK_KEY, ConsistentRead: true },
    ]);
    expect(lockUpdates()).toHaveLength(1); // the acquire, refused by its condition
    expect(lock.item).toEqual(lockItem({ rolloutId: OTHER_ROLLOUT_ID }));
    expect(historyWrites()).toEqual([
      {
        sk: `rollout#${PUSHED}#${ROLLOUT_ID}`,
        fields: {
          service: 'checkout',
          rolloutId: ROLLOUT_ID,
          startedAt: PUSHED,
          endedAt: NOW,
          outcome: 'REFUSED',
          image: IMAGE_URI,
          pushedAt: PUSHED,
          reason: `busy: rollout ${OTHER_ROLLOUT_ID} is in progress (concurrency: reject)`,
          trigger: `ecr-push:${EVENT_ID}`,
        },
      },
    ]);
    expect(lockReleases()).toEqual([]);
    expect(aws.ecs.calls()).toHaveLength(0);
    expect(aws.elb.calls()).toHaveLength(0);
    expect(aws.cloudwatch.calls()).toHaveLength(0);
  });

  it('logs a refusal once, with its stable error name, the rollout and the service', async () => {
    givenFreeLock();
    lock.item = lockItem({ rolloutId: OTHER_ROLLOUT_ID });

    await invoke(rolloutInput({ service: serviceConfig({ concurrency: 'reject' }) })).catch(() => undefined);

    expect(deps.log.lines.filter((l) => l.level === 'error')).toEqual([
      {
        level: 'error',
        message: `service checkout is busy: rollout ${OTHER_ROLLOUT_ID} holds its lock`,
        fields: { function: 'prepare', error: ErrorName.RolloutBusy, rolloutId: ROLLOUT_ID, service: 'checkout', problems: undefined },
      },
    ]);
  });

  it('takes the lock after all, at the next generation, when the holder released it between the two reads', async () => {
    givenFreeLock();
    lock.item = lockItem({ rolloutId: OTHER_ROLLOUT_ID, generation: 3 });
    lock.beforeNextRead(() => (lock.item = released(lock.item!)));
    givenHealthyEnvironment();

    const live = await invoke(rolloutInput());

    expect(live).toMatchObject({ liveSlot: 'blue', generation: 4 });
    expect(lockAcquires()).toHaveLength(2);
    expect(lock.item).toMatchObject({ rolloutId: ROLLOUT_ID, generation: 4 });
  });

  it('refuses a push older than the image live now as SUPERSEDED, before it takes the lock', async () => {
    givenFreeLock();
    givenHealthyEnvironment();
    const newer = { pushedAt: '2026-11-24T10:16:00.000Z', digest: OTHER_DIGEST };
    aws.dynamo
      .on(GetCommand, { TableName: TABLE, Key: { pk: 'service#checkout', sk: 'state' } })
      .resolves({ Item: { service: 'checkout', liveSlot: 'blue', liveTaskDefinitionArn: RETAINED_TD, desiredCount: 3, rolloutId: OTHER_ROLLOUT_ID, at: NOW, push: newer } });

    await expect(invoke(rolloutInput())).rejects.toMatchObject({ name: ErrorName.Superseded });

    const reason = `pushed at ${PUSHED}, before the image live now (${OTHER_DIGEST.slice(0, 19)}…, pushed at ${newer.pushedAt}): a late delivery never replaces a newer image`;
    expect(historyWrites()).toEqual([
      {
        sk: `rollout#${PUSHED}#${ROLLOUT_ID}`,
        fields: { service: 'checkout', rolloutId: ROLLOUT_ID, startedAt: PUSHED, endedAt: NOW, outcome: 'SUPERSEDED', image: IMAGE_URI, pushedAt: PUSHED, reason, trigger: `ecr-push:${EVENT_ID}` },
      },
    ]);
    // The push leaves the queue after its record (it may have been woken for its turn).
    expect(writes()).toEqual(['history', 'dequeue']);
    expect(lock.item).toBeUndefined();
  });

  it('wakes the next waiting push after a refusal when the lock is free, so no wake-up is lost', async () => {
    givenFreeLock();
    givenHealthyEnvironment();
    const newer = { pushedAt: '2026-11-24T10:16:00.000Z', digest: OTHER_DIGEST };
    aws.dynamo
      .on(GetCommand, { TableName: TABLE, Key: { pk: 'service#checkout', sk: 'state' } })
      .resolves({ Item: { service: 'checkout', liveSlot: 'blue', liveTaskDefinitionArn: RETAINED_TD, desiredCount: 3, rolloutId: OTHER_ROLLOUT_ID, at: NOW, push: newer } });
    const waiting = { service: 'checkout', rolloutId: 'checkout-waiting', pushedAt: '2026-11-24T10:17:00.000Z', digest: 'sha256:ff', image: 'waiting-image', taskToken: 'waiting-token' };
    aws.dynamo
      .on(QueryCommand, { ExpressionAttributeValues: { ':pk': 'service#checkout', ':prefix': 'queue#' } })
      .resolves({ Items: [{ pk: 'service#checkout', sk: `queue#${waiting.pushedAt}#${waiting.rolloutId}`, ...waiting }] });
    aws.sfn.on(SendTaskSuccessCommand).resolves({});

    await expect(invoke(rolloutInput())).rejects.toMatchObject({ name: ErrorName.Superseded });

    expect(historyWrites().map((h) => h.fields.outcome)).toEqual(['SUPERSEDED']);
    expect(writes()).toEqual(['history', 'dequeue', 'SendTaskSuccess']);
    expect(aws.dynamo.commandCalls(DeleteCommand).map((c) => c.args[0].input.Key)).toEqual([{ pk: 'service#checkout', sk: `queue#${PUSHED}#${ROLLOUT_ID}` }]);
    expect(aws.sfn.commandCalls(SendTaskSuccessCommand).map((c) => c.args[0].input.taskToken)).toEqual(['waiting-token']);
  });

  it('wakes nobody after a refusal while another rollout holds the lock', async () => {
    givenFreeLock();
    lock.item = lockItem({ rolloutId: OTHER_ROLLOUT_ID });
    const waiting = { service: 'checkout', rolloutId: 'checkout-waiting', pushedAt: '2026-11-24T10:17:00.000Z', digest: 'sha256:ff', image: 'waiting-image', taskToken: 'waiting-token' };
    aws.dynamo
      .on(QueryCommand, { ExpressionAttributeValues: { ':pk': 'service#checkout', ':prefix': 'queue#' } })
      .resolves({ Items: [{ pk: 'service#checkout', sk: `queue#${waiting.pushedAt}#${waiting.rolloutId}`, ...waiting }] });

    await expect(invoke(rolloutInput({ service: serviceConfig({ concurrency: 'reject' }) }))).rejects.toMatchObject({ name: ErrorName.RolloutBusy });

    expect(aws.sfn.commandCalls(SendTaskSuccessCommand)).toHaveLength(0);
  });

  it('refuses as SUPERSEDED and releases the lock when a newer push went live while this one waited', async () => {
    givenFreeLock();
    givenHealthyEnvironment();
    const newer = { pushedAt: '2026-11-24T10:16:00.000Z', digest: OTHER_DIGEST };
    aws.dynamo
      .on(GetCommand, { TableName: TABLE, Key: { pk: 'service#checkout', sk: 'state' } })
      .resolvesOnce({})
      .resolves({ Item: { service: 'checkout', liveSlot: 'green', liveTaskDefinitionArn: RETAINED_TD, desiredCount: 3, rolloutId: OTHER_ROLLOUT_ID, at: NOW, push: newer } });

    await expect(invoke(rolloutInput())).rejects.toMatchObject({ name: ErrorName.Superseded });

    expect(historyWrites().map((h) => h.fields.outcome)).toEqual(['SUPERSEDED']);
    expect(writes()).toEqual(['acquire', 'dequeue', 'history', 'dequeue', 'release']);
    expect(lockReleases()).toEqual([releaseOf(ROLLOUT_ID)]);
    expect(lock.item).toEqual({ ...LOCK_KEY, service: 'checkout', generation: 1 });
  });

  describe('pre-flight', () => {
    it.each<[string, () => void, string[]]>([
      [
        'a watched alarm that does not exist',
        () => givenAlarmStates({ 'checkout-5xx': 'OK' }),
        ['alarm checkout-p99-latency does not exist (a missing alarm never fires, so it cannot stop a bad rollout)'],
      ],
      ['traffic split between the slots', () => givenListener([weightedForward(75, 25)]), ['traffic is split (blue 75 / green 25); a rollout starts only from 100/0']],
      ['a listener that forwards to blue only', () => givenListener([{ Type: 'forward', TargetGroupArn: BLUE_TG }]), ["the listener does not forward to the green slot's target group"]],
      [
        'a listener that also forwards to a group Cutover does not manage',
        () =>
          givenListener([
            {
              Type: 'forward',
              ForwardConfig: {
                TargetGroups: [
                  { TargetGroupArn: BLUE_TG, Weight: 100 },
                  { TargetGroupArn: GREEN_TG, Weight: 0 },
                  { TargetGroupArn: `${BLUE_TG}x`, Weight: 100 },
                ],
              },
            },
          ]),
        [`the listener also forwards to target groups Cutover does not manage: ${BLUE_TG}x`, 'traffic is split (blue 50 / green 0); a rollout starts only from 100/0'],
      ],
      [
        'a live slot changed outside Cutover (drift)',
        () =>
          aws.dynamo
            .on(GetCommand, { TableName: TABLE, Key: { pk: 'service#checkout', sk: 'state' } })
            .resolves({ Item: { service: 'checkout', liveSlot: 'blue', liveTaskDefinitionArn: IDLE_TD, desiredCount: 2, rolloutId: OTHER_ROLLOUT_ID, at: NOW } }),
        [
          `drift since ${OTHER_ROLLOUT_ID}: the live service runs checkout:7, Cutover left checkout:6; the live service wants 3 tasks, Cutover left 2 (set adoptDrift to roll out from the current state)`,
        ],
      ],
      ['a missing listener', () => aws.elb.on(DescribeListenersCommand).rejects(sdkError(ListenerNotFoundException, 'One or more listeners not found')), [`listener ${LISTENER_ARN} not found`]],
      [
        'a missing target group',
        () => aws.elb.on(DescribeTargetGroupsCommand, { TargetGroupArns: [GREEN_TG] }).rejects(sdkError(TargetGroupNotFoundException, 'One or more target groups not found')),
        [`target group of the green slot does not exist: ${GREEN_TG}`],
      ],
      [
        'a missing ECS service',
        () =>
          aws.ecs
            .on(DescribeServicesCommand, { services: ['checkout-green'] })
            .resolves({ services: [], failures: [{ arn: 'arn:aws:ecs:us-east-1:123456789012:service/shop/checkout-green', reason: 'MISSING' }] }),
        ['ECS service checkout-green (green slot) not found in cluster shop'],
      ],
      [
        'an ECS service that was deleted (INACTIVE)',
        () => givenEcsService(ecsService('checkout-green', 6, { status: 'INACTIVE' })),
        ['ECS service checkout-green (green slot) not found in cluster shop'],
      ],
      [
        'a slot on the CodeDeploy deployment controller',
        () => givenEcsService(ecsService('checkout-blue', 7, { deploymentController: { type: 'CODE_DEPLOY' } })),
        ['ECS service checkout-blue (blue slot) uses the CODE_DEPLOY deployment controller; Cutover deploys with UpdateService, which needs the ECS controller'],
      ],
      [
        "a slot on ECS's own blue/green deployments",
        () => givenEcsService(ecsService('checkout-green', 6, { desiredCount: 0, runningCount: 0, deploymentConfiguration: { strategy: 'BLUE_GREEN' } })),
        [
          "ECS service checkout-green (green slot) uses ECS's own BLUE_GREEN deployments, which move the load balancer's traffic themselves; set its deployment strategy to ROLLING and let Cutover shift the traffic",
        ],
      ],
      [
        'a live task definition that cannot be read',
        () => aws.ecs.on(DescribeTaskDefinitionCommand, { taskDefinition: RETAINED_TD }).rejects(sdkError(ClientException, 'Unable to describe task definition.')),
        [`the live task definition ${RETAINED_TD} cannot be read`],
      ],
      [
        'the image already live',
        () => aws.ecs.on(DescribeTaskDefinitionCommand, { taskDefinition: RETAINED_TD }).resolves({ taskDefinition: describedTaskDefinition(7, IMAGE_URI), tags: [] }),
        [`the live revision already runs ${IMAGE_URI}; nothing to roll out`],
      ],
    ])('refuses %s with PreflightFailed, records why and releases the lock', async (_name, arrange, problems) => {
      givenFreeLock();
      givenHealthyEnvironment();
      arrange();

      const attempt = invoke(rolloutInput());

      await expect(attempt).rejects.toMatchObject({ name: ErrorName.PreflightFailed, problems });
      expect(historyWrites()).toEqual([
        {
          sk: `rollout#${NOW}#${ROLLOUT_ID}`,
          fields: {
            service: 'checkout',
            rolloutId: ROLLOUT_ID,
            startedAt: NOW,
            endedAt: NOW,
            outcome: 'REFUSED',
            image: IMAGE_URI,
            pushedAt: PUSHED,
            reason: `pre-flight failed: ${problems.join('; ')}`,
            trigger: `ecr-push:${EVENT_ID}`,
          },
        },
      ]);
      expect(lockReleases()).toEqual([releaseOf(ROLLOUT_ID)]);
      expect(lockUpdates()).toHaveLength(1); // the acquire only: no target, slot or weights recorded
      expect(writes()).toEqual(['acquire', 'dequeue', 'history', 'release']);
      expect(lock.item).toEqual({ ...LOCK_KEY, service: 'checkout', generation: 1 });
      expectNothingChangedInAws();
    });

    it("prepares a release of the user's configuration although the live revision runs its image (a release runs the live image on purpose)", async () => {
      givenFreeLock();
      givenHealthyEnvironment();
      aws.ecs.on(DescribeTaskDefinitionCommand, { taskDefinition: RETAINED_TD }).resolves({ taskDefinition: describedTaskDefinition(7, IMAGE_URI), tags: [] });

      const live = await invoke(rolloutInput({ trigger: { kind: 'config', id: 'app:r1', at: PUSHED_AT }, release: { taskDefinitionArn: RETAINED_TD.replace(':7', ':9') } }));

      expect(live).toMatchObject({ liveSlot: 'blue', idleSlot: 'green', retainedTaskDefinitionArn: RETAINED_TD });
      expect(lockFences()).toEqual([fenceOf(ROLLOUT_ID, 1, prepared())]);
    });

    it('refuses a release whose configuration is live already (the live revision was cloned from it with the same image)', async () => {
      givenFreeLock();
      givenHealthyEnvironment();
      const released = RETAINED_TD.replace(':7', ':9');
      aws.ecs
        .on(DescribeTaskDefinitionCommand, { taskDefinition: RETAINED_TD })
        .resolves({ taskDefinition: describedTaskDefinition(7, IMAGE_URI), tags: [{ key: 'cutover:cloned-from', value: 'checkout:9' }] });

      const attempt = invoke(rolloutInput({ trigger: { kind: 'config', id: 'app:r1', at: PUSHED_AT }, release: { taskDefinitionArn: released } }));

      await expect(attempt).rejects.toMatchObject({
        name: ErrorName.PreflightFailed,
        problems: [`the live revision checkout:7 already runs the released configuration checkout:9 with ${IMAGE_URI}; nothing to roll out`],
      });
      expect(lockReleases()).toEqual([releaseOf(ROLLOUT_ID)]);
      expectNothingChangedInAws();
    });

    it('refuses an image digest ECR does not have with PreflightFailed before it takes the lock, and records why', async () => {
      givenFreeLock();
      givenHealthyEnvironment();
      aws.ecr.on(DescribeImagesCommand).rejects(namedError('ImageNotFoundException', 400));

      const attempt = invoke(rolloutInput());

      const problems = [`image ${DIGEST} is not in ECR repository checkout`];
      await expect(attempt).rejects.toMatchObject({ name: ErrorName.PreflightFailed, problems });
      expect(historyWrites()).toEqual([
        {
          sk: `rollout#${PUSHED_AT}#${ROLLOUT_ID}`,
          fields: {
            service: 'checkout',
            rolloutId: ROLLOUT_ID,
            startedAt: PUSHED_AT,
            endedAt: NOW,
            outcome: 'REFUSED',
            image: IMAGE_URI,
            reason: `pre-flight failed: ${problems.join('; ')}`,
            trigger: `ecr-push:${EVENT_ID}`,
          },
        },
      ]);
      expect(lockAcquires()).toEqual([]);
      expect(lock.item).toBeUndefined();
      expect(aws.elb.calls()).toHaveLength(0);
      expect(aws.ecs.calls()).toHaveLength(0);
    });

    it('releases the lock a retried prepare took before, when its image turns out to be gone from ECR', async () => {
      givenFreeLock();
      lock.item = lockItem({ generation: 2, push: PUSH, image: IMAGE_URI, newSlot: undefined, weights: undefined });
      givenHealthyEnvironment();
      aws.ecr.on(DescribeImagesCommand).resolves({ imageDetails: [] });

      await expect(invoke(rolloutInput())).rejects.toMatchObject({ name: ErrorName.PreflightFailed });

      expect(lockReleases()).toEqual([releaseOf(ROLLOUT_ID)]);
      expect(lock.item).toEqual({ ...LOCK_KEY, service: 'checkout', generation: 2 });
    });

    it('refuses a container the live revision does not have, naming the ones it has', async () => {
      givenFreeLock();
      givenHealthyEnvironment();

      const attempt = invoke(rolloutInput({ service: serviceConfig({ containerName: 'web' }) }));

      await expect(attempt).rejects.toMatchObject({ name: ErrorName.PreflightFailed, problems: [`container web is not in ${RETAINED_TD} (it has: app, log-router)`] });
      expect(lockReleases()).toEqual([releaseOf(ROLLOUT_ID)]);
      expect(lock.item).not.toHaveProperty('rolloutId');
      expectNothingChangedInAws();
    });

    it('reports every failed check at once', async () => {
      givenFreeLock();
      givenHealthyEnvironment();
      givenAlarmStates({});
      givenListener([weightedForward(50, 50)]);
      aws.elb.on(DescribeTargetGroupsCommand, { TargetGroupArns: [BLUE_TG] }).rejects(sdkError(TargetGroupNotFoundException, 'not found'));

      const attempt = invoke(rolloutInput());

      await expect(attempt).rejects.toMatchObject({
        name: ErrorName.PreflightFailed,
        problems: [
          'alarm checkout-5xx does not exist (a missing alarm never fires, so it cannot stop a bad rollout)',
          'alarm checkout-p99-latency does not exist (a missing alarm never fires, so it cannot stop a bad rollout)',
          `target group of the blue slot does not exist: ${BLUE_TG}`,
          'traffic is split (blue 50 / green 50); a rollout starts only from 100/0',
        ],
      });
      expect(lockReleases()).toEqual([releaseOf(ROLLOUT_ID)]);
    });
  });

  it.each<[string, unknown]>([
    ['an empty object', {}],
    ['a string', 'checkout'],
    ['an image pinned to a tag', { ...rolloutInput(), image: { repository: 'checkout', digest: 'v1.4.2', uri: '123456789012.dkr.ecr.us-east-1.amazonaws.com/checkout:v1.4.2' } }],
    ['a rollout id with a colon', { ...rolloutInput(), rolloutId: 'checkout:1a73d44e2264' }],
    ['a service without alarms', { ...rolloutInput(), service: serviceConfig({ alarms: [] }) }],
    ['a plan that never reaches 100%', { ...rolloutInput(), service: serviceConfig({ plan: { steps: [{ kind: 'setWeight', weight: 50 }] } }) }],
  ])('refuses %s with InvalidInput before any AWS call', async (_name, input) => {
    givenFreeLock();
    givenHealthyEnvironment();

    const attempt = invoke(input);

    await expect(attempt).rejects.toMatchObject({ name: ErrorName.InvalidInput });
    expect(totalAwsCalls()).toBe(0);
  });

  it.each<[string, Error]>([
    ['a throttled listener read', namedError('ThrottlingException', 400, 'Rate exceeded')],
    ['a 503 from ELB', namedError('ServiceUnavailable', 503)],
  ])('surfaces %s as AwsTransient for the state machine to retry', async (_name, failure) => {
    givenFreeLock();
    givenHealthyEnvironment();
    aws.elb.on(DescribeListenersCommand).rejects(failure);

    const attempt = invoke(rolloutInput());

    await expect(attempt).rejects.toMatchObject({ name: ErrorName.AwsTransient, cause: failure });
    expectNothingChangedInAws();
    // Kept for the retry, which takes it again at the same generation; nothing to restore yet.
    expect(lock.item).toMatchObject({ rolloutId: ROLLOUT_ID, generation: 1 });
    expect(lock.item).not.toHaveProperty('target');
  });
});

describe('prepare when another rollout holds the lock', () => {
  /** The holder's push: older than the sample push unless told. */
  const holderPush = (pushedAt = '2026-11-24T10:10:00.000Z') => ({ pushedAt, digest: OTHER_DIGEST });
  const holder = (overrides: Partial<LockRecord> = {}) =>
    lockItem({ rolloutId: OTHER_ROLLOUT_ID, taskToken: 'holder-token', push: holderPush(), image: OTHER_IMAGE_URI, stepIndex: 2, weights: { blue: 75, green: 25 }, ...overrides });
  const busy = (item = holder()) => {
    givenFreeLock();
    lock.item = item;
  };

  it('supersedes an older holder by default: aborts it through the abort path and waits for the turn', async () => {
    busy();

    await expect(invoke(rolloutInput())).rejects.toMatchObject({ name: ErrorName.RolloutQueued });

    expect(lock.item).toEqual({ ...holder(), abort: { error: 'RolloutAborted', reason: `superseded by the newer push ${ROLLOUT_ID}`, at: NOW } });
    expect(aws.sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, { taskToken: 'holder-token', error: 'RolloutAborted' });
    expect(historyWrites()).toEqual([]);
    expect(aws.ecs.calls()).toHaveLength(0);
  });

  it('waits for the turn without touching the holder under the queue policy', async () => {
    busy();

    await expect(invoke(rolloutInput({ service: serviceConfig({ concurrency: 'queue' }) }))).rejects.toMatchObject({ name: ErrorName.RolloutQueued });

    expect(lock.item).toEqual(holder());
    expect(aws.sfn.commandCalls(SendTaskFailureCommand)).toHaveLength(0);
  });

  it('drops this push as SUPERSEDED when the holder rolls out a newer one, leaving the holder alone', async () => {
    busy(holder({ push: holderPush('2026-11-24T10:16:00.000Z') }));

    await expect(invoke(rolloutInput())).rejects.toMatchObject({ name: ErrorName.Superseded });

    expect(historyWrites()).toEqual([
      {
        sk: `rollout#${PUSHED}#${ROLLOUT_ID}`,
        fields: {
          service: 'checkout',
          rolloutId: ROLLOUT_ID,
          startedAt: PUSHED,
          endedAt: NOW,
          outcome: 'SUPERSEDED',
          image: IMAGE_URI,
          pushedAt: PUSHED,
          reason: `superseded on arrival: the newer push ${OTHER_ROLLOUT_ID} is rolling out or waiting`,
          trigger: `ecr-push:${EVENT_ID}`,
        },
      },
    ]);
    expect(lock.item).toEqual(holder({ push: holderPush('2026-11-24T10:16:00.000Z') }));
    expect(aws.sfn.commandCalls(SendTaskFailureCommand)).toHaveLength(0);
  });

  it('drops this push as SUPERSEDED when a newer push waits for the turn, aborting nobody', async () => {
    busy();
    const waiting = { service: 'checkout', rolloutId: 'checkout-waiting', pushedAt: '2026-11-24T10:17:00.000Z', digest: 'sha256:ff', image: 'waiting-image', taskToken: 'waiting-token' };
    aws.dynamo
      .on(QueryCommand, { ExpressionAttributeValues: { ':pk': 'service#checkout', ':prefix': 'queue#' } })
      .resolves({ Items: [{ pk: 'service#checkout', sk: `queue#${waiting.pushedAt}#${waiting.rolloutId}`, ...waiting }] });

    await expect(invoke(rolloutInput())).rejects.toMatchObject({ name: ErrorName.Superseded });

    expect(historyWrites().map((h) => [h.fields.outcome, h.fields.reason])).toEqual([['SUPERSEDED', 'superseded on arrival: the newer push checkout-waiting is rolling out or waiting']]);
    expect(lock.item).toEqual(holder());
    expect(aws.sfn.commandCalls(SendTaskFailureCommand)).toHaveLength(0);
  });

  it('recovers the service from a holder whose execution has ended, then takes the lock at the next generation and rolls out', async () => {
    const dead = holder({
      startedAt: '2026-11-24T09:50:00.000Z',
      leaseUntil: '2026-11-24T10:00:35.000Z', // its last write is long over
      target: retained(),
    });
    busy(dead);
    // The dead holder's execution has ended; this push's own is still running (prepare checks it under the lock).
    aws.sfn.on(DescribeExecutionCommand, { executionArn: executionArnOf(STATE_MACHINE_ARN, OTHER_ROLLOUT_ID) }).resolves({ status: 'ABORTED' } as never);
    givenHealthyEnvironment({ green: ecsService('checkout-green', 8) }); // the dead rollout's revision, at full count
    givenListener([weightedForward(75, 25)]);
    aws.elb.on(ModifyListenerCommand).callsFake((input: { DefaultActions: Action[] }) => {
      givenListener(input.DefaultActions);
      return {};
    });
    aws.ecs.on(UpdateServiceCommand).resolves({});
    // Its record, as its prepare wrote it after its fence (keyed by when it took the lock).
    const running = { service: 'checkout', rolloutId: OTHER_ROLLOUT_ID, startedAt: dead.startedAt, outcome: 'RUNNING', pushedAt: holderPush().pushedAt };
    aws.dynamo
      .on(QueryCommand, { ExpressionAttributeValues: { ':prefix': 'rollout#' } })
      .resolves({ Items: [{ pk: 'service#checkout', sk: `rollout#${dead.startedAt}#${OTHER_ROLLOUT_ID}`, ...running }] });

    const live = await invoke(rolloutInput({ service: serviceConfig({ concurrency: 'reject' }) }));

    // The recovery: the dead holder's lock moves to a new generation first, then its changes are undone.
    const recovery = recoveryId(OTHER_ROLLOUT_ID);
    const takeOver = lockUpdates().find((u) => conditionText(u) === `rolloutId = "${OTHER_ROLLOUT_ID}" AND generation = 1`);
    // The recovery names the rollout whose record it closes, and keeps its push and image for that record.
    expect(fieldsSet(takeOver!)).toMatchObject({
      rolloutId: recovery,
      role: 'recovery',
      generation: 'generation + 1',
      target: retained(),
      leaseUntil: LEASE_UNTIL,
      recovers: { rolloutId: OTHER_ROLLOUT_ID, startedAt: '2026-11-24T09:50:00.000Z' },
      push: holderPush(),
      image: OTHER_IMAGE_URI,
    });
    // Whatever else the dead holder left on the lock goes with it (its token, its abort, its slot and weights...).
    expect(fieldsRemoved(takeOver!)).toEqual(['abort', 'executionArn', 'fallback', 'idleService', 'newSlot', 'pause', 'stepIndex', 'taskToken', 'thread', 'wait', 'weights']);
    expect(slotWeights(aws.elb.commandCalls(ModifyListenerCommand)[0]!.args[0].input.DefaultActions)).toEqual({ blue: 100, green: 0 });
    expect(aws.ecs.commandCalls(UpdateServiceCommand).map((c) => c.args[0].input)).toEqual([{ cluster: 'shop', service: 'checkout-green', taskDefinition: RETAINED_TD, desiredCount: 0 }]);
    expect(historyWrites()[0]).toEqual({
      sk: `rollout#2026-11-24T09:50:00.000Z#${OTHER_ROLLOUT_ID}`,
      fields: {
        service: 'checkout',
        rolloutId: OTHER_ROLLOUT_ID,
        startedAt: '2026-11-24T09:50:00.000Z',
        endedAt: NOW,
        outcome: 'ROLLED_BACK',
        image: OTHER_IMAGE_URI,
        pushedAt: holderPush().pushedAt,
        liveSlot: 'blue',
        weights: { blue: 100, green: 0 },
        reason: `rollout ${OTHER_ROLLOUT_ID} ended while it owned the service; Cutover recovered the service: blue 100% on checkout:7; green back on checkout:7 at 0 tasks`,
      },
    });
    expect(serviceStateWrites()).toEqual([
      { service: 'checkout', liveSlot: 'blue', liveTaskDefinitionArn: RETAINED_TD, desiredCount: 3, rolloutId: OTHER_ROLLOUT_ID, at: NOW, push: holderPush(), written: { generation: 2, stage: 2 } },
    ]);
    expect(lockReleases()).toEqual([releaseOf(recovery)]);
    // Then this push: the lock at generation 3 (1 the dead holder, 2 the recovery), and the rollout prepared.
    expect(lockFences()).toEqual([fenceOf(recovery, 2, { role: 'recovery' }), fenceOf(ROLLOUT_ID, 3, prepared())]);
    expect(writes()).toEqual([
      'acquire',
      'take over',
      'fence',
      'weights',
      'UpdateService checkout-green',
      'history',
      'service state',
      'release',
      'acquire',
      'dequeue',
      'fence',
      'history',
      'lock update',
      'close lease',
    ]);
    expect(live).toMatchObject({ liveSlot: 'blue', generation: 3, weights: { blue: 100, green: 0 } });
    expect(lock.item).toMatchObject({ rolloutId: ROLLOUT_ID, generation: 3, target: retained() });
  });

  it('takes nothing over while the last write of a dead holder may still land for longer than it may wait, and asks to be retried', async () => {
    busy(holder({ leaseUntil: '2026-11-24T10:20:20.000Z', target: retained() }));
    aws.sfn.on(DescribeExecutionCommand).resolves({ status: 'TIMED_OUT' } as never);

    // Queued behind a dead owner, nobody would wake it: Step Functions retries Prepare (RecoveryPending) instead.
    await expect(invoke(rolloutInput({ service: serviceConfig({ concurrency: 'queue' }) }))).rejects.toMatchObject({ name: ErrorName.RecoveryPending });

    expect(lock.item).toEqual(holder({ leaseUntil: '2026-11-24T10:20:20.000Z', target: retained() }));
    expect(writes()).toEqual(['acquire']);
  });
});

describe('the image-scan gate', () => {
  it.each([
    ['refuses a HIGH finding when failOn is HIGH', 'HIGH', [{ name: 'CVE-9999-9999', severity: 'HIGH' }], 'COMPLETE', ['image scan: 1 finding(s) at or above HIGH: CVE-9999-9999 (HIGH)']],
    ['passes a HIGH finding when failOn is CRITICAL', 'CRITICAL', [{ name: 'CVE-9999-9999', severity: 'HIGH' }], 'COMPLETE', []],
    ['refuses a scan that failed', 'CRITICAL', [], 'FAILED', ['the image scan is FAILED, not COMPLETE: the scan gate cannot pass it']],
    ['refuses an image ECR cannot scan', 'CRITICAL', [], 'UNSUPPORTED_IMAGE', ['the image scan is UNSUPPORTED_IMAGE, not COMPLETE: the scan gate cannot pass it']],
  ] as const)('%s', async (_name, failOn, findings, status, problems) => {
    givenFreeLock();
    givenHealthyEnvironment();
    aws.ecr.on(DescribeImageScanFindingsCommand).resolves({ imageScanStatus: { status }, imageScanFindings: { findings: [...findings] } });

    const attempt = invoke(rolloutInput({ service: serviceConfig({ imageScan: { failOn } }) }));

    if (problems.length) await expect(attempt).rejects.toMatchObject({ name: ErrorName.PreflightFailed, problems });
    else await expect(attempt).resolves.toMatchObject({ liveSlot: 'blue' });
    // The gate judges the push before it may disturb anyone: a refused image takes no lock.
    expect(lockAcquires()).toHaveLength(problems.length ? 0 : 1);
  });

  it.each(['IN_PROGRESS', 'PENDING'] as const)('never refuses a scan in progress (%s): the push waits for it, taking no lock and writing nothing (ScanPending)', async (status) => {
    givenFreeLock();
    givenHealthyEnvironment();
    aws.ecr.on(DescribeImageScanFindingsCommand).resolves({ imageScanStatus: { status } });

    await expect(invoke(rolloutInput({ service: serviceConfig({ imageScan: { failOn: 'HIGH' } }) }))).rejects.toMatchObject({ name: ErrorName.ScanPending });

    expect(writes()).toEqual([]);
  });

  it('waits for a scan not begun yet right after the push (ScanNotFound)', async () => {
    givenFreeLock();
    givenHealthyEnvironment();
    aws.ecr.on(DescribeImageScanFindingsCommand).rejects(Object.assign(new Error('scan not found'), { name: 'ScanNotFoundException' }));

    await expect(invoke(rolloutInput({ service: serviceConfig({ imageScan: { failOn: 'HIGH' } }) }))).rejects.toMatchObject({ name: ErrorName.ScanPending });
    expect(writes()).toEqual([]);
  });

  it('refuses the push with a record once the wait timed out, by default', async () => {
    givenFreeLock();
    givenHealthyEnvironment();
    aws.ecr.on(DescribeImageScanFindingsCommand).resolves({ imageScanStatus: { status: 'IN_PROGRESS' } });

    const attempt = invoke({ ...rolloutInput({ service: serviceConfig({ imageScan: { failOn: 'HIGH', timeoutSeconds: 600 } }) }), scanWait: { timedOut: true } });

    await expect(attempt).rejects.toMatchObject({
      name: ErrorName.PreflightFailed,
      problems: ['no scan of the image completed within 600 s (it is IN_PROGRESS; does the repository scan on push?); imageScan.onTimeout is refuse'],
    });
    expect(historyWrites().map((h) => h.fields.outcome)).toEqual(['REFUSED']);
    expect(lockAcquires()).toHaveLength(0);
  });

  it('rolls out without the verdict once the wait timed out, when onTimeout is rollout', async () => {
    givenFreeLock();
    givenHealthyEnvironment();
    aws.ecr.on(DescribeImageScanFindingsCommand).resolves({ imageScanStatus: { status: 'IN_PROGRESS' } });

    const live = await invoke({ ...rolloutInput({ service: serviceConfig({ imageScan: { failOn: 'HIGH', onTimeout: 'rollout' } }) }), scanWait: { timedOut: true } });

    expect(live).toMatchObject({ liveSlot: 'blue' });
    expect(deps.log.lines.some((l) => String(l.fields?.decision ?? '').includes("rolled out without the scan's verdict"))).toBe(true);
  });
});
