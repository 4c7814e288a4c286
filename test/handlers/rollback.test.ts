import { ServerException, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { DescribeRulesCommand, ModifyListenerCommand, ModifyRuleCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { ErrorName } from '../../functions/core/errors';
import { recoveryId } from '../../functions/core/ownership';
import type { RolloutState, StateError } from '../../functions/core/rollout';
import { createHandler } from '../../functions/rollback/handler';
import {
  CLUSTER,
  DIGEST,
  IMAGE_URI,
  LISTENER_ARN,
  LISTENER_RULE_ARN,
  NEW_TD,
  OTHER_ROLLOUT_ID,
  PUSHED_AT,
  RETAINED_TD,
  ROLLOUT_ID,
  liveState,
  rolloutInput,
  serviceConfig,
  stepState,
} from '../fixtures/state';
import {
  LAMBDA_CONTEXT,
  LEASE_UNTIL,
  NOW,
  aws,
  TABLE,
  fenceOf,
  givenListener,
  givenLockTable,
  historyWrites,
  lockFences,
  lockItem,
  lockReleases,
  namedError,
  realDeps,
  releaseOf,
  released,
  resetAws,
  sdkError,
  serviceStateWrites,
  slotWeights,
  weightedForward,
  writes,
  type Deps,
  type LockTable,
  conditionFailed,
  givenRevisions,
} from './harness';

const ALARM_ERROR: StateError = { Error: 'AlarmFired', Cause: 'alarm checkout-5xx in ALARM: Threshold Crossed: 1 out of the last 1 datapoints [42.0] was greater than the threshold (5.0)' };

/** The push the rollout rolls out, as prepare put it on the lock. */
const PUSH = { pushedAt: '2026-11-24T10:15:00.000Z', digest: DIGEST };
/** What recovery restores if the rollback dies half-way: the retained revision on the live slot. */
const RETAINED = { slot: 'blue', taskDefinitionArn: RETAINED_TD, desiredCount: 3, phase: 'retained' } as const;
/** Checkout's lock as the canary at 25% left it: held by the rollout at generation 1. */
const holding = (overrides: Parameters<typeof lockItem>[0] = {}) => lockItem({ push: PUSH, stepIndex: 2, weights: { blue: 75, green: 25 }, ...overrides });

let deps: Deps;
let lock: LockTable;
const invoke = (state: RolloutState) => createHandler(() => deps)(state, LAMBDA_CONTEXT);

/** Mid-canary at 25% on green, failed by an alarm. */
const failedAt25 = (overrides: Partial<RolloutState> = {}) => stepState(2, { error: ALARM_ERROR, ...overrides });

const sent = () => ({
  listener: aws.elb.commandCalls(ModifyListenerCommand).map((c) => c.args[0].input),
  services: aws.ecs.commandCalls(UpdateServiceCommand).map((c) => c.args[0].input),
  history: historyWrites(),
  releases: lockReleases(),
});

beforeEach(() => {
  resetAws();
  deps = realDeps();
  givenListener([weightedForward(75, 25)]);
  aws.elb.on(ModifyListenerCommand).resolves({});
  aws.elb.on(ModifyRuleCommand).resolves({});
  aws.ecs.on(UpdateServiceCommand).resolves({});
  aws.dynamo.on(UpdateCommand).resolves({});
  lock = givenLockTable(holding());
});

describe('rollback handler', () => {
  it('puts 100% back on the live slot, the idle slot back on the retained revision at 0, records why and releases the lock', async () => {
    const result = await invoke(failedAt25());

    const { listener, services, history, releases } = sent();
    expect(listener).toHaveLength(1);
    expect(listener[0]!.ListenerArn).toBe(LISTENER_ARN);
    expect(slotWeights(listener[0]!.DefaultActions)).toEqual({ blue: 100, green: 0 });
    expect(services).toEqual([{ cluster: CLUSTER, service: 'checkout-green', taskDefinition: RETAINED_TD, desiredCount: 0 }]);
    expect(history).toEqual([
      {
        sk: `rollout#${liveState().startedAt}#${ROLLOUT_ID}`,
        fields: {
          service: 'checkout',
          rolloutId: ROLLOUT_ID,
          startedAt: liveState().startedAt,
          endedAt: NOW,
          outcome: 'ROLLED_BACK',
          image: IMAGE_URI,
          liveSlot: 'blue',
          retainedTaskDefinitionArn: RETAINED_TD,
          newTaskDefinitionArn: NEW_TD,
          weights: { blue: 100, green: 0 },
          reason: `AlarmFired: ${ALARM_ERROR.Cause}`,
        },
      },
    ]);
    expect(releases).toEqual([releaseOf(ROLLOUT_ID)]);
    expect(serviceStateWrites()).toEqual([
      { service: 'checkout', liveSlot: 'blue', liveTaskDefinitionArn: RETAINED_TD, desiredCount: 3, rolloutId: ROLLOUT_ID, at: NOW, push: PUSH, written: { generation: 1, stage: 2 } },
    ]);
    expect(lock.item).toEqual(released({ ...holding(), leaseUntil: LEASE_UNTIL }));
    expect(result).toEqual({
      outcome: 'ROLLED_BACK',
      weights: { blue: 100, green: 0 },
      reason: `AlarmFired: ${ALARM_ERROR.Cause}`,
      restoredAt: NOW,
      decision: `rolled back: blue 100% on checkout:7; green back on checkout:7 at 0 tasks. Reason: AlarmFired: ${ALARM_ERROR.Cause}`,
    });
  });

  it('proves it owns the service and sets the retained revision as what recovery restores, before it changes anything', async () => {
    await invoke(failedAt25());

    expect(lockFences()).toEqual([fenceOf(ROLLOUT_ID, 1, { target: RETAINED })]);
    expect(writes()).toEqual(['fence', 'weights', 'UpdateService checkout-green', 'history', 'service state', 'release', 'close lease']);
  });

  it('rolls back a rollout that was aborted: the abort does not stop the fence of the rollback, and the release clears it', async () => {
    lock.item = holding({ abort: { error: 'AlarmFired', reason: 'alarm checkout-5xx in ALARM', at: '2026-11-24T10:19:58.000Z' }, taskToken: 'spent-token' });

    const result = await invoke(failedAt25());

    expect(result.outcome).toBe('ROLLED_BACK');
    expect(slotWeights(sent().listener[0]!.DefaultActions)).toEqual({ blue: 100, green: 0 });
    expect(lock.item).not.toHaveProperty('abort');
    expect(lock.item).not.toHaveProperty('rolloutId');
  });

  it('rolls back a rollout whose Finalize had committed the new revision, putting the retained one back as the target', async () => {
    lock.item = holding({ target: { slot: 'green', taskDefinitionArn: NEW_TD, desiredCount: 3, phase: 'committed' } });

    await invoke(failedAt25());

    expect(lockFences()).toEqual([fenceOf(ROLLOUT_ID, 1, { target: RETAINED })]);
    expect(slotWeights(sent().listener[0]!.DefaultActions)).toEqual({ blue: 100, green: 0 });
  });

  it.each([
    ['another rollout holds the lock', () => holding({ rolloutId: OTHER_ROLLOUT_ID, generation: 2 })],
    ['a recovery took the lock over', () => holding({ rolloutId: recoveryId(ROLLOUT_ID), generation: 2 })],
    ['the lock is free', () => released(holding({ generation: 2 }))],
  ])("changes nothing and records nothing when %s: the service is the next owner's (LockLost)", async (_case, holder) => {
    lock.item = holder();
    const before = structuredClone(lock.item);

    await expect(invoke(failedAt25())).rejects.toMatchObject({ name: ErrorName.LockLost });

    expect(sent()).toEqual({ listener: [], services: [], history: [], releases: [] });
    expect(writes()).toEqual(['fence']);
    expect(lock.item).toEqual(before);
  });

  it('records the message of a failed Lambda task, not its JSON and stack', async () => {
    const cause = JSON.stringify({
      errorType: 'DeploymentFailed',
      errorMessage: 'checkout-green: deployment failed: ECS deployment circuit breaker: tasks failed to start.',
      trace: ['DeploymentFailed: checkout-green: deployment failed', '    at checkSteady (/var/task/index.mjs:1:1)'],
    });

    const result = await invoke(failedAt25({ error: { Error: 'DeploymentFailed', Cause: cause } }));

    expect(result.reason).toBe('DeploymentFailed: checkout-green: deployment failed: ECS deployment circuit breaker: tasks failed to start.');
    expect(historyWrites()[0]?.fields.reason).toBe(result.reason);
  });

  it('only scales the idle slot to 0 when the retained revision was deregistered by hand (ECS refuses to point a service at it)', async () => {
    givenRevisions([RETAINED_TD]);

    const result = await invoke(failedAt25());

    expect(result).toMatchObject({ outcome: 'ROLLED_BACK', weights: { blue: 100, green: 0 } });
    expect(sent().services).toEqual([{ cluster: CLUSTER, service: 'checkout-green', desiredCount: 0 }]);
    expect(result.decision).toContain('green scaled to 0 tasks (checkout:7 is no longer registered, so it keeps its revision)');
  });

  it('gives the same writes and end state when retried after a failure part-way', async () => {
    const clean = await invoke(failedAt25());
    const once = { writes: writes(), history: historyWrites(), services: sent().services, lock: lock.item };
    resetAws();
    givenListener([weightedForward(75, 25)]);
    aws.elb.on(ModifyListenerCommand).resolves({});
    aws.ecs
      .on(UpdateServiceCommand)
      .rejectsOnce(sdkError(ServerException, 'Service Unavailable', 503))
      .resolves({});
    aws.dynamo.on(UpdateCommand).resolves({});
    lock = givenLockTable(holding());

    await expect(invoke(failedAt25())).rejects.toMatchObject({ name: ErrorName.AwsTransient });
    const failed = { writes: writes().length, history: historyWrites().length };
    const retried = await invoke(failedAt25());

    expect(retried).toEqual(clean);
    expect(writes().slice(failed.writes)).toEqual(once.writes);
    expect(historyWrites().slice(failed.history)).toEqual(once.history);
    expect(sent().services.at(-1)).toEqual(once.services[0]);
    expect(lock.item).toEqual(once.lock);
  });

  it('changes nothing when retried after it completed (its answer lost): the fence fails, the service state says it is done', async () => {
    aws.dynamo.on(GetCommand, { TableName: TABLE, Key: { pk: 'service#checkout', sk: 'state' } }).callsFake(() => ({ Item: serviceStateWrites().at(-1) }));
    await invoke(failedAt25());
    const after = { sent: sent(), lock: structuredClone(lock.item) };

    const retried = (await invoke(failedAt25())) as { outcome: string; decision: string };

    expect(retried.outcome).toBe('ROLLED_BACK');
    expect(retried.decision).toContain('rolled back already');
    expect(sent()).toEqual(after.sent);
    expect(lock.item).toEqual(after.lock);
  });

  it('fails with LockLost when retried after it completed and a later owner changed the service since', async () => {
    await invoke(failedAt25());
    const after = { sent: sent(), lock: structuredClone(lock.item) };

    await expect(invoke(failedAt25())).rejects.toMatchObject({ name: ErrorName.LockLost });

    expect(sent()).toEqual(after.sent);
    expect(lock.item).toEqual(after.lock);
  });

  it('rolls back to green when green was live', async () => {
    givenListener([weightedForward(40, 60)]);
    const state = failedAt25({ live: liveState({ liveSlot: 'green', idleSlot: 'blue', weights: { blue: 0, green: 100 } }) });

    const result = await invoke(state);

    expect(slotWeights(sent().listener[0]!.DefaultActions)).toEqual({ blue: 0, green: 100 });
    expect(sent().services).toEqual([{ cluster: CLUSTER, service: 'checkout-blue', taskDefinition: RETAINED_TD, desiredCount: 0 }]);
    expect(result.weights).toEqual({ blue: 0, green: 100 });
  });

  it('rolls a listener rule back with ModifyRule', async () => {
    aws.elb.on(DescribeRulesCommand).resolves({ Rules: [{ RuleArn: LISTENER_RULE_ARN, Actions: [weightedForward(75, 25)] }] });

    await invoke(failedAt25({ service: serviceConfig({ listenerArn: LISTENER_RULE_ARN }) }));

    const rule = aws.elb.commandCalls(ModifyRuleCommand).map((c) => c.args[0].input);
    expect(rule).toHaveLength(1);
    expect(rule[0]!.RuleArn).toBe(LISTENER_RULE_ARN);
    expect(slotWeights(rule[0]!.Actions)).toEqual({ blue: 100, green: 0 });
    expect(aws.elb).toHaveReceivedCommandTimes(ModifyListenerCommand, 0);
  });

  it('rolls back before register too, leaving newTaskDefinitionArn out', async () => {
    await invoke(stepState(0, { revision: undefined, error: { Error: 'ResourceNotFound', Cause: 'gone' } }));

    expect(sent().services).toEqual([{ cluster: CLUSTER, service: 'checkout-green', taskDefinition: RETAINED_TD, desiredCount: 0 }]);
    expect(historyWrites()[0]?.fields).not.toHaveProperty('newTaskDefinitionArn');
  });

  it('writes the service state only unless a later owner, or a later stage, wrote it already', async () => {
    await invoke(failedAt25());

    const puts = aws.dynamo
      .commandCalls(PutCommand)
      .map((c) => c.args[0].input)
      .filter((i) => i.Item?.sk === 'state');
    expect(puts).toHaveLength(1);
    expect(puts[0]).toMatchObject({
      Item: { pk: 'service#checkout', sk: 'state', written: { generation: 1, stage: 2 } },
      ConditionExpression: 'attribute_not_exists(#w) OR #w.#g < :g OR (#w.#g = :g AND #w.#s <= :s)',
      ExpressionAttributeNames: { '#w': 'written', '#g': 'generation', '#s': 'stage' },
      ExpressionAttributeValues: { ':g': 1, ':s': 2 },
    });
  });

  it('completes, releasing the lock, when a later writer already wrote the service state (the refused write is dropped)', async () => {
    aws.dynamo.on(PutCommand, { Item: { sk: 'state' } }).rejects(conditionFailed());

    const result = await invoke(failedAt25());

    expect(result).toMatchObject({ outcome: 'ROLLED_BACK' });
    expect(lockReleases()).toEqual([releaseOf(ROLLOUT_ID)]);
  });

  it('only releases the lock and records the failure when prepare never finished', async () => {
    const result = await invoke({ ...rolloutInput(), error: { Error: 'AwsTransient', Cause: 'ecs:DescribeServices failed transiently' } });

    expect(result).toEqual({
      outcome: 'FAILED',
      reason: 'AwsTransient: ecs:DescribeServices failed transiently',
      decision: 'failed before any change: AwsTransient: ecs:DescribeServices failed transiently',
    });
    expect(lockReleases()).toEqual([releaseOf(ROLLOUT_ID)]);
    expect(lock.item).toEqual(released(holding()));
    expect(historyWrites()).toEqual([
      {
        sk: `rollout#${PUSHED_AT}#${ROLLOUT_ID}`,
        fields: {
          service: 'checkout',
          rolloutId: ROLLOUT_ID,
          startedAt: PUSHED_AT,
          endedAt: NOW,
          outcome: 'FAILED',
          image: IMAGE_URI,
          reason: 'AwsTransient: ecs:DescribeServices failed transiently',
        },
      },
    ]);
    expect(aws.elb.calls()).toHaveLength(0);
    expect(aws.ecs.calls()).toHaveLength(0);
  });

  it.each<[string, string, () => void]>([
    ['a throttled ModifyListener', 'elasticloadbalancing:ModifyListener', () => aws.elb.on(ModifyListenerCommand).rejects(namedError('Throttling', 400, 'Rate exceeded'))],
    ['a 503 from UpdateService', 'ecs:UpdateService', () => aws.ecs.on(UpdateServiceCommand).rejects(sdkError(ServerException, 'Service Unavailable', 503))],
  ])('surfaces %s as AwsTransient, keeps the lock for the retry and records the rollback as not complete', async (_name, operation, arrange) => {
    arrange();

    await expect(invoke(failedAt25())).rejects.toMatchObject({ name: ErrorName.AwsTransient });
    expect(lockReleases()).toEqual([]);
    expect(lock.item).toMatchObject({ rolloutId: ROLLOUT_ID, generation: 1, target: RETAINED });
    // If every retry fails too, the execution ends in Rollback failed and this record is what says so.
    const [record, ...others] = historyWrites();
    expect(others).toEqual([]);
    expect(record!.fields).toMatchObject({ outcome: 'FAILED', endedAt: NOW, retainedTaskDefinitionArn: RETAINED_TD, newTaskDefinitionArn: NEW_TD });
    expect(record!.fields.reason).toMatch(new RegExp(`^rollback did not complete: AwsTransient: ${operation} failed transiently .*\\(rolling back because AlarmFired: alarm checkout-5xx in ALARM`));
  });

  it('completes when waking the next waiting rollout fails after the lock is released', async () => {
    aws.dynamo.on(QueryCommand).rejects(namedError('ThrottlingException', 400, 'Rate exceeded'));

    const result = await invoke(failedAt25());

    expect(result).toMatchObject({ outcome: 'ROLLED_BACK' });
    expect(historyWrites().map((h) => h.fields.outcome)).toEqual(['ROLLED_BACK']);
    expect(lockReleases()).toEqual([releaseOf(ROLLOUT_ID)]);
  });

  it('keeps the original error when the failure cannot be recorded either', async () => {
    aws.elb.on(ModifyListenerCommand).rejects(namedError('Throttling', 400, 'Rate exceeded'));
    aws.dynamo.on(UpdateCommand, { Key: { pk: 'service#checkout', sk: `rollout#${liveState().startedAt}#${ROLLOUT_ID}` } }).rejects(namedError('ThrottlingException', 400, 'Rate exceeded'));

    await expect(invoke(failedAt25())).rejects.toMatchObject({ name: ErrorName.AwsTransient, message: expect.stringContaining('elasticloadbalancing:ModifyListener') });
    expect(lockReleases()).toEqual([]);
    expect(historyWrites()).toHaveLength(1); // attempted, and refused by DynamoDB
    // Both said in the log (then the adapter logs the error it returns to the state machine).
    expect(
      deps.log.lines
        .filter((l) => l.level === 'error')
        .map((l) => l.message)
        .slice(0, 2),
    ).toEqual(['rollback failure not recorded', 'rollback did not complete']);
  });
});
