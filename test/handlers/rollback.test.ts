import { ServerException, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { DescribeRulesCommand, ModifyListenerCommand, ModifyRuleCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { DeleteCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { ErrorName } from '../../functions/core/errors';
import type { RolloutState, StateError } from '../../functions/core/rollout';
import { createHandler } from '../../functions/rollback/handler';
import {
  CLUSTER,
  IMAGE_URI,
  LISTENER_ARN,
  LISTENER_RULE_ARN,
  NEW_TD,
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
  NOW,
  aws,
  conditionFailed,
  givenListener,
  historyWrites,
  lockReleases,
  namedError,
  realDeps,
  releaseOf,
  resetAws,
  sdkError,
  slotWeights,
  weightedForward,
  type Deps,
} from './harness';

const ALARM_ERROR: StateError = { Error: 'AlarmFired', Cause: 'alarm checkout-5xx in ALARM: Threshold Crossed: 1 out of the last 1 datapoints [42.0] was greater than the threshold (5.0)' };

let deps: Deps;
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
  aws.dynamo.on(DeleteCommand).resolves({});
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
    expect(result).toEqual({
      outcome: 'ROLLED_BACK',
      weights: { blue: 100, green: 0 },
      reason: `AlarmFired: ${ALARM_ERROR.Cause}`,
      restoredAt: NOW,
      decision: `rolled back: blue 100% on checkout:7; green back on checkout:7 at 0 tasks. Reason: AlarmFired: ${ALARM_ERROR.Cause}`,
    });
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

  it('gives the same calls and end state when run twice', async () => {
    const first = await invoke(failedAt25());
    const once = sent();
    resetAws();
    givenListener([weightedForward(100, 0)]);
    aws.elb.on(ModifyListenerCommand).resolves({});
    aws.ecs.on(UpdateServiceCommand).resolves({});
    aws.dynamo.on(UpdateCommand).resolves({});
    aws.dynamo.on(DeleteCommand).rejects(conditionFailed()); // released by the first run

    const second = await invoke(failedAt25());

    expect(second).toEqual(first);
    expect(sent()).toEqual(once);
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

  it('only releases the lock and records the failure when prepare never finished', async () => {
    const result = await invoke({ ...rolloutInput(), error: { Error: 'AwsTransient', Cause: 'ecs:DescribeServices failed transiently' } });

    expect(result).toEqual({
      outcome: 'FAILED',
      reason: 'AwsTransient: ecs:DescribeServices failed transiently',
      decision: 'failed before any change: AwsTransient: ecs:DescribeServices failed transiently',
    });
    expect(lockReleases()).toEqual([releaseOf(ROLLOUT_ID)]);
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
    aws.dynamo.on(UpdateCommand).rejects(namedError('ThrottlingException', 400, 'Rate exceeded'));

    await expect(invoke(failedAt25())).rejects.toMatchObject({ name: ErrorName.AwsTransient, message: expect.stringContaining('elasticloadbalancing:ModifyListener') });
    expect(lockReleases()).toEqual([]);
    // Both said in the log (then the adapter logs the error it returns to the state machine).
    expect(deps.log.lines.filter((l) => l.level === 'error').map((l) => l.message).slice(0, 2)).toEqual(['rollback failure not recorded', 'rollback did not complete']);
  });
});
