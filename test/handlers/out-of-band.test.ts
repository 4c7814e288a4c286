/**
 * Out-of-band changes are noticed, not trusted (issue 10, item 7): listener weights set by hand (ALB weights
 * are 0-999 and relative, so raw 999/1 is split traffic, not "blue 100"), the new slot scaled to 0 during
 * the canary, the retained revision deregistered. Each handler runs over the real AWS adapters with
 * aws-sdk-client-mock, and each case has a passing and a failing side.
 */
import { ClientException, DescribeServicesCommand, DescribeTaskDefinitionCommand, RegisterTaskDefinitionCommand, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { ModifyListenerCommand, ModifyRuleCommand, type Action } from '@aws-sdk/client-elastic-load-balancing-v2';
import { UpdateCommand, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { readStatus } from '../../functions/read/status';
import { painter, weightsLine } from '../../functions/read/view';
import { createHandler as createCheckAlarms } from '../../functions/check-alarms/handler';
import { ErrorName } from '../../functions/core/errors';
import type { LiveState, RolloutState, SteadyState } from '../../functions/core/rollout';
import { createHandler as createPrepare } from '../../functions/prepare/handler';
import { createHandler as createRetire } from '../../functions/retire/handler';
import { describedTaskDefinition, ecsService } from '../fixtures/ecs';
import { BLUE_TG, CLUSTER, GREEN_TG, RETAINED_TD, liveState, registeredState, rolloutInput, serviceConfig, stepState } from '../fixtures/state';
import {
  LAMBDA_CONTEXT,
  aws,
  givenAlarmStates,
  givenEcsService,
  givenHealthyEnvironment,
  givenListener,
  givenLock,
  historyWrites,
  lockItem,
  lockUpdates,
  realDeps,
  resetAws,
  sdkError,
  type Deps,
} from './harness';

let deps: Deps;
const prepare = (input: unknown) => createPrepare(() => deps)(input, LAMBDA_CONTEXT);
const retire = (state: RolloutState) => createRetire(() => deps)(state, LAMBDA_CONTEXT);
const checkAlarms = (state: RolloutState) => createCheckAlarms(() => deps)(state, LAMBDA_CONTEXT);

/** A forward action as an operator may leave it: raw ALB weights (0-999, relative), blue then green. */
const rawForward = (blue: number, green: number): Action => ({
  Type: 'forward',
  ForwardConfig: {
    TargetGroups: [
      { TargetGroupArn: BLUE_TG, Weight: blue },
      { TargetGroupArn: GREEN_TG, Weight: green },
    ],
  },
});
/** The shape moto (and a listener created with a plain forward) returns: no ForwardConfig. */
const plainForward = (targetGroupArn: string): Action => ({ Type: 'forward', TargetGroupArn: targetGroupArn });

/**
 * The lock is free and every conditional write on it succeeds, answering the lock as this rollout holds it
 * at generation 1 (acquire, fence, update, release alike); other items' writes succeed.
 */
function givenServiceFree(): void {
  aws.dynamo.on(UpdateCommand).callsFake((input: UpdateCommandInput) => (input.Key?.sk === 'lock' ? { Attributes: lockItem({ generation: 1, startedAt: '2026-11-24T10:15:03.000Z' } as never) } : {}));
}

/** Nothing that changes traffic, a slot or a revision was sent. */
function expectNothingChangedInAws(): void {
  expect(aws.elb).toHaveReceivedCommandTimes(ModifyListenerCommand, 0);
  expect(aws.elb).toHaveReceivedCommandTimes(ModifyRuleCommand, 0);
  expect(aws.ecs).toHaveReceivedCommandTimes(UpdateServiceCommand, 0);
  expect(aws.ecs).toHaveReceivedCommandTimes(RegisterTaskDefinitionCommand, 0);
}

/** The reason of the REFUSED history record prepare wrote. */
const refusal = () => historyWrites().find((h) => h.fields.outcome === 'REFUSED')?.fields.reason;

beforeEach(() => {
  resetAws();
  deps = realDeps();
});

describe('prepare reads raw listener weights honestly', () => {
  beforeEach(() => {
    givenServiceFree();
    givenHealthyEnvironment();
  });

  it.each<[string, Action, string]>([
    ['raw 999/1 (99.9% / 0.1%)', rawForward(999, 1), 'traffic is split (blue 99.9 / green 0.1); a rollout starts only from 100/0'],
    ['raw 1/999 (0.1% / 99.9%)', rawForward(1, 999), 'traffic is split (blue 0.1 / green 99.9); a rollout starts only from 100/0'],
    ['raw 0/0 (no traffic on either slot)', rawForward(0, 0), 'neither slot has traffic (blue 0 / green 0); a rollout starts only from 100/0'],
  ])('refuses %s with PreflightFailed and changes nothing', async (_name, forward, problem) => {
    givenListener([forward]);

    const attempt = prepare(rolloutInput());

    await expect(attempt).rejects.toMatchObject({ name: ErrorName.PreflightFailed, problems: [problem] });
    expect(refusal()).toBe(`pre-flight failed: ${problem}`);
    expectNothingChangedInAws();
  });

  it.each<[string, Action]>([
    ['raw 100/0', rawForward(100, 0)],
    ['raw 999/0 (weights are relative)', rawForward(999, 0)],
  ])('reads %s as blue live at 100 / 0 and prepares', async (_name, forward) => {
    givenListener([forward]);

    const live = await prepare(rolloutInput());

    expect(live).toMatchObject<Partial<LiveState>>({ liveSlot: 'blue', idleSlot: 'green', weights: { blue: 100, green: 0 }, retainedTaskDefinitionArn: RETAINED_TD });
    expect(historyWrites().map((h) => h.fields.outcome)).toEqual(['RUNNING']);
  });

  it('reads a plain TargetGroupArn forward as that slot at 100, not as split', async () => {
    givenListener([plainForward(BLUE_TG)]);

    const attempt = prepare(rolloutInput());

    // Refused, but only because green's target group is not in the forward: the weights are not split.
    await expect(attempt).rejects.toMatchObject({ name: ErrorName.PreflightFailed, problems: ["the listener does not forward to the green slot's target group"] });
    expectNothingChangedInAws();
  });
});

describe('prepare refuses a live revision that is no longer ACTIVE', () => {
  beforeEach(() => {
    givenServiceFree();
    givenHealthyEnvironment();
  });

  it('prepares when the live revision is ACTIVE', async () => {
    const live = await prepare(rolloutInput());

    expect(live).toMatchObject({ liveSlot: 'blue', retainedTaskDefinitionArn: RETAINED_TD });
  });

  it('refuses with PreflightFailed when the live revision was deregistered (INACTIVE) and changes nothing', async () => {
    aws.ecs.on(DescribeTaskDefinitionCommand, { taskDefinition: RETAINED_TD }).resolves({ taskDefinition: { ...describedTaskDefinition(7), status: 'INACTIVE' }, tags: [] });
    const problem = 'the live revision checkout:7 is INACTIVE, not ACTIVE (deregistered outside Cutover); it cannot be the retained revision a rollback returns to';

    const attempt = prepare(rolloutInput());

    await expect(attempt).rejects.toMatchObject({ name: ErrorName.PreflightFailed, problems: [problem] });
    expect(refusal()).toBe(`pre-flight failed: ${problem}`);
    expectNothingChangedInAws();
  });
});

describe('retire scales the old slot down only when the new slot holds exactly all the traffic', () => {
  /** After a successful rollout: green (new) is live on checkout:8, blue (old) is retired. */
  const succeeded = () => registeredState({ live: { ...liveState(), generation: 1 } });

  beforeEach(() => {
    givenServiceFree();
    givenLock(undefined);
    aws.ecs.on(UpdateServiceCommand).resolves({});
    // The new slot serves: only the traffic split decides.
    givenEcsService(ecsService('checkout-green', 8));
  });

  it.each<[string, Action]>([
    ['a weighted 0/100 forward', rawForward(0, 100)],
    ['a plain TargetGroupArn forward to the new slot', plainForward(GREEN_TG)],
  ])('scales the old slot to 0 with %s', async (_name, forward) => {
    givenListener([forward]);

    const result = await retire(succeeded());

    expect(result.scaledDown).toBe(true);
    expect(aws.ecs.commandCalls(UpdateServiceCommand).map((c) => c.args[0].input)).toEqual([{ cluster: CLUSTER, service: 'checkout-blue', desiredCount: 0 }]);
  });

  it.each<[string, Action, string]>([
    ['raw 1/999: the old slot still serves 0.1%', rawForward(1, 999), 'the blue slot has 0.1% of the traffic again; left running'],
    ['raw 0/0: the new slot serves nothing', rawForward(0, 0), 'the green slot does not hold all of the traffic (blue 0 / green 0); the blue slot is left running'],
  ])('leaves the old slot running with %s', async (_name, forward, decision) => {
    givenListener([forward]);

    const result = await retire(succeeded());

    expect(result).toEqual({ scaledDown: false, decision });
    expect(aws.ecs).toHaveReceivedCommandTimes(UpdateServiceCommand, 0);
  });
});

describe('status shows raw weights as they are', () => {
  const plain = painter(false);

  beforeEach(() => {
    givenLock(undefined);
    givenAlarmStates({ 'checkout-5xx': 'OK', 'checkout-p99-latency': 'OK' });
  });

  it('reads raw 999/1 as 99.9 / 0.1 and draws both slots', async () => {
    givenListener([rawForward(999, 1)]);

    const status = await readStatus(serviceConfig(), { store: deps.store, traffic: deps.traffic, alarms: deps.alarms, clock: deps.clock });

    expect(status.weights).toEqual({ blue: 99.9, green: 0.1 });
    expect(weightsLine(status.weights, undefined, 10, plain)).toBe('blue 99.9 █████████▒ 0.1 green');
  });

  it('reads a plain TargetGroupArn forward as 100 / 0 and draws one slot', async () => {
    givenListener([plainForward(BLUE_TG)]);

    const status = await readStatus(serviceConfig(), { store: deps.store, traffic: deps.traffic, alarms: deps.alarms, clock: deps.clock });

    expect(status.weights).toEqual({ blue: 100, green: 0 });
    expect(weightsLine(status.weights, undefined, 10, plain)).toBe('blue 100 ██████████   0 green');
  });
});

describe('check-alarms notices changes made outside Cutover during the canary', () => {
  const steady: SteadyState = { status: 'STEADY', checks: 2, decision: 'steady' };

  beforeEach(() => {
    aws.dynamo.on(UpdateCommand).resolves({});
    givenLock(lockItem());
    givenAlarmStates({ 'checkout-5xx': 'OK', 'checkout-p99-latency': 'OK' });
    givenEcsService(ecsService('checkout-green', 8));
    // The retained slot can take the traffic back (rollback-target.test.ts covers the other side).
    givenEcsService(ecsService('checkout-blue', 7));
    aws.ecs.on(DescribeTaskDefinitionCommand, { taskDefinition: RETAINED_TD }).resolves({ taskDefinition: describedTaskDefinition(7), tags: [] });
  });

  it('passes and records the step when the new slot runs every task and the retained revision is ACTIVE', async () => {
    const check = await checkAlarms(stepState(2, { steady }));

    expect(check.decision).toBe('before step 3/7: checkout-5xx OK, checkout-p99-latency OK');
    expect(aws.ecs).toHaveReceivedCommandWith(DescribeServicesCommand, { cluster: CLUSTER, services: ['checkout-green'] });
    expect(lockUpdates()).toHaveLength(1);
  });

  it.each<[string, Parameters<typeof ecsService>[2], string]>([
    ['scaled to 0', { desiredCount: 0, runningCount: 0 }, "the green slot's service checkout-green was scaled to 0 outside Cutover (desired count 0, 0 running)"],
    ['scaled to 0 while its tasks still drain', { desiredCount: 0, runningCount: 2 }, "the green slot's service checkout-green was scaled to 0 outside Cutover (desired count 0, 2 running)"],
    ['left with no task running', { desiredCount: 3, runningCount: 0 }, "the green slot's service checkout-green has no task running (0/3)"],
  ])('aborts with RolloutAborted when the new slot was %s', async (_name, overrides, reason) => {
    givenEcsService(ecsService('checkout-green', 8, overrides));

    const attempt = checkAlarms(stepState(2, { steady }));

    await expect(attempt).rejects.toMatchObject({ name: ErrorName.RolloutAborted, message: `rollout aborted: ${reason}` });
    expect(lockUpdates()).toEqual([]);
  });

  it('aborts with RolloutAborted when the new slot service was deleted', async () => {
    givenEcsService(ecsService('checkout-green', 8, { status: 'INACTIVE' }));

    await expect(checkAlarms(stepState(2, { steady }))).rejects.toMatchObject({
      name: ErrorName.RolloutAborted,
      message: "rollout aborted: the green slot's service checkout-green no longer exists",
    });
  });

  it('does not hold the new slot to its count before it was steady (nothing was shifted to it yet)', async () => {
    givenEcsService(ecsService('checkout-green', 8, { desiredCount: 0, runningCount: 0 }));

    const check = await checkAlarms(stepState(0, { steady: { status: 'IN_PROGRESS', checks: 1, decision: 'not yet' } }));

    expect(check.paused).toBe(false);
    // Only the retained slot is read (the rollback target); the new slot is not looked at yet.
    expect(aws.ecs.commandCalls(DescribeServicesCommand).map((c) => c.args[0].input.services)).toEqual([['checkout-blue']]);
  });

  it.each<[string, () => void, string]>([
    [
      'deregistered (INACTIVE)',
      () => aws.ecs.on(DescribeTaskDefinitionCommand, { taskDefinition: RETAINED_TD }).resolves({ taskDefinition: { ...describedTaskDefinition(7), status: 'INACTIVE' }, tags: [] }),
      'the retained revision checkout:7 is INACTIVE, not ACTIVE (deregistered outside Cutover): the last known good revision is gone',
    ],
    [
      'being deleted (DELETE_IN_PROGRESS)',
      () => aws.ecs.on(DescribeTaskDefinitionCommand, { taskDefinition: RETAINED_TD }).resolves({ taskDefinition: { ...describedTaskDefinition(7), status: 'DELETE_IN_PROGRESS' }, tags: [] }),
      'the retained revision checkout:7 is DELETE_IN_PROGRESS, not ACTIVE (deregistered outside Cutover): the last known good revision is gone',
    ],
    [
      'gone (ECS cannot describe it)',
      () => aws.ecs.on(DescribeTaskDefinitionCommand, { taskDefinition: RETAINED_TD }).rejects(sdkError(ClientException, 'Unable to describe task definition.')),
      'the retained revision checkout:7 no longer exists: the last known good revision is gone',
    ],
  ])('aborts with RolloutAborted when the retained revision is %s', async (_name, given, reason) => {
    given();

    const attempt = checkAlarms(stepState(2, { steady }));

    await expect(attempt).rejects.toMatchObject({ name: ErrorName.RolloutAborted, message: `rollout aborted: ${reason}` });
    expect(lockUpdates()).toEqual([]);
  });

  it('names every change at once', async () => {
    givenEcsService(ecsService('checkout-green', 8, { desiredCount: 0, runningCount: 0 }));
    aws.ecs.on(DescribeTaskDefinitionCommand, { taskDefinition: RETAINED_TD }).resolves({ taskDefinition: { ...describedTaskDefinition(7), status: 'INACTIVE' }, tags: [] });

    await expect(checkAlarms(stepState(2, { steady }))).rejects.toMatchObject({
      name: ErrorName.RolloutAborted,
      message:
        "rollout aborted: the green slot's service checkout-green was scaled to 0 outside Cutover (desired count 0, 0 running); " +
        'the retained revision checkout:7 is INACTIVE, not ACTIVE (deregistered outside Cutover): the last known good revision is gone',
    });
  });

  it('reports an alarm in ALARM before a change made outside Cutover', async () => {
    givenAlarmStates({ 'checkout-5xx': 'ALARM', 'checkout-p99-latency': 'OK' });
    givenEcsService(ecsService('checkout-green', 8, { desiredCount: 0, runningCount: 0 }));

    await expect(checkAlarms(stepState(2, { steady }))).rejects.toMatchObject({ name: ErrorName.AlarmFired, alarms: ['checkout-5xx'] });
  });
});
