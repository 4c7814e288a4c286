/**
 * Check alarms also checks the rollback target: the retained (blue) slot must be able to take all the traffic
 * back. If it cannot, the rollout holds (a pause by Cutover with the reason, on the lock), never rolls on.
 */
import { DescribeTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { createHandler } from '../../functions/check-alarms/handler';
import type { RolloutState } from '../../functions/core/rollout';
import { describedTaskDefinition, ecsService } from '../fixtures/ecs';
import { RETAINED_TD, stepState } from '../fixtures/state';
import { LAMBDA_CONTEXT, aws, fieldsSet, givenAlarmStates, givenEcsService, givenLock, givenTargetHealth, lockItem, lockUpdates, realDeps, resetAws, type Deps } from './harness';

let deps: Deps;
const invoke = (state: RolloutState) => createHandler(() => deps)(state, LAMBDA_CONTEXT);
const pauses = () =>
  lockUpdates()
    .map(fieldsSet)
    .filter((f) => 'pause' in f);

beforeEach(() => {
  resetAws();
  deps = realDeps();
  aws.dynamo.on(UpdateCommand).resolves({});
  givenLock(lockItem({ weights: { blue: 90, green: 10 } }));
  givenAlarmStates({ 'checkout-5xx': 'OK', 'checkout-p99-latency': 'OK' });
  givenEcsService(ecsService('checkout-green', 8));
  givenEcsService(ecsService('checkout-blue', 7));
  aws.ecs.on(DescribeTaskDefinitionCommand, { taskDefinition: RETAINED_TD }).resolves({ taskDefinition: describedTaskDefinition(7), tags: [] });
});

describe('check-alarms: the rollback target', () => {
  it('goes on when the retained slot is ACTIVE, on the retained revision, with every target healthy', async () => {
    const check = await invoke(stepState(2));

    expect(check).toMatchObject({ paused: false, decision: 'before step 3/7: checkout-5xx OK, checkout-p99-latency OK' });
    expect(check.held).toBeUndefined();
    expect(pauses()).toEqual([]);
  });

  it.each([
    ['its service is missing', () => givenEcsService(ecsService('checkout-blue', 7, { status: 'INACTIVE' })), 'its service checkout-blue no longer exists'],
    ['its service is draining', () => givenEcsService(ecsService('checkout-blue', 7, { status: 'DRAINING' })), 'its service checkout-blue is DRAINING, not ACTIVE'],
    [
      'too few targets are healthy',
      () => givenTargetHealth(['healthy', 'unhealthy:Target.FailedHealthChecks', 'initial']),
      'its target group has 1/3 healthy targets (1 unhealthy (Target.FailedHealthChecks), 1 initial)',
    ],
  ])('holds at the current weight with the reason on the lock when %s', async (_case, arrange, problem) => {
    arrange();

    const check = await invoke(stepState(2));

    const reason = `the blue slot cannot take the traffic back: ${problem}`;
    expect(check).toMatchObject({ paused: true, held: reason, decision: `before step 3/7: checkout-5xx OK, checkout-p99-latency OK; ${reason}: holding at blue 90 / green 10 until resume` });
    expect(pauses()).toEqual([{ pause: { by: 'Cutover', at: expect.any(String), reason } }]);
  });

  it('rolls back (does not hold) when the retained revision was deregistered while the old slot still serves', async () => {
    aws.ecs.on(DescribeTaskDefinitionCommand, { taskDefinition: RETAINED_TD }).resolves({ taskDefinition: { ...describedTaskDefinition(7), status: 'INACTIVE' }, tags: [] });

    await expect(invoke(stepState(2))).rejects.toMatchObject({ name: 'RolloutAborted' });
    expect(pauses()).toEqual([]);
  });

  it('does not hold a cold retained slot to a target count', async () => {
    givenEcsService(ecsService('checkout-blue', 7, { desiredCount: 0, runningCount: 0 }));
    givenTargetHealth([]);

    const check = await invoke(stepState(7, { cursor: { index: 7, total: 7 } }));

    expect(check).toMatchObject({ paused: false, decision: 'before finalizing: checkout-5xx OK, checkout-p99-latency OK' });
    expect(pauses()).toEqual([]);
  });
});
