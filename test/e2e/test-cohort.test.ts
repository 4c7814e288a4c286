/**
 * The test cohort on the local runtime: the listener rule that sends the requests with the test header to the
 * new slot while production stays 100/0 on the old one, from "new tasks steady" until the first production
 * weight (or the configured step), and its removal on success, rollback and by the dead-execution path.
 * Every assertion reads the emulator (rules, their tags and forward targets, listener weights) and the lock.
 */
import { DescribeRulesCommand, DescribeTagsCommand, ElasticLoadBalancingV2Client, type Rule } from '@aws-sdk/client-elastic-load-balancing-v2';
import { describe, expect, it } from 'vitest';
import { fireAlarm, pushAndDeliver, readEndState, until } from '../../infra/local/demo';
import { clientConfig } from '../../infra/local/environment';
import type { LocalRuntime } from '../../infra/local/runtime';
import type { CanaryPlan } from '../../functions/core/plan';
import { testListenerOf, TestRuleTag } from '../../functions/core/test-cohort';
import { ErrorName } from '../../functions/core/errors';
import { useLocalRuntime } from './emulator';

const local = useLocalRuntime({ leaseMs: 50 });
const { start } = local;

const HEADER = { name: 'X-Cutover-Cohort', values: ['test'] };
/** A cohort step at weight 0 with a long bake (10 s at the runtime's time scale; promote ends it), then production weights. */
const PLAN: CanaryPlan = {
  steps: [
    { kind: 'setWeight', weight: 0 },
    { kind: 'bake', seconds: 10_000 },
    { kind: 'setWeight', weight: 50 },
    { kind: 'bake', seconds: 10_000 },
    { kind: 'setWeight', weight: 100 },
  ],
};

/** The non-default rules of a listener on the emulator, with their tags. */
async function rulesOn(rt: LocalRuntime, listenerArn: string): Promise<Array<Rule & { tags: Record<string, string> }>> {
  const elb = new ElasticLoadBalancingV2Client(clientConfig(rt.emulator.endpoint));
  try {
    const rules = ((await elb.send(new DescribeRulesCommand({ ListenerArn: listenerArn }))).Rules ?? []).filter((r) => !r.IsDefault);
    if (rules.length === 0) return [];
    const tags = (await elb.send(new DescribeTagsCommand({ ResourceArns: rules.map((r) => r.RuleArn!) }))).TagDescriptions ?? [];
    return rules.map((r) => ({ ...r, tags: Object.fromEntries((tags.find((t) => t.ResourceArn === r.RuleArn)?.Tags ?? []).map((t) => [t.Key!, t.Value!])) }));
  } finally {
    elb.destroy();
  }
}

const cohortRules = async (rt: LocalRuntime) => (await rulesOn(rt, testListenerOf(rt.env.service))).filter((r) => r.tags[TestRuleTag.ROLE] === 'test-cohort');

/** Waits until the execution bakes (on a token recorded on the lock) with `weight`% on the new slot. */
const bakingAt = (rt: LocalRuntime, execution: string, weight: number) =>
  until(async () => {
    const lock = await rt.ports.store.getLock(rt.env.service.name);
    return rt.sfn.waitingTasks().some((t) => t.execution === execution && t.state === 'Bake') && lock?.wait?.kind === 'bake' && lock.weights?.[lock.newSlot ?? 'green'] === weight;
  });

