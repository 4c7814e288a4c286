/**
 * The test cohort's writes in the handlers, over mocked SDK clients: check-steady creates the tagged rule only
 * after its fence and records it on the lock; shift deletes it before the first production weight; rollback
 * deletes it (a rule already gone is fine). The lock item is kept as DynamoDB keeps it.
 */
import { CreateRuleCommand, DeleteRuleCommand, DescribeRulesCommand, DescribeTagsCommand, ModifyListenerCommand, ModifyRuleCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { createHandler as checkSteadyHandler } from '../../functions/check-steady/handler';
import { createHandler as shiftHandler } from '../../functions/shift/handler';
import { createHandler as rollbackHandler } from '../../functions/rollback/handler';
import { ErrorName } from '../../functions/core/errors';
import type { TestRuleRecord } from '../../functions/core/ports';
import type { RolloutState } from '../../functions/core/rollout';
import { ecsService } from '../fixtures/ecs';
import { GREEN_TG, LISTENER_ARN, ROLLOUT_ID, registeredState, serviceConfig, stepState } from '../fixtures/state';
import { LAMBDA_CONTEXT, NOW, aws, givenEcsService, givenListener, givenLockTable, lockItem, namedError, realDeps, resetAws, weightedForward, type Deps, type LockTable } from './harness';

const HEADER = { name: 'X-Cutover-Cohort', values: ['test'] };
const RULE_ARN = `${LISTENER_ARN.replace(':listener/', ':listener-rule/')}/0f0f0f0f0f0f0f0f`;
const service = serviceConfig({ testTraffic: { header: HEADER } });
const RECORD: TestRuleRecord = {
  ruleArn: RULE_ARN,
  listenerArn: LISTENER_ARN,
  priority: 50_000,
  conditions: [{ field: 'http-header', headerName: 'X-Cutover-Cohort', values: ['test'] }],
  slot: 'green',
  targetGroupArn: GREEN_TG,
  createdAt: NOW,
};

let deps: Deps;
let lock: LockTable;
/** ELB and lock writes in the order they were sent. */
const order = () => {
  const calls = [...aws.elb.calls(), ...aws.dynamo.commandCalls(UpdateCommand)] as unknown as Array<{
    args: [{ constructor: { name: string }; input: { UpdateExpression?: string } }];
    calledBefore(o: unknown): boolean;
  }>;
  return calls
    .filter((c) => !c.args[0].constructor.name.startsWith('Describe'))
    .sort((a, b) => (a.calledBefore(b) ? -1 : 1))
    .map((c) => (c.args[0].constructor.name === 'UpdateCommand' ? (c.args[0].input.UpdateExpression?.includes('testRule') ? 'record' : 'lock') : c.args[0].constructor.name.replace('Command', '')));
};

beforeEach(() => {
  resetAws();
  deps = realDeps();
  aws.elb.on(DescribeRulesCommand).resolves({ Rules: [{ RuleArn: `${RULE_ARN}-default`, Priority: 'default', IsDefault: true, Conditions: [] }] });
  aws.elb.on(DescribeTagsCommand).resolves({ TagDescriptions: [] });
  aws.elb.on(CreateRuleCommand).resolves({ Rules: [{ RuleArn: RULE_ARN }] });
  aws.elb.on(DeleteRuleCommand).resolves({});
  aws.elb.on(ModifyListenerCommand).resolves({});
  aws.elb.on(ModifyRuleCommand).resolves({});
  aws.ecs.on(UpdateServiceCommand).resolves({});
});

describe('check-steady with a test cohort', () => {
  const steadyState = (): RolloutState => registeredState({ service });

  it('creates the tagged rule after its fence, records it on the lock and says so in the decision', async () => {
    givenEcsService(ecsService('checkout-green', 8));
    lock = givenLockTable(lockItem());

    const steady = await checkSteadyHandler(() => deps)(steadyState(), LAMBDA_CONTEXT);

    expect(aws.elb.commandCalls(CreateRuleCommand).map((c) => c.args[0].input)).toEqual([
      {
        ListenerArn: LISTENER_ARN,
        Priority: 50_000,
        Conditions: [{ Field: 'http-header', HttpHeaderConfig: { HttpHeaderName: 'X-Cutover-Cohort', Values: ['test'] } }],
        Actions: [{ Type: 'forward', ForwardConfig: { TargetGroups: [{ TargetGroupArn: GREEN_TG, Weight: 1 }] } }],
        Tags: [
          { Key: 'cutover:service', Value: 'checkout' },
          { Key: 'cutover:rollout', Value: ROLLOUT_ID },
          { Key: 'cutover:role', Value: 'test-cohort' },
        ],
      },
    ]);
    expect(order().slice(0, 3)).toEqual(['lock', 'CreateRule', 'record']);
    expect(lock.item?.testRule).toMatchObject({ ruleArn: RULE_ARN, priority: 50_000, slot: 'green' });
    expect(steady.testRule?.ruleArn).toBe(RULE_ARN);
    expect(steady.decision).toContain(`test cohort: header X-Cutover-Cohort: test → green (rule priority 50000 on ${LISTENER_ARN}); production stays blue 100 / green 0`);
  });

  it('creates nothing when the rollout was aborted meanwhile', async () => {
    givenEcsService(ecsService('checkout-green', 8));
    lock = givenLockTable(lockItem({ abort: { error: ErrorName.AlarmFired, reason: 'checkout-5xx', at: NOW } }));

    await expect(checkSteadyHandler(() => deps)(steadyState(), LAMBDA_CONTEXT)).rejects.toMatchObject({ name: ErrorName.AlarmFired });
    expect(aws.elb.commandCalls(CreateRuleCommand)).toEqual([]);
  });

  it('creates nothing when another owner holds the service', async () => {
    givenEcsService(ecsService('checkout-green', 8));
    lock = givenLockTable(lockItem({ generation: 2 }));

    await expect(checkSteadyHandler(() => deps)(steadyState(), LAMBDA_CONTEXT)).rejects.toMatchObject({ name: ErrorName.LockLost });
    expect(aws.elb.commandCalls(CreateRuleCommand)).toEqual([]);
  });

  it('touches no rule while the new tasks are not steady', async () => {
    givenEcsService(ecsService('checkout-green', 8, { runningCount: 1 }));
    lock = givenLockTable(lockItem());

    const steady = await checkSteadyHandler(() => deps)(steadyState(), LAMBDA_CONTEXT);

    expect(steady.status).toBe('IN_PROGRESS');
    expect(aws.elb.calls()).toEqual([]);
  });
});

describe('shift with a test cohort', () => {
  it('keeps the rule through a weight-0 step, then deletes it before the first production weight', async () => {
    const plan = {
      steps: [
        { kind: 'setWeight', weight: 0 },
        { kind: 'bake', seconds: 60 },
        { kind: 'setWeight', weight: 10 },
        { kind: 'setWeight', weight: 100 },
      ],
    } as const;
    const cohortService = serviceConfig({ plan, testTraffic: { header: HEADER } });
    givenListener([weightedForward(100, 0)]);
    lock = givenLockTable(lockItem({ testRule: RECORD }));
    const at = (index: number) => stepState(index, { service: cohortService, cursor: { index, total: 4, step: plan.steps[index] } });

    const first = await shiftHandler(() => deps)(at(0), LAMBDA_CONTEXT);
    expect(aws.elb.commandCalls(DeleteRuleCommand)).toEqual([]);
    expect(first.decision).not.toContain('test cohort');

    const second = await shiftHandler(() => deps)(at(2), LAMBDA_CONTEXT);
    expect(aws.elb.commandCalls(DeleteRuleCommand).map((c) => c.args[0].input)).toEqual([{ RuleArn: RULE_ARN }]);
    expect(order().filter((o) => o === 'DeleteRule' || o === 'ModifyListener')).toEqual(['ModifyListener', 'DeleteRule', 'ModifyListener']);
    expect(second.decision).toBe(`Shift 10% to green: blue 90 / green 10; test cohort ended: rule priority 50000 removed from ${LISTENER_ARN}`);
    expect((lock.item?.testRule as TestRuleRecord | undefined)?.removedAt).toBe(NOW);
  });
});

describe('rollback with a test cohort', () => {
  it('deletes the recorded rule after the weights are back; a rule already gone counts as deleted', async () => {
    givenListener([weightedForward(100, 0)]);
    lock = givenLockTable(lockItem({ testRule: RECORD }));
    aws.elb.on(DeleteRuleCommand).rejects(namedError('RuleNotFoundException', 400));

    const result = await rollbackHandler(() => deps)(stepState(0, { service, error: { Error: ErrorName.AlarmFired, Cause: 'checkout-5xx' } }), LAMBDA_CONTEXT);

    expect(result.outcome).toBe('ROLLED_BACK');
    expect(result.decision).toContain('test cohort rule removed');
    expect(order().filter((o) => o === 'DeleteRule' || o === 'ModifyListener')).toEqual(['ModifyListener', 'DeleteRule']);
  });
});
