import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { createHandler } from '../../functions/check-alarms/handler';
import { ErrorName } from '../../functions/core/errors';
import type { RolloutState } from '../../functions/core/rollout';
import { describedTaskDefinition, ecsService } from '../fixtures/ecs';
import { ALARMS, OTHER_ROLLOUT_ID, RETAINED_TD, ROLLOUT_ID, serviceConfig, stepState } from '../fixtures/state';
import { LAMBDA_CONTEXT, NOW, aws, fieldsSet, givenAlarmStates, givenEcsService, givenLock, lockItem, lockUpdates, namedError, realDeps, resetAws, type Deps } from './harness';

const THRESHOLD = 'Threshold Crossed: 1 out of the last 1 datapoints [42.0 (24/11/26 10:26:00)] was greater than the threshold (5.0)';

let deps: Deps;
const invoke = (state: RolloutState) => createHandler(() => deps)(state, LAMBDA_CONTEXT);

beforeEach(() => {
  resetAws();
  deps = realDeps();
  aws.dynamo.on(UpdateCommand).resolves({});
  givenLock(lockItem());
  // Nothing changed outside Cutover: the new slot runs its tasks, the retained revision is ACTIVE
  // (out-of-band.test.ts covers the other side).
  givenEcsService(ecsService('checkout-green', 8));
  // The retained slot can take the traffic back (rollback-target.test.ts covers the other side).
  givenEcsService(ecsService('checkout-blue', 7));
  aws.ecs.on(DescribeTaskDefinitionCommand, { taskDefinition: RETAINED_TD }).resolves({ taskDefinition: describedTaskDefinition(7), tags: [] });
});