describe('a rollout with a test cohort', () => {
  it('creates the rule when the new tasks are steady, pointing at the new slot, with production still 100/0, and removes it before the first production weight', async () => {
    const rt = await start({ services: [{ service: { plan: PLAN, testTraffic: { header: HEADER, sourceCidrs: ['10.0.0.0/8'] } } }] });
    const { slots, name: service } = rt.env.service;
    const push = await pushAndDeliver(rt, 'v2');
    const name = push.executions[0]!;

    await bakingAt(rt, name, 0);
    const during = await cohortRules(rt);
    const lock = await rt.ports.store.getLock(service);
    expect(during).toHaveLength(1);
    const [rule] = during;
    expect(rule!.Conditions).toEqual([
      { Field: 'http-header', HttpHeaderConfig: { HttpHeaderName: 'X-Cutover-Cohort', Values: ['test'] } },
      { Field: 'source-ip', SourceIpConfig: { Values: ['10.0.0.0/8'] } },
    ]);
    expect(rule!.Actions?.[0]?.ForwardConfig?.TargetGroups?.map((t) => t.TargetGroupArn)).toEqual([slots.green.targetGroupArn]);
    expect(rule!.Priority).toBe('50000');
    expect(rule!.tags).toMatchObject({ [TestRuleTag.SERVICE]: service, [TestRuleTag.ROLLOUT]: name });
    expect((await readEndState(rt, rt.env.service)).weights).toEqual({ blue: 100, green: 0 });
    expect(lock?.testRule).toMatchObject({ ruleArn: rule!.RuleArn, priority: 50000, slot: 'green', targetGroupArn: slots.green.targetGroupArn });
    expect(lock?.testRule?.removedAt).toBeUndefined();
    // The console's decision and the status say it.
    const status = await rt.slack('status checkout');
    expect(status.body).toContain(
      `test cohort: header X-Cutover-Cohort: test and source 10.0.0.0/8 → green (rule priority 50000 on ${testListenerOf(rt.env.service)}); production: blue 100 / green 0`,
    );

    await rt.slack('promote checkout');
    await bakingAt(rt, name, 50);
    expect(await cohortRules(rt)).toEqual([]);
    expect((await readEndState(rt, rt.env.service)).weights).toEqual({ blue: 50, green: 50 });
    expect((await rt.ports.store.getLock(service))?.testRule?.removedAt).toBeDefined();

    await rt.slack('promote checkout');
    const execution = await rt.sfn.wait(name);
    expect(execution.endState).toMatch(/Rollout succeeded|Keep old slot warm/);
    const steps = await rt.ports.store.listSteps(service, name);
    expect(steps.find((s) => s.weights?.green === 50)?.decision).toContain('test cohort ended');
    const end = await readEndState(rt, rt.env.service);
    expect(end.weights).toEqual({ blue: 0, green: 100 });
    expect(await cohortRules(rt)).toEqual([]);
  });

  it('keeps the rule until the configured step, alongside the production weights before it', async () => {
    const rt = await start({ services: [{ service: { plan: PLAN, testTraffic: { header: HEADER, untilStep: 4 } } }] });
    const push = await pushAndDeliver(rt, 'v2');
    const name = push.executions[0]!;

    await bakingAt(rt, name, 0);
    await rt.slack('promote checkout');
    await bakingAt(rt, name, 50);
    expect(await cohortRules(rt)).toHaveLength(1);
    expect((await readEndState(rt, rt.env.service)).weights).toEqual({ blue: 50, green: 50 });

    await rt.slack('promote checkout');
    await rt.sfn.wait(name);
    expect(await cohortRules(rt)).toEqual([]);
    expect((await readEndState(rt, rt.env.service)).weights).toEqual({ blue: 0, green: 100 });
  });

  it('an alarm during the cohort rolls back and removes the rule', async () => {
    const rt = await start({ services: [{ service: { plan: PLAN, testTraffic: { header: HEADER } } }] });
    const push = await pushAndDeliver(rt, 'v2');
    const name = push.executions[0]!;
    await bakingAt(rt, name, 0);
    expect(await cohortRules(rt)).toHaveLength(1);

    await fireAlarm(rt, 'checkout-5xx', 'Threshold Crossed: 5xx count 42 > 10 from the test cohort');
    const execution = await rt.sfn.wait(name);

    const end = await readEndState(rt, rt.env.service);
    expect(execution.endState).toBe('Rolled back');
    expect(end.outcome).toBe('ROLLED_BACK');
    expect(end.weights).toEqual({ blue: 100, green: 0 });
    expect(end.lockHeld).toBe(false);
    expect(await cohortRules(rt)).toEqual([]);
  });

  it('a stopped execution mid-cohort is cleaned up by reconcile: rule gone, 100/0 on the retained slot, lock released', async () => {
    const rt = await start({ services: [{ service: { plan: PLAN, testTraffic: { header: HEADER } } }] });
    const push = await pushAndDeliver(rt, 'v2');
    const name = push.executions[0]!;
    await bakingAt(rt, name, 0);
    expect(await cohortRules(rt)).toHaveLength(1);

    expect(rt.sfn.stop(name)).toBe(true);
    await rt.settle();

    const end = await readEndState(rt, rt.env.service);
    expect(end.weights).toEqual({ blue: 100, green: 0 });
    expect(end.lockHeld).toBe(false);
    expect(await cohortRules(rt)).toEqual([]);
    const [record] = (await rt.ports.store.listHistory(rt.env.service.name, 10)).filter((h) => h.rolloutId === name);
    expect(record?.reason).toContain('test cohort rule removed');
  });

  it('a retry after a crash between CreateRule and the record finds the tagged rule instead of creating a second one', async () => {
    const rt = await start({ services: [{ service: { plan: PLAN, testTraffic: { header: HEADER } } }] });
    const store = rt.ports.store;
    const updateLock = store.updateLock.bind(store);
    let crashed = 0;
    // The first record of the rule fails as a throttled call would: the rule exists, the lock does not know it.
    store.updateLock = async (service, rolloutId, fields) => {
      if (fields.testRule && crashed === 0) {
        crashed++;
        throw Object.assign(new Error('Rate exceeded'), { name: ErrorName.AwsTransient });
      }
      return updateLock(service, rolloutId, fields);
    };
    const push = await pushAndDeliver(rt, 'v2');
    const name = push.executions[0]!;
    await bakingAt(rt, name, 0);

    const rules = await cohortRules(rt);
    expect(crashed).toBe(1);
    expect(rules).toHaveLength(1);
    expect((await store.getLock(rt.env.service.name))?.testRule?.ruleArn).toBe(rules[0]!.RuleArn);
    rt.sfn.stop(name);
    await rt.settle();
    expect(await cohortRules(rt)).toEqual([]);
  });
});

