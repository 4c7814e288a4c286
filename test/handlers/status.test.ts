/**
 * `cutover status --stack`: the status read over the real AWS adapters (aws-sdk-client-mock): the lock,
 * the history, the listener's weights, the alarms, and the execution's progress from its Step Functions
 * history; read-only.
 */
import { GetExecutionHistoryCommand, SFNClient, ExecutionDoesNotExist } from '@aws-sdk/client-sfn';
import { DeleteCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { awsExecutionReader } from '../../bin/aws-target';
import { readStatus, watchStep } from '../../functions/read/status';
import { renderStatus } from '../../functions/read/view';
import { ROLLOUT_ID, serviceConfig } from '../fixtures/state';
import { NOW, STATE_MACHINE_ARN, aws, givenAlarmStates, givenListener, givenLock, lockItem, realDeps, released, resetAws, sdkError, weightedForward, type Deps } from './harness';

let deps: Deps;
const later = (seconds: number) => new Date(Date.parse(NOW) + seconds * 1000).toISOString();
const reader = () => awsExecutionReader(STATE_MACHINE_ARN, new SFNClient({ region: 'us-east-1' }));

beforeEach(() => {
  resetAws();
  deps = realDeps();
  givenAlarmStates({ 'checkout-5xx': 'OK', 'checkout-p99-latency': 'OK' });
});

describe('status over AWS', () => {
  it('reads the rollout in progress: its step and bake, the weights, the alarms, the newest decision and the console link', async () => {
    givenLock(lockItem({ stepIndex: 3, weights: { blue: 75, green: 25 }, wait: { kind: 'bake', since: later(-120), until: later(180) }, taskToken: 'token' }));
    givenListener([weightedForward(75, 25)]);
    aws.dynamo
      .on(QueryCommand)
      .resolves({ Items: [{ pk: 'service#checkout', sk: `rollout#x#${ROLLOUT_ID}`, service: 'checkout', rolloutId: ROLLOUT_ID, startedAt: later(-500), outcome: 'RUNNING' }] });
    aws.sfn.on(GetExecutionHistoryCommand).resolves({
      events: [
        { type: 'TaskStateEntered', id: 40, timestamp: new Date(), stateEnteredEventDetails: { name: 'Bake' } },
        {
          type: 'TaskStateExited',
          id: 39,
          timestamp: new Date(),
          stateExitedEventDetails: { name: 'Check alarms', output: JSON.stringify({ alarms: { decision: 'before step 4/7: checkout-5xx OK, checkout-p99-latency OK' } }) },
        },
      ],
    });

    const status = await readStatus(serviceConfig(), { ...deps, executions: reader(), executionUrl: (id) => `https://console.example/${id}` });

    expect(status).toMatchObject({
      service: 'checkout',
      at: NOW,
      weights: { blue: 75, green: 25 },
      alarms: [
        { name: 'checkout-5xx', state: 'OK' },
        { name: 'checkout-p99-latency', state: 'OK' },
      ],
      active: { rolloutId: ROLLOUT_ID, stepIndex: 3, newSlot: 'green', state: 'Bake', wait: { kind: 'bake' }, executionUrl: `https://console.example/${ROLLOUT_ID}` },
      decision: { state: 'Check alarms', text: 'before step 4/7: checkout-5xx OK, checkout-p99-latency OK' },
      recent: [{ rolloutId: ROLLOUT_ID, outcome: 'RUNNING' }],
    });
    expect(aws.sfn.commandCalls(GetExecutionHistoryCommand)[0]!.args[0].input).toMatchObject({
      executionArn: `arn:aws:states:us-east-1:123456789012:execution:cutover-rollout:${ROLLOUT_ID}`,
      reverseOrder: true,
    });
    expect(renderStatus(status, { barWidth: 10 })[1]).toBe('progress ████▉·····  step 4/7 Bake 5m: 3m left');
    expect(aws.dynamo).toHaveReceivedCommandTimes(UpdateCommand, 0);
    expect(aws.dynamo).toHaveReceivedCommandTimes(PutCommand, 0);
    expect(aws.dynamo).toHaveReceivedCommandTimes(DeleteCommand, 0);
  });

  it('reads an idle service with its last result, and an execution Step Functions no longer knows', async () => {
    // The lock item outlives its holders: free, it keeps only its generation and the last lease.
    givenLock(released(lockItem({ generation: 3, leaseUntil: later(-60) })));
    givenListener([weightedForward(0, 100)]);
    aws.dynamo.on(QueryCommand).resolves({
      Items: [{ pk: 'service#checkout', sk: 'rollout#1', service: 'checkout', rolloutId: ROLLOUT_ID, startedAt: later(-900), endedAt: later(-60), outcome: 'SUCCEEDED', reason: 'all steps passed' }],
    });
    aws.sfn.on(GetExecutionHistoryCommand).rejects(sdkError(ExecutionDoesNotExist, 'no such execution'));

    const status = await readStatus(serviceConfig(), { ...deps, executions: reader() });
    const shown = watchStep(undefined, status, false);

    expect(status.active).toBeUndefined();
    expect(status.decision).toBeUndefined();
    expect(shown).toMatchObject({ done: true, exitCode: 0, view: { ended: { rolloutId: ROLLOUT_ID, outcome: 'SUCCEEDED' } } });
  });
});
