import { DescribeListenersCommand, ModifyListenerCommand, type Action } from '@aws-sdk/client-elastic-load-balancing-v2';
import { SendTaskFailureCommand, TaskTimedOut } from '@aws-sdk/client-sfn';
import { QueryCommand, UpdateCommand, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { watchersFromEnv } from '../../functions/core/watchers';
import { createHandler } from '../../functions/alarm/handler';
import { ErrorName } from '../../functions/core/errors';
import { loadEvent } from '../fixtures/aws-events';
import { BLUE_TG, GREEN_TG, LISTENER_ARN, RETAINED_TD, ROLLOUT_ID } from '../fixtures/state';
import {
  LAMBDA_CONTEXT,
  NOW,
  TABLE,
  aws,
  conditionFailed,
  givenListener,
  lockItem,
  lockUpdates,
  namedError,
  realDeps,
  resetAws,
  sdkError,
  slotWeights,
  totalAwsCalls,
  weightedForward,
  type Deps,
} from './harness';

const TOKEN = 'AQCEAAAAKgAAAAMAAAAAAAAAAd2Wl7YvM0Y3bake-token';
const PAYMENTS_ID = 'payments-df0042b9a5d5-20261124T101200Z';
const event = loadEvent('alarm-alarm');
const STATE_REASON = (event.detail.state as { reason: string }).reason;
const REASON = `alarm checkout-5xx in ALARM: ${STATE_REASON}`;

let deps: Deps;
const invoke = (e: unknown) => createHandler(() => deps)(e, LAMBDA_CONTEXT);

const paymentsLock = (overrides: Record<string, unknown> = {}) => ({
  ...lockItem({ service: 'payments', rolloutId: PAYMENTS_ID, alarms: ['payments-5xx'] }),
  pk: 'service#payments',
  ...overrides,
});

/** The active-locks index holds these items; markAborted answers the lock as it is after the update. */
function givenActiveLocks(items: Array<Record<string, unknown>>): void {
  aws.dynamo.on(QueryCommand).resolves({ Items: items });
  aws.dynamo.on(UpdateCommand).callsFake((input: UpdateCommandInput) => {
    const item = items.find((i) => i.pk === input.Key?.pk) ?? {};
    return { Attributes: { ...item, abort: input.ExpressionAttributeValues?.[':abort'] } };
  });
}

beforeEach(() => {
  resetAws();
  deps = realDeps();
  aws.sfn.on(SendTaskFailureCommand).resolves({});
});

describe('alarm handler', () => {
  it('marks the rollout watching the alarm aborted and fails its bake token with AlarmFired', async () => {
    givenActiveLocks([lockItem({ taskToken: TOKEN }), paymentsLock()]);

    const result = await invoke(event);

    expect(result).toEqual({ aborted: [{ service: 'checkout', rolloutId: ROLLOUT_ID, resumedBake: true, restored: false }] });
    expect(lockUpdates()).toEqual([
      {
        TableName: TABLE,
        Key: { pk: 'service#checkout', sk: 'lock' },
        UpdateExpression: 'SET #abort = if_not_exists(#abort, :abort)',
        ConditionExpression: '#rid = :id',
        ExpressionAttributeNames: { '#abort': 'abort', '#rid': 'rolloutId' },
        ExpressionAttributeValues: { ':abort': { error: ErrorName.AlarmFired, reason: REASON, at: NOW }, ':id': ROLLOUT_ID },
        ReturnValues: 'ALL_NEW',
      },
    ]);
    expect(aws.sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskFailureCommand, { taskToken: TOKEN, error: 'AlarmFired', cause: REASON });
  });

  it('looks the rollouts up on the active index', async () => {
    givenActiveLocks([]);

    await invoke(event);

    expect(aws.dynamo).toHaveReceivedCommandExactlyOnceWith(QueryCommand, {
      TableName: TABLE,
      IndexName: 'active',
      KeyConditionExpression: 'activeKey = :a',
      ExpressionAttributeValues: { ':a': 'active' },
    });
  });

  it('aborts a rollout between two states without a token, for its next state to see', async () => {
    givenActiveLocks([lockItem()]);

    const result = await invoke(event);

    expect(result).toEqual({ aborted: [{ service: 'checkout', rolloutId: ROLLOUT_ID, resumedBake: false, restored: false }] });
    expect(lockUpdates()).toHaveLength(1);
    expect(aws.sfn.calls()).toHaveLength(0);
  });

  it('aborts every rollout that watches the alarm', async () => {
    givenActiveLocks([lockItem({ taskToken: TOKEN }), paymentsLock({ alarms: ['checkout-5xx'], taskToken: `${TOKEN}-payments` })]);

    const result = await invoke(event);

    expect(result.aborted.map((a) => a.service)).toEqual(['checkout', 'payments']);
    expect(aws.sfn.commandCalls(SendTaskFailureCommand).map((c) => c.args[0].input.taskToken)).toEqual([TOKEN, `${TOKEN}-payments`]);
  });

  it('reads every page of the active index', async () => {
    aws.dynamo
      .on(QueryCommand)
      .resolvesOnce({ Items: [paymentsLock()], LastEvaluatedKey: { pk: 'service#payments', sk: 'lock', activeKey: 'active' } })
      .resolves({ Items: [lockItem({ taskToken: TOKEN })] });
    aws.dynamo.on(UpdateCommand).resolves({ Attributes: lockItem({ taskToken: TOKEN }) });

    const result = await invoke(event);

    expect(aws.dynamo.commandCalls(QueryCommand)[1]!.args[0].input.ExclusiveStartKey).toEqual({ pk: 'service#payments', sk: 'lock', activeKey: 'active' });
    expect(result.aborted).toEqual([{ service: 'checkout', rolloutId: ROLLOUT_ID, resumedBake: true, restored: false }]);
  });

  it('tolerates a bake token that already timed out', async () => {
    givenActiveLocks([lockItem({ taskToken: TOKEN })]);
    aws.sfn.on(SendTaskFailureCommand).rejects(sdkError(TaskTimedOut, 'Task Timed Out'));

    const result = await invoke(event);

    expect(result).toEqual({ aborted: [{ service: 'checkout', rolloutId: ROLLOUT_ID, resumedBake: false, restored: false }] });
    expect(lockUpdates()).toHaveLength(1);
  });

  it('skips a rollout that finished between the lookup and the abort', async () => {
    aws.dynamo.on(QueryCommand).resolves({ Items: [lockItem({ taskToken: TOKEN })] });
    aws.dynamo.on(UpdateCommand).rejects(conditionFailed());

    const result = await invoke(event);

    expect(result).toEqual({ aborted: [] });
    expect(aws.sfn.calls()).toHaveLength(0);
  });

  it('ignores an alarm going back to OK without touching anything', async () => {
    givenActiveLocks([lockItem({ taskToken: TOKEN })]);

    const result = await invoke(loadEvent('alarm-ok'));

    expect(result).toEqual({ aborted: [], ignored: 'alarm checkout-5xx went to OK, not ALARM' });
    expect(totalAwsCalls()).toBe(0);
  });

  it('ignores an alarm no rollout in flight watches', async () => {
    givenActiveLocks([paymentsLock({ taskToken: TOKEN })]);

    const result = await invoke(event);

    expect(result).toEqual({ aborted: [], ignored: 'no rollout in flight watches alarm checkout-5xx' });
    expect(lockUpdates()).toEqual([]);
    expect(aws.sfn.calls()).toHaveLength(0);
  });

  it('ignores an event that is not an alarm state change', async () => {
    const result = await invoke(loadEvent('ecr-push'));

    expect(result.ignored).toMatch(/not an CloudWatch Alarm State Change event/);
    expect(totalAwsCalls()).toBe(0);
  });

  it('refuses a malformed alarm event with InvalidInput before any AWS call', async () => {
    const malformed = loadEvent('alarm-alarm');
    delete malformed.detail.alarmName;

    await expect(invoke(malformed)).rejects.toMatchObject({ name: ErrorName.InvalidInput });
    expect(totalAwsCalls()).toBe(0);
  });

  it('surfaces throttling of SendTaskFailure as AwsTransient after the abort is recorded', async () => {
    givenActiveLocks([lockItem({ taskToken: TOKEN })]);
    aws.sfn.on(SendTaskFailureCommand).rejects(namedError('ThrottlingException', 400, 'Rate exceeded'));

    await expect(invoke(event)).rejects.toMatchObject({ name: ErrorName.AwsTransient });
    expect(lockUpdates()).toHaveLength(1);
  });
});

describe('alarm handler: one hop (the abort puts the traffic back itself)', () => {
  const RETAINED = { slot: 'blue', taskDefinitionArn: RETAINED_TD, desiredCount: 3, phase: 'retained' } as const;
  const FALLBACK = {
    listenerArn: LISTENER_ARN,
    weights: [
      { targetGroupArn: BLUE_TG, weight: 100 },
      { targetGroupArn: GREEN_TG, weight: 0 },
    ],
    target: RETAINED,
  };
  const OIDC: Action = {
    Type: 'authenticate-oidc',
    Order: 1,
    AuthenticateOidcConfig: {
      Issuer: 'https://idp.example.com',
      AuthorizationEndpoint: 'https://idp.example.com/auth',
      TokenEndpoint: 'https://idp.example.com/token',
      UserInfoEndpoint: 'https://idp.example.com/me',
      ClientId: 'cutover',
    },
  };
  const inBake = (overrides: Record<string, unknown> = {}) => lockItem({ taskToken: TOKEN, generation: 4, weights: { blue: 75, green: 25 }, fallback: FALLBACK, ...overrides });

  beforeEach(() => {
    givenListener([OIDC, { ...weightedForward(75, 25), Order: 2 }]);
    aws.elb.on(ModifyListenerCommand).resolves({});
  });

  /** Every AWS call of the invocation, in the order it was sent (sinon numbers every call of every spy). */
  const callOrder = () =>
    [aws.dynamo, aws.elb, aws.sfn]
      .flatMap((mock) => mock.calls().map((c) => ({ at: (c as unknown as { callId: number }).callId, name: (c.args[0] as { constructor: { name: string } }).constructor.name })))
      .sort((a, b) => a.at - b.at)
      .map((c) => c.name);

  it('sets all traffic back on the retained slot, keeping the listener actions, after one write that aborts and fences', async () => {
    givenActiveLocks([inBake()]);

    const result = await invoke(event);

    expect(result).toEqual({ aborted: [{ service: 'checkout', rolloutId: ROLLOUT_ID, resumedBake: true, restored: true }] });
    const abort = lockUpdates()[0]!;
    expect(abort.ConditionExpression).toBe('#rid = :id AND #gen = :gen');
    expect(abort.ExpressionAttributeValues).toMatchObject({ ':gen': 4, ':target': RETAINED, ':abort': { error: ErrorName.AlarmFired, reason: REASON, at: NOW } });
    const writerAttribute = abort.ExpressionAttributeNames!['#writer']!;
    expect(writerAttribute).toBe(`lease#${LAMBDA_CONTEXT.awsRequestId}`);
    const sent = aws.elb.commandCalls(ModifyListenerCommand);
    expect(sent).toHaveLength(1);
    const actions = sent[0]!.args[0].input.DefaultActions!;
    expect(slotWeights(actions)).toEqual({ blue: 100, green: 0 });
    expect(actions[0]).toEqual({ ...OIDC, AuthenticateOidcConfig: { ...OIDC.AuthenticateOidcConfig, UseExistingClientSecret: true } });
    expect(aws.sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskFailureCommand, { taskToken: TOKEN, error: 'AlarmFired', cause: REASON });
    // The invocation ended cleanly: its lease is closed.
    expect(lockUpdates().at(-1)!.UpdateExpression).toContain('REMOVE');
    expect(Object.values(lockUpdates().at(-1)!.ExpressionAttributeNames ?? {})).toContain(writerAttribute);
  });

  it('makes three AWS calls before the listener write: the lookup, the abort, and the listener read beside it', async () => {
    givenActiveLocks([inBake()]);

    await invoke(event);

    const order = callOrder();
    const write = order.indexOf('ModifyListenerCommand');
    expect(order.slice(0, write).sort()).toEqual(['DescribeListenersCommand', 'QueryCommand', 'UpdateCommand']);
    expect(aws.elb).toHaveReceivedCommandTimes(DescribeListenersCommand, 1);
  });

  it('writes nothing to the listener when the rollout lost the lock between the lookup and the abort', async () => {
    aws.dynamo.on(QueryCommand).resolves({ Items: [inBake()] });
    aws.dynamo.on(UpdateCommand).rejects(conditionFailed());

    const result = await invoke(event);

    expect(result).toEqual({ aborted: [] });
    expect(aws.elb.commandCalls(ModifyListenerCommand)).toHaveLength(0);
    expect(aws.sfn.calls()).toHaveLength(0);
  });

  it('still fails the task when the listener write fails, and leaves its lease to run out (the write may yet land)', async () => {
    givenActiveLocks([inBake()]);
    aws.elb.on(ModifyListenerCommand).rejects(namedError('ThrottlingException', 400, 'Rate exceeded'));

    const result = await invoke(event);

    expect(result).toEqual({ aborted: [{ service: 'checkout', rolloutId: ROLLOUT_ID, resumedBake: true, restored: false }] });
    expect(aws.sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskFailureCommand, { taskToken: TOKEN, error: 'AlarmFired', cause: REASON });
    expect(lockUpdates().filter((u) => u.UpdateExpression?.startsWith('REMOVE'))).toEqual([]);
  });

  it('leaves a lock without a fallback (Prepare not done) to the rollback, as before', async () => {
    givenActiveLocks([inBake({ fallback: undefined })]);

    const result = await invoke(event);

    expect(result.aborted).toEqual([{ service: 'checkout', rolloutId: ROLLOUT_ID, resumedBake: true, restored: false }]);
    expect(lockUpdates()[0]!.ConditionExpression).toBe('#rid = :id');
    expect(aws.elb.calls()).toHaveLength(0);
  });
});

describe('alarm handler: one hop, knowing which services watch the alarm (no read first)', () => {
  const RETAINED = { slot: 'blue', taskDefinitionArn: RETAINED_TD, desiredCount: 3, phase: 'retained' } as const;
  const FALLBACK = {
    listenerArn: LISTENER_ARN,
    weights: [
      { targetGroupArn: BLUE_TG, weight: 100 },
      { targetGroupArn: GREEN_TG, weight: 0 },
    ],
    target: RETAINED,
  };
  const SERVICES = [
    { name: 'checkout', alarms: ['checkout-5xx', 'checkout-latency'], listenerArn: LISTENER_ARN },
    { name: 'payments', alarms: ['payments-5xx'], listenerArn: `${LISTENER_ARN}-payments` },
  ];
  const inBake = (overrides: Record<string, unknown> = {}) => lockItem({ taskToken: TOKEN, generation: 4, weights: { blue: 75, green: 25 }, fallback: FALLBACK, ...overrides });
  /** The lock item as the store's conditional write sees it; the write's own effect is applied as DynamoDB would. */
  let item: Record<string, unknown> | undefined;

  beforeEach(() => {
    deps = { ...realDeps(), services: SERVICES } as Deps;
    givenListener([weightedForward(75, 25)]);
    aws.elb.on(ModifyListenerCommand).resolves({});
    aws.dynamo.on(QueryCommand).rejects(new Error('the one-hop path must not read the locks first'));
    aws.dynamo.on(UpdateCommand).callsFake((input: UpdateCommandInput) => {
      const names = input.ExpressionAttributeNames ?? {};
      const values = input.ExpressionAttributeValues ?? {};
      if (input.UpdateExpression?.startsWith('REMOVE')) return {};
      if (input.ConditionExpression?.includes('contains(#alarms, :alarm)')) {
        const matches = item?.activeKey === 'active' && (item.alarms as string[]).includes(values[':alarm'] as string) && item.fallback !== undefined && (item.role ?? 'rollout') === 'rollout';
        if (!matches) throw Object.assign(conditionFailed(), item ? { Item: marshall(item, { removeUndefinedValues: true }) } : {});
        item = {
          ...item,
          abort: item!.abort ?? values[':abort'],
          leaseUntil: values[':lease'],
          [names['#writer']!]: values[':writer'],
          [names['#writerGen']!]: item!.generation,
          target: (item!.fallback as typeof FALLBACK).target,
        };
        return { Attributes: item };
      }
      // The plain abort (by rollout id), when the one-hop write did not match.
      if (!item || item.rolloutId !== values[':id']) throw conditionFailed();
      item = { ...item, abort: item.abort ?? values[':abort'] };
      return { Attributes: item };
    });
  });

  it('aborts with one write and the listener read beside it, then puts all traffic back on the retained slot', async () => {
    item = inBake();

    const result = await invoke(event);

    expect(result).toEqual({ aborted: [{ service: 'checkout', rolloutId: ROLLOUT_ID, resumedBake: true, restored: true }] });
    const abort = lockUpdates()[0]!;
    expect(abort.Key).toEqual({ pk: 'service#checkout', sk: 'lock' });
    expect(abort.ConditionExpression).toBe('#active = :active AND contains(#alarms, :alarm) AND attribute_exists(#fallback) AND (attribute_not_exists(#role) OR #role = :rollout)');
    expect(abort.ExpressionAttributeNames).toMatchObject({ '#writer': `lease#${LAMBDA_CONTEXT.awsRequestId}`, '#writerGen': `leasegen#${LAMBDA_CONTEXT.awsRequestId}` });
    expect(abort.ExpressionAttributeValues).toMatchObject({ ':alarm': 'checkout-5xx', ':abort': { error: ErrorName.AlarmFired, reason: REASON, at: NOW } });
    expect(item).toMatchObject({ target: RETAINED, [`leasegen#${LAMBDA_CONTEXT.awsRequestId}`]: 4 });
    const sent = aws.elb.commandCalls(ModifyListenerCommand);
    expect(sent).toHaveLength(1);
    expect(slotWeights(sent[0]!.args[0].input.DefaultActions!)).toEqual({ blue: 100, green: 0 });
    expect(aws.sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskFailureCommand, { taskToken: TOKEN, error: 'AlarmFired', cause: REASON });
    // Clean end: the lease and its generation are removed together.
    const close = lockUpdates().at(-1)!;
    expect(close.UpdateExpression).toContain('REMOVE');
    expect(Object.values(close.ExpressionAttributeNames ?? {})).toEqual(expect.arrayContaining([`lease#${LAMBDA_CONTEXT.awsRequestId}`, `leasegen#${LAMBDA_CONTEXT.awsRequestId}`]));
  });

  it('makes two AWS calls before the listener write, side by side, and never queries the locks', async () => {
    item = inBake();

    await invoke(event);

    const order = [aws.dynamo, aws.elb, aws.sfn]
      .flatMap((mock) => mock.calls().map((c) => ({ at: (c as unknown as { callId: number }).callId, name: (c.args[0] as { constructor: { name: string } }).constructor.name })))
      .sort((a, b) => a.at - b.at)
      .map((c) => c.name);
    expect(order.slice(0, order.indexOf('ModifyListenerCommand')).sort()).toEqual(['DescribeListenersCommand', 'UpdateCommand']);
    expect(aws.dynamo.commandCalls(QueryCommand)).toHaveLength(0);
  });

  it('writes only the locks of the services that watch the alarm', async () => {
    item = inBake();

    await invoke(event);

    expect(
      lockUpdates()
        .filter((u) => u.ConditionExpression?.includes(':alarm'))
        .map((u) => u.Key),
    ).toEqual([{ pk: 'service#checkout', sk: 'lock' }]);
  });

  it('falls back to the plain abort (the rollback restores the traffic) when Prepare has not recorded the fallback yet', async () => {
    item = inBake({ fallback: undefined });

    const result = await invoke(event);

    expect(result.aborted).toEqual([{ service: 'checkout', rolloutId: ROLLOUT_ID, resumedBake: true, restored: false }]);
    expect(lockUpdates()[1]!.ConditionExpression).toBe('#rid = :id');
    expect(item).toMatchObject({ abort: { error: ErrorName.AlarmFired, reason: REASON } });
    expect(aws.elb.commandCalls(ModifyListenerCommand)).toHaveLength(0);
  });

  it('ignores the alarm, writing nothing, when no rollout holds the lock', async () => {
    item = undefined;

    const result = await invoke(event);

    expect(result).toEqual({ aborted: [], ignored: 'no rollout in flight watches alarm checkout-5xx' });
    expect(aws.elb.commandCalls(ModifyListenerCommand)).toHaveLength(0);
    expect(aws.sfn.calls()).toHaveLength(0);
  });

  it('ignores the alarm when the rollout in flight does not watch it (its configuration changed since it started)', async () => {
    item = inBake({ alarms: ['checkout-latency'] });

    const result = await invoke(event);

    expect(result.ignored).toBe('no rollout in flight watches alarm checkout-5xx');
    expect(item!.abort).toBeUndefined();
    expect(aws.elb.commandCalls(ModifyListenerCommand)).toHaveLength(0);
  });

  it('leaves a restore holding the lock alone: it is not a rollout an alarm aborts at once', async () => {
    item = inBake({ role: 'restore' });

    await invoke(event);

    expect(aws.elb.commandCalls(ModifyListenerCommand)).toHaveLength(0);
  });
});

describe('CUTOVER_WATCHERS', () => {
  it('parses what the construct writes', () => {
    const watchers = [{ name: 'checkout', alarms: ['checkout-5xx'], listenerArn: LISTENER_ARN }];
    expect(watchersFromEnv(JSON.stringify(watchers))).toEqual(watchers);
  });

  it('refuses anything else with InvalidConfig naming each problem', () => {
    expect(() => watchersFromEnv('{')).toThrow(/CUTOVER_WATCHERS is invalid: not valid JSON/);
    expect(() => watchersFromEnv('[{"name":"","alarms":"x","listenerArn":"listener"}]')).toThrow(
      /\[0\]\.name: must be a service name; \[0\]\.alarms: must be a list of alarm names; \[0\]\.listenerArn: must be a listener or listener rule ARN/,
    );
  });
});