describe('check-alarms handler', () => {
  it('passes when every watched alarm is OK and records the step index on the lock', async () => {
    givenAlarmStates({ 'checkout-5xx': 'OK', 'checkout-p99-latency': 'INSUFFICIENT_DATA' });

    const check = await invoke(stepState(2));

    expect(check).toEqual({
      alarms: [
        { name: 'checkout-5xx', state: 'OK', reason: 'OK reason' },
        { name: 'checkout-p99-latency', state: 'INSUFFICIENT_DATA', reason: 'INSUFFICIENT_DATA reason' },
      ],
      paused: false,
      decision: 'before step 3/7: checkout-5xx OK, checkout-p99-latency INSUFFICIENT_DATA',
    });
    expect(lockUpdates()).toHaveLength(1);
    expect(fieldsSet(lockUpdates()[0]!)).toEqual({ stepIndex: 2 });
  });

  it('says it checked before finalizing once every step has run', async () => {
    givenAlarmStates({ 'checkout-5xx': 'OK', 'checkout-p99-latency': 'OK' });

    const check = await invoke(stepState(7, { cursor: { index: 7, total: 7 } }));

    expect(check.decision).toBe('before finalizing: checkout-5xx OK, checkout-p99-latency OK');
    expect(fieldsSet(lockUpdates()[0]!)).toEqual({ stepIndex: 7 });
  });

  it('fails with AlarmFired naming the alarm in ALARM, filtering states itself (moto ignores StateValue)', async () => {
    givenAlarmStates({ 'checkout-5xx': 'ALARM', 'checkout-p99-latency': 'OK' }, { 'checkout-5xx': THRESHOLD });

    const attempt = invoke(stepState(2));

    await expect(attempt).rejects.toMatchObject({ name: ErrorName.AlarmFired, alarms: ['checkout-5xx'], message: `alarm checkout-5xx in ALARM: ${THRESHOLD}` });
    const input = aws.cloudwatch.commandCalls(DescribeAlarmsCommand)[0]!.args[0].input;
    expect(input.AlarmNames).toEqual([...ALARMS]);
    expect(input).not.toHaveProperty('StateValue');
    expect(lockUpdates()).toEqual([]);
  });

  it('fails with AlarmFired for a composite alarm in ALARM', async () => {
    aws.cloudwatch.on(DescribeAlarmsCommand).resolves({
      MetricAlarms: [{ AlarmName: 'checkout-5xx', StateValue: 'OK' }],
      CompositeAlarms: [{ AlarmName: 'checkout-p99-latency', StateValue: 'ALARM', StateReason: 'child alarm checkout-p99-raw in ALARM' }],
    });

    await expect(invoke(stepState(0))).rejects.toMatchObject({ name: ErrorName.AlarmFired, alarms: ['checkout-p99-latency'] });
  });

  it('ignores an alarm in ALARM that it did not ask about', async () => {
    givenAlarmStates({ 'checkout-5xx': 'OK', 'checkout-p99-latency': 'OK', 'payments-5xx': 'ALARM' });

    const check = await invoke(stepState(0));

    expect(check.alarms.map((a) => a.name)).toEqual([...ALARMS]);
  });

  it('asks for more than 100 alarms in pages of 100', async () => {
    const alarms = Array.from({ length: 101 }, (_, i) => `checkout-alarm-${i}`);
    givenAlarmStates(Object.fromEntries(alarms.map((a) => [a, 'OK'])));

    await invoke(stepState(0, { service: serviceConfig({ alarms }) }));

    expect(aws.cloudwatch.commandCalls(DescribeAlarmsCommand).map((c) => c.args[0].input.AlarmNames?.length)).toEqual([100, 1]);
  });

  it.each([
    [ErrorName.AlarmFired, `alarm checkout-5xx in ALARM: ${THRESHOLD}`],
    [ErrorName.RolloutAborted, 'aborted by alice from Slack'],
  ])('fails with %s at once when the lock records that abort, without reading alarms', async (error, reason) => {
    givenLock(lockItem({ abort: { error, reason, at: NOW } }));
    givenAlarmStates({ 'checkout-5xx': 'OK', 'checkout-p99-latency': 'OK' });

    const attempt = invoke(stepState(2));

    await expect(attempt).rejects.toMatchObject({ name: error, message: error === ErrorName.AlarmFired ? reason : `rollout aborted: ${reason}` });
    expect(aws.cloudwatch.calls()).toHaveLength(0);
    expect(lockUpdates()).toEqual([]);
  });

  it.each([
    ['belongs to another rollout', lockItem({ rolloutId: OTHER_ROLLOUT_ID }), `rollout ${ROLLOUT_ID} no longer holds the lock of checkout (held by ${OTHER_ROLLOUT_ID})`],
    ['is gone', undefined, `rollout ${ROLLOUT_ID} no longer holds the lock of checkout`],
  ])('fails with LockLost when the lock %s', async (_name, item, message) => {
    givenLock(item);

    await expect(invoke(stepState(2))).rejects.toMatchObject({ name: ErrorName.LockLost, message });
    expect(aws.cloudwatch.calls()).toHaveLength(0);
  });

  it('aborts with RolloutAborted when a watched alarm was deleted', async () => {
    givenAlarmStates({ 'checkout-5xx': 'OK' });

    await expect(invoke(stepState(2))).rejects.toMatchObject({ name: ErrorName.RolloutAborted, message: 'rollout aborted: watched alarm checkout-p99-latency no longer exists' });
  });

  it('surfaces throttling of DescribeAlarms as AwsTransient', async () => {
    aws.cloudwatch.on(DescribeAlarmsCommand).rejects(namedError('Throttling', 400, 'Rate exceeded'));

    await expect(invoke(stepState(2))).rejects.toMatchObject({ name: ErrorName.AwsTransient });
  });

  it('forgets the spent token of the wait before it and reports an operator pause', async () => {
    givenLock(lockItem({ taskToken: 'spent-token', wait: { kind: 'bake', since: NOW }, pause: { by: '<@U1>', at: NOW } }));
    givenAlarmStates({ 'checkout-5xx': 'OK', 'checkout-p99-latency': 'OK' });

    const check = await invoke(stepState(2));

    expect(check.paused).toBe(true);
    expect(check.decision).toBe('before step 3/7: checkout-5xx OK, checkout-p99-latency OK; paused by <@U1>, holding');
    expect(lockUpdates().map((u) => u.UpdateExpression)).toContain('REMOVE #token, #wait');
  });
});
