import { SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import { DeregisterTaskDefinitionCommand, DescribeTaskDefinitionCommand, ListTaskDefinitionsCommand, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ModifyListenerCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { beforeEach, describe, expect, it } from 'vitest';
import { ErrorName } from '../../functions/core/errors';
import { recoveryId } from '../../functions/core/ownership';
import type { LockRecord } from '../../functions/core/ports';
import type { RolloutState } from '../../functions/core/rollout';
import { createHandler as createFinalize } from '../../functions/finalize/handler';
import { createHandler as createRetire } from '../../functions/retire/handler';
import { describedTaskDefinition, ecsService } from '../fixtures/ecs';
import { CLUSTER, DIGEST, IMAGE_URI, NEW_TD, OTHER_ROLLOUT_ID, RETAINED_TD, ROLLOUT_ID, liveState, registeredState, rolloutInput, serviceConfig, taskDefinitionArn } from '../fixtures/state';
import {
  LAMBDA_CONTEXT,
  LEASE_UNTIL,
  LOCK_KEY,
  NOW,
  TABLE,
  aws,
  fenceOf,
  fieldsSet,
  givenEcsService,
  givenListener,
  givenLockTable,
  historyWrites,
  lockAcquires,
  lockFences,
  lockItem,
  lockReleases,
  realDeps,
  releaseOf,
  released,
  resetAws,
  serviceStateWrites,
  slotWeights,
  totalAwsCalls,
  weightedForward,
  writes,
  type Deps,
  type LockTable,
} from './harness';

let deps: Deps;
let lock: LockTable;
const finalize = (state: RolloutState) => createFinalize(() => deps)(state, LAMBDA_CONTEXT);
const retire = (state: RolloutState) => createRetire(() => deps)(state, LAMBDA_CONTEXT);

/** The push the rollout rolls out, as prepare put it on the lock. */
const PUSH = { pushedAt: '2026-11-24T10:15:00.000Z', digest: DIGEST };
/** What recovery keeps live once Finalize committed: the new revision on the new slot. */
const COMMITTED = { slot: 'green', taskDefinitionArn: NEW_TD, desiredCount: 3, phase: 'committed' } as const;
const ALARM_ABORT: NonNullable<LockRecord['abort']> = { error: ErrorName.AlarmFired, reason: 'alarm checkout-5xx in ALARM', at: '2026-11-24T10:19:59.000Z' };
/** Checkout's lock at the last step: green at 100%, held by the rollout at generation 1. */
const holding = (overrides: Partial<LockRecord> = {}) =>
  lockItem({ push: PUSH, stepIndex: 6, weights: { blue: 0, green: 100 }, target: { slot: 'blue', taskDefinitionArn: RETAINED_TD, desiredCount: 3, phase: 'retained' }, ...overrides });

beforeEach(() => {
  resetAws();
  deps = realDeps();
  aws.dynamo.on(UpdateCommand).resolves({});
  aws.ecs.on(UpdateServiceCommand).resolves({});
  aws.ecs.on(DeregisterTaskDefinitionCommand).resolves({});
  lock = givenLockTable(holding());
  // The new slot serves the new revision: Finalize commits it and Retire may take the old slot away.
  givenEcsService(ecsService('checkout-green', 8));
});

describe('finalize handler', () => {
  it('succeeds when waking the next waiting rollout fails after the lock is released (the waiter resumes at its timeout)', async () => {
    aws.dynamo.on(QueryCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } }));

    const result = await finalize(registeredState());

    expect(result).toMatchObject({ liveSlot: 'green', weights: { blue: 0, green: 100 } });
    expect(historyWrites().map((h) => h.fields.outcome)).toEqual(['SUCCEEDED']);
    expect(lockReleases()).toEqual([releaseOf(ROLLOUT_ID, { unlessAborted: true })]);
    expect(deps.log.lines.some((l) => l.level === 'warn' && l.message.startsWith('next waiting rollout not woken'))).toBe(true);
  });

  it('records green live on the new revision and releases the lock', async () => {
    const result = await finalize(registeredState());

    expect(historyWrites()).toEqual([
      {
        sk: `rollout#${liveState().startedAt}#${ROLLOUT_ID}`,
        fields: {
          service: 'checkout',
          rolloutId: ROLLOUT_ID,
          startedAt: liveState().startedAt,
          endedAt: NOW,
          outcome: 'SUCCEEDED',
          image: IMAGE_URI,
          liveSlot: 'green',
          newTaskDefinitionArn: NEW_TD,
          retainedTaskDefinitionArn: RETAINED_TD,
          weights: { blue: 0, green: 100 },
          reason: 'all steps passed with every watched alarm OK',
        },
      },
    ]);
    expect(serviceStateWrites()).toEqual([
      { service: 'checkout', liveSlot: 'green', liveTaskDefinitionArn: NEW_TD, desiredCount: 3, rolloutId: ROLLOUT_ID, at: NOW, push: PUSH, written: { generation: 1, stage: 1 } },
    ]);
    expect(lockReleases()).toEqual([releaseOf(ROLLOUT_ID, { unlessAborted: true })]);
    expect(lock.item).toEqual(released({ ...holding(), leaseUntil: LEASE_UNTIL }));
    expect(result).toEqual({ liveSlot: 'green', weights: { blue: 0, green: 100 }, decision: 'green is live on checkout:8; blue stays warm on checkout:7 for 15m' });
    // Only reads (retention looks at the slots and the family); no service is changed.
    expect(aws.ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);
    expect(aws.ecs.commandCalls(DeregisterTaskDefinitionCommand)).toHaveLength(0);
  });

  it('commits the new revision on the lock, unless aborted, before it records the success', async () => {
    await finalize(registeredState());

    expect(lockFences()).toEqual([fenceOf(ROLLOUT_ID, 1, { unlessAborted: true, target: COMMITTED })]);
    expect(writes()).toEqual(['fence', 'history', 'service state', 'release', 'close lease']);
  });

  it('aborts with RolloutAborted, committing and recording nothing, when the new slot was scaled to 0 outside Cutover', async () => {
    givenEcsService(ecsService('checkout-green', 8, { desiredCount: 0, runningCount: 0 }));

    await expect(finalize(registeredState())).rejects.toMatchObject({
      name: ErrorName.RolloutAborted,
      message: expect.stringContaining("the green slot's service checkout-green was scaled to 0 outside Cutover (desired count 0, 0 running): it cannot take the traffic"),
    });

    expect(writes()).toEqual([]);
    expect(historyWrites()).toEqual([]);
    expect(serviceStateWrites()).toEqual([]);
    expect(lock.item).toEqual(holding());
  });

  it("refuses with the abort's error when an abort was recorded before the commit, committing and recording nothing", async () => {
    lock.item = holding({ abort: ALARM_ABORT });

    await expect(finalize(registeredState())).rejects.toMatchObject({ name: ErrorName.AlarmFired, message: ALARM_ABORT.reason });

    expect(writes()).toEqual(['fence']);
    expect(lock.item).toEqual(holding({ abort: ALARM_ABORT }));
  });

  it("keeps the lock and fails with the abort's error when an abort is recorded after the commit, so the rollback path restores", async () => {
    // The alarm path marks the abort while Finalize writes its record.
    aws.dynamo.on(UpdateCommand, { Key: { pk: 'service#checkout', sk: `rollout#${liveState().startedAt}#${ROLLOUT_ID}` } }).callsFake(() => {
      lock.item = { ...lock.item, abort: ALARM_ABORT };
      return {};
    });

    await expect(finalize(registeredState())).rejects.toMatchObject({ name: ErrorName.AlarmFired, message: ALARM_ABORT.reason });

    expect(lockReleases()).toEqual([releaseOf(ROLLOUT_ID, { unlessAborted: true })]);
    expect(lock.item).toMatchObject({ rolloutId: ROLLOUT_ID, generation: 1, abort: ALARM_ABORT, target: COMMITTED });
  });

  it('fails with LockLost, recording nothing, when another generation holds the service', async () => {
    lock.item = holding({ rolloutId: recoveryId(ROLLOUT_ID), generation: 2 });

    await expect(finalize(registeredState())).rejects.toMatchObject({ name: ErrorName.LockLost });

    expect(historyWrites()).toEqual([]);
    expect(serviceStateWrites()).toEqual([]);
  });

  it('deregisters, each after a fence, only the old revisions Cutover registered for this service beyond the ones it keeps', async () => {
    const own = (revision: number, service?: string) =>
      aws.ecs.on(DescribeTaskDefinitionCommand, { taskDefinition: taskDefinitionArn(revision) }).resolves({
        taskDefinition: describedTaskDefinition(revision),
        tags: service ? [{ key: 'cutover:service', value: service }] : [],
      });
    aws.ecs.on(ListTaskDefinitionsCommand).resolves({ taskDefinitionArns: [8, 7, 6, 5, 4, 3].map(taskDefinitionArn) });
    own(6, 'checkout');
    own(5); // registered by hand
    own(4, 'checkout-eu'); // the same family, another service's revision
    own(3, 'checkout');

    const result = await finalize(registeredState({ service: serviceConfig({ keepRevisions: 1 }) }));

    expect(aws.ecs.commandCalls(DeregisterTaskDefinitionCommand).map((c) => c.args[0].input)).toEqual([{ taskDefinition: taskDefinitionArn(3) }]);
    expect(writes()).toEqual(['fence', 'history', 'service state', 'fence', `DeregisterTaskDefinition ${taskDefinitionArn(3)}`, 'release', 'close lease']);
    expect(lockFences()[1]).toEqual(fenceOf(ROLLOUT_ID, 1));
    expect(result.decision).toBe('green is live on checkout:8; blue stays warm on checkout:7 for 15m; deregistered checkout:3');
  });

  it('fails with InvalidInput before any AWS call when register has not run', async () => {
    await expect(finalize({ ...rolloutInput(), live: liveState() })).rejects.toMatchObject({ name: ErrorName.InvalidInput });
    expect(totalAwsCalls()).toBe(0);
  });
});

