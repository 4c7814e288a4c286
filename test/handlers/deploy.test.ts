import { ServiceNotFoundException, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { beforeEach, describe, expect, it } from 'vitest';
import { ErrorName } from '../../functions/core/errors';
import { recoveryId } from '../../functions/core/ownership';
import type { RolloutState } from '../../functions/core/rollout';
import { createHandler } from '../../functions/deploy/handler';
import { CLUSTER, IDLE_TD, NEW_TD, OTHER_ROLLOUT_ID, RETAINED_TD, ROLLOUT_ID, liveState, registeredState, rolloutInput } from '../fixtures/state';
import {
  LAMBDA_CONTEXT,
  LEASE_UNTIL,
  aws,
  fenceOf,
  givenLockTable,
  lockFences,
  lockItem,
  namedError,
  realDeps,
  released,
  resetAws,
  sdkError,
  totalAwsCalls,
  writes,
  type Deps,
  type LockTable,
} from './harness';

let deps: Deps;
let lock: LockTable;
const invoke = (state: RolloutState) => createHandler(() => deps)(state, LAMBDA_CONTEXT);

beforeEach(() => {
  resetAws();
  deps = realDeps();
  aws.ecs.on(UpdateServiceCommand).resolves({});
  // The rollout holds checkout's lock at the generation prepare took (liveState: 1).
  lock = givenLockTable(lockItem());
});

describe('deploy handler', () => {
  it("points the idle slot's service at the new revision with the live slot's desired count, right after a fence", async () => {
    const result = await invoke(registeredState());

    expect(aws.ecs).toHaveReceivedCommandExactlyOnceWith(UpdateServiceCommand, { cluster: CLUSTER, service: 'checkout-green', taskDefinition: NEW_TD, desiredCount: 3 });
    expect(result).toEqual({
      slot: 'green',
      serviceName: 'checkout-green',
      taskDefinitionArn: NEW_TD,
      desiredCount: 3,
      decision: 'green slot (checkout-green) now runs checkout:8 with 3 tasks',
    });
    expect(lockFences()).toEqual([fenceOf(ROLLOUT_ID, 1, { unlessAborted: true })]);
    expect(writes()).toEqual(['fence', 'UpdateService checkout-green', 'close lease']);
    expect(lock.item).toMatchObject({ rolloutId: ROLLOUT_ID, generation: 1, leaseUntil: LEASE_UNTIL });
  });

  it('deploys to blue when green is live', async () => {
    const state = registeredState({ live: liveState({ liveSlot: 'green', idleSlot: 'blue', idleTaskDefinitionArn: IDLE_TD, retainedTaskDefinitionArn: RETAINED_TD, desiredCount: 6 }) });

    await invoke(state);

    expect(aws.ecs).toHaveReceivedCommandExactlyOnceWith(UpdateServiceCommand, { cluster: CLUSTER, service: 'checkout-blue', taskDefinition: NEW_TD, desiredCount: 6 });
  });

  it('sends the same absolute values when retried', async () => {
    await invoke(registeredState());
    await invoke(registeredState());

    const [first, second] = aws.ecs.commandCalls(UpdateServiceCommand).map((c) => c.args[0].input);
    expect(second).toEqual(first);
    expect(writes()).toEqual(['fence', 'UpdateService checkout-green', 'close lease', 'fence', 'UpdateService checkout-green', 'close lease']);
  });

  it.each<[string, () => Record<string, unknown> | undefined, string]>([
    ['another rollout holds the lock', () => lockItem({ rolloutId: OTHER_ROLLOUT_ID, generation: 2 }), `${OTHER_ROLLOUT_ID} at generation 2`],
    ['a recovery took the lock over (a newer generation)', () => lockItem({ rolloutId: recoveryId(ROLLOUT_ID), generation: 2 }), `${recoveryId(ROLLOUT_ID)} at generation 2`],
    ['this rollout holds it again, at a newer generation', () => lockItem({ generation: 3 }), `${ROLLOUT_ID} at generation 3`],
  ])('refuses with LockLost, changing nothing, when %s', async (_case, holder, heldBy) => {
    lock.item = holder();
    const before = structuredClone(lock.item);

    const attempt = invoke(registeredState());

    await expect(attempt).rejects.toMatchObject({ name: ErrorName.LockLost, message: `rollout ${ROLLOUT_ID} no longer holds the lock of checkout (held by ${heldBy})` });
    expect(aws.ecs).toHaveReceivedCommandTimes(UpdateServiceCommand, 0);
    expect(lock.item).toEqual(before);
  });

  it('refuses with LockLost, changing nothing, when the lock is free', async () => {
    lock.item = released(lockItem({ generation: 2 }));

    await expect(invoke(registeredState())).rejects.toMatchObject({ name: ErrorName.LockLost, message: `rollout ${ROLLOUT_ID} no longer holds the lock of checkout` });
    expect(aws.ecs).toHaveReceivedCommandTimes(UpdateServiceCommand, 0);
  });

  it("refuses with the abort's error, changing nothing, when the rollout was aborted before the update", async () => {
    lock.item = lockItem({ abort: { error: ErrorName.AlarmFired, reason: 'alarm checkout-5xx in ALARM', at: '2026-11-24T10:19:58.000Z' } });

    await expect(invoke(registeredState())).rejects.toMatchObject({ name: ErrorName.AlarmFired, message: 'alarm checkout-5xx in ALARM' });
    expect(aws.ecs).toHaveReceivedCommandTimes(UpdateServiceCommand, 0);
  });

  it.each<[string, RolloutState, string]>([
    ['prepare has not run', rolloutInput(), 'live: missing (prepare has not run)'],
    ['register has not run', { ...rolloutInput(), live: liveState() }, 'revision: missing (register has not run)'],
  ])('fails with InvalidInput before any AWS call when %s', async (_name, state, problem) => {
    await expect(invoke(state)).rejects.toMatchObject({ name: ErrorName.InvalidInput, problems: [problem] });
    expect(totalAwsCalls()).toBe(0);
  });

  it('surfaces a 503 from ECS as AwsTransient', async () => {
    aws.ecs.on(UpdateServiceCommand).rejects(namedError('ServiceUnavailableException', 503));

    await expect(invoke(registeredState())).rejects.toMatchObject({ name: ErrorName.AwsTransient });
  });

  it('lets a missing ECS service fail with the SDK exception for the rollback path', async () => {
    aws.ecs.on(UpdateServiceCommand).rejects(sdkError(ServiceNotFoundException, 'Service not found.'));

    await expect(invoke(registeredState())).rejects.toMatchObject({ name: 'ServiceNotFoundException' });
  });
});
