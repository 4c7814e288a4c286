import {
  DescribeListenersCommand,
  DescribeRulesCommand,
  ModifyListenerCommand,
  ModifyRuleCommand,
  type Action,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { ErrorName } from '../../functions/core/errors';
import type { RolloutState } from '../../functions/core/rollout';
import { createHandler } from '../../functions/shift/handler';
import { BLUE_TG, GREEN_TG, LISTENER_ARN, LISTENER_RULE_ARN, ROLLOUT_ID, liveState, serviceConfig, stepState } from '../fixtures/state';
import {
  LAMBDA_CONTEXT,
  NOW,
  TABLE,
  aws,
  fieldsSet,
  givenListener,
  lockUpdates,
  namedError,
  realDeps,
  resetAws,
  slotWeights,
  totalAwsCalls,
  weightedForward,
  type Deps,
} from './harness';

let deps: Deps;
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

  it('records the weights and the step index on the lock, if the lock is still ours', async () => {
    givenListener([weightedForward(90, 10)]);

    await invoke(stepState(STEP_25));

    const [update] = lockUpdates();
    expect(update).toMatchObject({ TableName: TABLE, Key: { pk: 'service#checkout', sk: 'lock' }, ConditionExpression: '#rid = :rid' });
    expect(update?.ExpressionAttributeValues?.[':rid']).toBe(ROLLOUT_ID);
    expect(fieldsSet(update!)).toEqual({ weights: { blue: 75, green: 25 }, stepIndex: STEP_25 });
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
    expect(lockUpdates()).toEqual([]);
  });
});