describe('retire handler', () => {
  /** Finalize released the lock at generation 1. */
  const freed = () => released({ ...holding(), leaseUntil: '2026-11-24T10:05:35.000Z' });

  beforeEach(() => {
    lock.item = freed();
  });

  it('hands its turn to a push that came while it held the lock', async () => {
    givenListener([weightedForward(0, 100)]);
    const waiting = { service: 'checkout', rolloutId: 'checkout-next', pushedAt: '2026-11-24T10:06:00.000Z', digest: 'sha256:next', taskToken: 'token-next' };
    aws.dynamo.on(QueryCommand).resolves({ Items: [{ pk: 'service#checkout', sk: `queue#${waiting.pushedAt}#${waiting.rolloutId}`, ...waiting }] });
    aws.sfn.on(SendTaskSuccessCommand).resolves({});

    await retire(registeredState());

    expect(aws.sfn.commandCalls(SendTaskSuccessCommand).map((c) => c.args[0].input)).toEqual([{ taskToken: 'token-next', output: JSON.stringify({ turn: true }) }]);
    expect(lock.item).toEqual(released(lock.item!));
  });

  it('scales the old slot to zero at the end of the rollback window under a lock of its own, leaving its revision registered', async () => {
    givenListener([weightedForward(0, 100)]);

    const result = await retire(registeredState());

    expect(aws.ecs.commandCalls(UpdateServiceCommand).map((c) => c.args[0].input)).toEqual([{ cluster: CLUSTER, service: 'checkout-blue', desiredCount: 0 }]);
    expect(result).toEqual({ scaledDown: true, decision: 'rollback window over: blue slot (checkout-blue) scaled to 0; its revision stays registered' });
    expect(writes()).toEqual(['acquire', 'fence', 'UpdateService checkout-blue', 'release', 'close lease']);
    expect(fieldsSet(lockAcquires()[0]!)).toEqual({
      service: 'checkout',
      rolloutId: ROLLOUT_ID,
      role: 'retire',
      startedAt: liveState().startedAt,
      alarms: [],
      target: COMMITTED,
      activeKey: 'active',
      generation: 'if_not_exists(generation, 0) + 1',
    });
    expect(lockFences()).toEqual([fenceOf(ROLLOUT_ID, 2, { role: 'retire' })]);
    expect(lockReleases()).toEqual([releaseOf(ROLLOUT_ID)]);
    expect(lock.item).toEqual({ ...LOCK_KEY, service: 'checkout', generation: 2, leaseUntil: LEASE_UNTIL });
    expect(aws.ecs.commandCalls(DeregisterTaskDefinitionCommand)).toHaveLength(0);
  });

  it('leaves the old slot to a newer rollout that holds the service', async () => {
    lock.item = lockItem({ rolloutId: OTHER_ROLLOUT_ID, generation: 2 });
    givenListener([weightedForward(0, 100)]);

    const result = await retire(registeredState());

    expect(result).toEqual({ scaledDown: false, decision: `${OTHER_ROLLOUT_ID} owns checkout now; the blue slot is left to it` });
    expect(aws.ecs.calls()).toHaveLength(0);
    expect(lock.item).toEqual(lockItem({ rolloutId: OTHER_ROLLOUT_ID, generation: 2 }));
  });

  it('leaves the old slot running when traffic went back to it, and releases its lock', async () => {
    givenListener([weightedForward(100, 0)]);

    const result = await retire(registeredState());

    expect(result).toEqual({ scaledDown: false, decision: 'the blue slot has 100% of the traffic again; left running' });
    expect(aws.ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);
    expect(writes()).toEqual(['acquire', 'release']);
    expect(lock.item).toMatchObject({ generation: 2 });
    expect(lock.item).not.toHaveProperty('rolloutId');
  });

  it('leaves the old slot running, for a rollback, when the new slot has no running task', async () => {
    givenListener([weightedForward(0, 100)]);
    givenEcsService(ecsService('checkout-green', 8, { runningCount: 0 }));

    const result = await retire(registeredState());

    expect(result).toEqual({ scaledDown: false, decision: "the green slot's service checkout-green has no task running (0/3); the blue slot is left running for a rollback" });
    expect(aws.ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);
    expect(writes()).toEqual(['acquire', 'release']);
    expect(lock.item).not.toHaveProperty('rolloutId');
  });

  it('moves the traffic back to the warm old slot, as a restore of its own, when the committed slot was scaled to 0 outside Cutover', async () => {
    givenListener([weightedForward(0, 100)]);
    givenEcsService(ecsService('checkout-green', 8, { desiredCount: 0, runningCount: 0 }));
    givenEcsService(ecsService('checkout-blue', 7));
    const succeeded = {
      service: 'checkout',
      rolloutId: ROLLOUT_ID,
      startedAt: '2026-11-24T10:15:03.000Z',
      endedAt: '2026-11-24T10:19:00.000Z',
      outcome: 'SUCCEEDED',
      liveSlot: 'green',
      retainedTaskDefinitionArn: RETAINED_TD,
      newTaskDefinitionArn: NEW_TD,
    };
    aws.dynamo.on(QueryCommand).resolves({ Items: [] });
    aws.dynamo
      .on(QueryCommand, { ExpressionAttributeValues: { ':prefix': 'rollout#' } })
      .resolves({ Items: [{ pk: 'service#checkout', sk: `rollout#${succeeded.startedAt}#${ROLLOUT_ID}`, ...succeeded }] });
    aws.elb.on(ModifyListenerCommand).resolves({});

    const result = await retire(registeredState());

    expect(result).toEqual({
      scaledDown: false,
      restored: true,
      decision: `the green slot's service checkout-green was scaled to 0 outside Cutover (desired count 0, 0 running): blue takes 100% again on checkout:7 (${ROLLOUT_ID} rolled back after completion)`,
    });
    expect(aws.elb.commandCalls(ModifyListenerCommand).map((c) => slotWeights(c.args[0].input.DefaultActions))).toEqual([{ blue: 100, green: 0 }]);
    expect(aws.ecs.commandCalls(UpdateServiceCommand).map((c) => c.args[0].input)).toEqual([{ cluster: CLUSTER, service: 'checkout-green', desiredCount: 0 }]);
    expect(historyWrites().map((h) => h.fields)).toEqual([expect.objectContaining({ outcome: 'ROLLED_BACK', liveSlot: 'blue', reason: expect.stringContaining('scaled to 0 outside Cutover') })]);
    expect(serviceStateWrites()).toEqual([expect.objectContaining({ liveSlot: 'blue', liveTaskDefinitionArn: RETAINED_TD, desiredCount: 3, rolloutId: ROLLOUT_ID })]);
    // The scale-down's lock (generation 2), then the restore's (generation 3): each fenced and released.
    expect(writes()).toEqual(['acquire', 'release', 'acquire', 'fence', 'weights', 'fence', 'UpdateService checkout-green', 'history', 'service state', 'release', 'close lease']);
    const restoreId = `restore-${ROLLOUT_ID}`.slice(0, 80);
    expect(lockFences()).toEqual([fenceOf(restoreId, 3, { role: 'restore' }), fenceOf(restoreId, 3, { role: 'restore' })]);
    expect(lock.item).toEqual({ ...LOCK_KEY, service: 'checkout', generation: 3, leaseUntil: LEASE_UNTIL });
  });

  it('leaves the old slot running when a later rollout changed the service', async () => {
    givenListener([weightedForward(0, 100)]);
    aws.dynamo
      .on(GetCommand, { TableName: TABLE, Key: { pk: 'service#checkout', sk: 'state' } })
      .resolves({ Item: { service: 'checkout', liveSlot: 'blue', liveTaskDefinitionArn: taskDefinitionArn(9), desiredCount: 3, rolloutId: OTHER_ROLLOUT_ID, at: NOW } });

    const result = await retire(registeredState());

    expect(result).toEqual({ scaledDown: false, decision: `checkout changed since this rollout (now blue live, by ${OTHER_ROLLOUT_ID}); the blue slot is left running` });
    expect(aws.ecs.calls()).toHaveLength(0);
    expect(writes()).toEqual(['acquire', 'release']);
  });
});
