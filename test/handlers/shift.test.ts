import { DescribeListenersCommand, DescribeRulesCommand, ModifyListenerCommand, ModifyRuleCommand, type Action } from '@aws-sdk/client-elastic-load-balancing-v2';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { ErrorName } from '../../functions/core/errors';
import { recoveryId } from '../../functions/core/ownership';
import type { RolloutState } from '../../functions/core/rollout';
import { createHandler } from '../../functions/shift/handler';
import { BLUE_TG, GREEN_TG, LISTENER_ARN, LISTENER_RULE_ARN, OTHER_ROLLOUT_ID, ROLLOUT_ID, liveState, serviceConfig, stepState } from '../fixtures/state';
import {
  LAMBDA_CONTEXT,
  LEASE_UNTIL,
  NOW,
  TABLE,
  aws,
  fenceOf,
  fieldsSet,
  givenListener,
  givenLockTable,
  lockFences,
  lockItem,
  lockUpdates,
  namedError,
  realDeps,
  resetAws,
  slotWeights,
  totalAwsCalls,
  weightedForward,
  writes,
  type Deps,
  type LockTable,
} from './harness';

let deps: Deps;
let lock: LockTable;
const invoke = (state: RolloutState) => createHandler(() => deps)(state, LAMBDA_CONTEXT);

/** Default plan: 0 → 10%, 2 → 25%, 4 → 50%, 6 → 100%. */
const STEP_25 = 2;
const STEP_100 = 6;

const modifiedListener = () => aws.elb.commandCalls(ModifyListenerCommand).map((c) => c.args[0].input);

beforeEach(() => {
  resetAws();
  deps = realDeps();
  aws.elb.on(ModifyListenerCommand).resolves({});
  aws.elb.on(ModifyRuleCommand).resolves({});
  aws.dynamo.on(UpdateCommand).resolves({});
  // The rollout holds checkout's lock at the generation prepare took (liveState: 1), green at 10%.
  lock = givenLockTable(lockItem({ stepIndex: 0, weights: { blue: 90, green: 10 } }));
});