describe('listener-rule mode', () => {
  it('puts the test rule before the production rule, scoped by its conditions, and removes it on success', async () => {
    const rt = await start({ services: [{ listenerRule: { priority: 100, taken: [99, 50] }, service: { plan: PLAN, testTraffic: { header: HEADER } } }] });
    const push = await pushAndDeliver(rt, 'v2');
    const name = push.executions[0]!;
    await bakingAt(rt, name, 0);

    const [rule, ...others] = await cohortRules(rt);
    expect(others).toEqual([]);
    expect(rule!.Priority).toBe('98');
    expect(rule!.Conditions).toEqual([
      { Field: 'path-pattern', PathPatternConfig: { Values: ['/*'] } },
      { Field: 'http-header', HttpHeaderConfig: { HttpHeaderName: 'X-Cutover-Cohort', Values: ['test'] } },
    ]);
    expect(rule!.Actions?.[0]?.ForwardConfig?.TargetGroups?.map((t) => t.TargetGroupArn)).toEqual([rt.env.service.slots.green.targetGroupArn]);
    expect((await readEndState(rt, rt.env.service)).weights).toEqual({ blue: 100, green: 0 });

    await rt.slack('promote checkout');
    await bakingAt(rt, name, 50);
    await rt.slack('promote checkout');
    await rt.sfn.wait(name);
    expect(await cohortRules(rt)).toEqual([]);
    expect((await readEndState(rt, rt.env.service)).weights).toEqual({ blue: 0, green: 100 });
  });

  it('refuses at pre-flight, changing nothing, when no priority is free below the production rule', async () => {
    const rt = await start({ services: [{ listenerRule: { priority: 3, taken: [1, 2] }, service: { plan: PLAN, testTraffic: { header: HEADER } } }] });
    const before = await readEndState(rt, rt.env.service);
    const push = await pushAndDeliver(rt, 'v2');
    const execution = await rt.sfn.wait(push.executions[0]!);

    const end = await readEndState(rt, rt.env.service);
    expect(execution.endState).toBe('Rollout refused');
    expect(end.reason).toContain('no free priority below 3');
    expect(end.weights).toEqual({ blue: 100, green: 0 });
    expect(end.idleTaskDefinition).toBe(before.idleTaskDefinition);
    expect(await cohortRules(rt)).toEqual([]);
  });
});