describe('shift handler', () => {
  it('sets the ForwardConfig weights to exactly blue 75 / green 25, keeping order and stickiness', async () => {
    givenListener([weightedForward(90, 10)]);

    const result = await invoke(stepState(STEP_25));

    expect(modifiedListener()).toEqual([
      {
        ListenerArn: LISTENER_ARN,
        DefaultActions: [
          {
            Type: 'forward',
            Order: 1,
            ForwardConfig: {
              TargetGroups: [
                { TargetGroupArn: BLUE_TG, Weight: 75 },
                { TargetGroupArn: GREEN_TG, Weight: 25 },
              ],
              TargetGroupStickinessConfig: { Enabled: false },
            },
          },
        ],
      },
    ]);
    expect(result).toEqual({ weights: { blue: 75, green: 25 }, at: NOW, decision: 'Shift 25% to green: blue 75 / green 25' });
  });

  it('proves it still owns the service, not aborted, right before it changes the weights', async () => {
    givenListener([weightedForward(90, 10)]);

    await invoke(stepState(STEP_25));

    expect(lockFences()).toEqual([fenceOf(ROLLOUT_ID, 1, { unlessAborted: true })]);
    expect(writes()).toEqual(['fence', 'weights', 'lock update', 'step', 'close lease']);
  });

  it('records the weights and the step index on the lock, if the lock is still ours', async () => {
    givenListener([weightedForward(90, 10)]);

    await invoke(stepState(STEP_25));

    const update = lockUpdates().find((u) => u.ConditionExpression === '#rid = :rid');
    expect(update).toMatchObject({ TableName: TABLE, Key: { pk: 'service#checkout', sk: 'lock' } });
    expect(update?.ExpressionAttributeValues?.[':rid']).toBe(ROLLOUT_ID);
    expect(fieldsSet(update!)).toEqual({ weights: { blue: 75, green: 25 }, stepIndex: STEP_25 });
    expect(lock.item).toMatchObject({ rolloutId: ROLLOUT_ID, generation: 1, leaseUntil: LEASE_UNTIL, weights: { blue: 75, green: 25 }, stepIndex: STEP_25 });
  });

  it.each([
    ['an alarm', { error: ErrorName.AlarmFired, reason: 'alarm checkout-5xx in ALARM: Threshold Crossed', at: '2026-11-24T10:19:58.000Z' }, 'alarm checkout-5xx in ALARM: Threshold Crossed'],
    ['an operator', { error: ErrorName.RolloutAborted, reason: 'rollback requested by <@U1>', at: '2026-11-24T10:19:58.000Z' }, 'rollout aborted: rollback requested by <@U1>'],
    ['ECS', { error: ErrorName.DeploymentFailed, reason: 'checkout-green: tasks failed to start', at: '2026-11-24T10:19:58.000Z' }, 'checkout-green: tasks failed to start'],
  ])("refuses with the abort's error when %s aborted the rollout meanwhile, moving no traffic", async (_by, abort, message) => {
    givenListener([weightedForward(90, 10)]);
    lock.item = lockItem({ stepIndex: 0, weights: { blue: 90, green: 10 }, abort });

    await expect(invoke(stepState(STEP_25))).rejects.toMatchObject({ name: abort.error, message });
    expect(modifiedListener()).toEqual([]);
    expect(writes()).toEqual(['fence']);
    expect(lock.item).toMatchObject({ weights: { blue: 90, green: 10 }, stepIndex: 0, abort });
  });

  it.each([
    ['another rollout holds the lock', () => lockItem({ rolloutId: OTHER_ROLLOUT_ID, generation: 2 }), `${OTHER_ROLLOUT_ID} at generation 2`],
    ['a recovery took the lock over', () => lockItem({ rolloutId: recoveryId(ROLLOUT_ID), generation: 2 }), `${recoveryId(ROLLOUT_ID)} at generation 2`],
  ])('refuses with LockLost when %s, moving no traffic', async (_case, holder, heldBy) => {
    givenListener([weightedForward(90, 10)]);
    lock.item = holder();

    await expect(invoke(stepState(STEP_25))).rejects.toMatchObject({ name: ErrorName.LockLost, message: `rollout ${ROLLOUT_ID} no longer holds the lock of checkout (held by ${heldBy})` });
    expect(modifiedListener()).toEqual([]);
    expect(writes()).toEqual(['fence']);
  });

  it('turns a plain TargetGroupArn forward into a weighted ForwardConfig', async () => {
    givenListener([{ Type: 'forward', TargetGroupArn: BLUE_TG }]);

    await invoke(stepState(STEP_25));

    const [action] = modifiedListener()[0]!.DefaultActions!;
    expect(action).not.toHaveProperty('TargetGroupArn');
    expect(slotWeights([action!])).toEqual({ blue: 75, green: 25 });
  });

  it('keeps an authentication action before the forward exactly as it was', async () => {
    const authenticate: Action = {
      Type: 'authenticate-cognito',
      Order: 1,
      AuthenticateCognitoConfig: { UserPoolArn: 'arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_abc', UserPoolClientId: 'client', UserPoolDomain: 'shop' },
    };
    givenListener([authenticate, { ...weightedForward(100, 0), Order: 2 }]);

    await invoke(stepState(STEP_25));

    const actions = modifiedListener()[0]!.DefaultActions!;
    expect(actions[0]).toEqual(authenticate);
    expect(actions[1]).toMatchObject({ Type: 'forward', Order: 2 });
    expect(slotWeights(actions)).toEqual({ blue: 75, green: 25 });
  });

  it('modifies the rule, not the listener, for a listener-rule ARN', async () => {
    aws.elb.on(DescribeRulesCommand).resolves({
      Rules: [{ RuleArn: LISTENER_RULE_ARN, Priority: '10', Conditions: [{ Field: 'path-pattern', Values: ['/checkout/*'] }], Actions: [weightedForward(100, 0)] }],
    });

    await invoke(stepState(STEP_25, { service: serviceConfig({ listenerArn: LISTENER_RULE_ARN }) }));

    expect(aws.elb).toHaveReceivedCommandExactlyOnceWith(DescribeRulesCommand, { RuleArns: [LISTENER_RULE_ARN] });
    expect(aws.elb).toHaveReceivedCommandTimes(ModifyRuleCommand, 1);
    const input = aws.elb.commandCalls(ModifyRuleCommand)[0]!.args[0].input;
    expect(input.RuleArn).toBe(LISTENER_RULE_ARN);
    expect(slotWeights(input.Actions)).toEqual({ blue: 75, green: 25 });
    expect(aws.elb).toHaveReceivedCommandTimes(ModifyListenerCommand, 0);
    expect(aws.elb).toHaveReceivedCommandTimes(DescribeListenersCommand, 0);
  });

  it('moves all traffic to green on the last step', async () => {
    givenListener([weightedForward(50, 50)]);

    const result = await invoke(stepState(STEP_100));

    expect(slotWeights(modifiedListener()[0]!.DefaultActions)).toEqual({ blue: 0, green: 100 });
    expect(result.weights).toEqual({ blue: 0, green: 100 });
  });

  it('shifts toward blue when blue is the new slot', async () => {
    givenListener([weightedForward(0, 100)]);

    await invoke(stepState(STEP_25, { live: liveState({ liveSlot: 'green', idleSlot: 'blue', weights: { blue: 0, green: 100 } }) }));

    expect(slotWeights(modifiedListener()[0]!.DefaultActions)).toEqual({ blue: 25, green: 75 });
  });

  it('sends the same absolute weights when the same step runs twice', async () => {
    givenListener([weightedForward(90, 10)]);
    await invoke(stepState(STEP_25));
    givenListener(modifiedListener()[0]!.DefaultActions!);

    await invoke(stepState(STEP_25));

    const [first, second] = modifiedListener();
    expect(second).toEqual(first);
  });

  it('fails with InvalidInput before any AWS call when the step is a bake', async () => {
    await expect(invoke(stepState(1))).rejects.toMatchObject({ name: ErrorName.InvalidInput, problems: ['cursor.step: must be a setWeight step'] });
    expect(totalAwsCalls()).toBe(0);
  });

  it('surfaces a throttled ModifyListener as AwsTransient, recording no weights', async () => {
    givenListener([weightedForward(90, 10)]);
    aws.elb.on(ModifyListenerCommand).rejects(namedError('Throttling', 400, 'Rate exceeded'));

    await expect(invoke(stepState(STEP_25))).rejects.toMatchObject({ name: ErrorName.AwsTransient });
    expect(writes().filter((w) => w !== 'weights')).toEqual(['fence']);
    expect(lock.item).toMatchObject({ weights: { blue: 90, green: 10 }, stepIndex: 0 });
  });
});
