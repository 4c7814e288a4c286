import { describe, expect, it } from 'vitest';
import type { RolloutStatus } from '../../functions/read/status';
import { renderStatus } from '../../functions/read/view';
import { albCondition, conditionView, ruleView } from '../../functions/aws/traffic';
import { canary, type CanaryPlan } from '../../functions/core/plan';
import { withDefaults, validateServiceConfig, type ServiceConfigInput } from '../../functions/core/config';
import { ErrorName } from '../../functions/core/errors';
import type { LockRecord, RuleView, TestRuleRecord } from '../../functions/core/ports';
import {
  cohortEndStep,
  cohortStatusText,
  endTestCohortBefore,
  ensureTestRule,
  freePriority,
  isCidr,
  listenerOfRule,
  planTestRule,
  removeTestRules,
  testListenerOf,
  TestRuleTag,
  TestTrafficMessage,
  validateTestTraffic,
  type TestTrafficConfig,
} from '../../functions/core/test-cohort';

const LISTENER = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2';
const PRODUCTION_RULE = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee';
const TEST_LISTENER = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shop/50dc6c495c0c9188/0a0a0a0a0a0a0a0a';
const GREEN_TG = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/checkout-green/2';
const PLAN = canary([10, 50, 100], 60); // setWeight 10 at 0, bake, setWeight 50 at 2, bake, setWeight 100 at 4
const HEADER = { name: 'X-Cutover-Cohort', values: ['test'] };

describe('validateTestTraffic', () => {
  it.each<[string, unknown]>([
    ['a header', { header: HEADER }],
    ['source CIDRs, IPv4 and IPv6', { sourceCidrs: ['10.0.0.0/8', '2001:db8::/32'] }],
    ['a header and CIDRs within five values', { header: { name: 'x-canary', values: ['1', 'a*'] }, sourceCidrs: ['192.168.0.0/16', '::/0', '203.0.113.7/32'] }],
    ['a separate test listener', { header: HEADER, listenerArn: TEST_LISTENER }],
    ['a later setWeight step as the end', { header: HEADER, untilStep: 4 }],
  ])('accepts %s', (_what, value) => {
    expect(validateTestTraffic(value, PLAN, 'testTraffic')).toEqual([]);
  });

  it.each<[string, unknown, string[]]>([
    ['no condition', {}, [`testTraffic: ${TestTrafficMessage.NO_CONDITION}`]],
    ['not an object', 'X-Canary', [`testTraffic: ${TestTrafficMessage.NOT_OBJECT}`]],
    ['a header name with a space', { header: { name: 'X Canary', values: ['1'] } }, [`testTraffic.header.name: ${TestTrafficMessage.HEADER_NAME}`]],
    ['a header name over 40 characters', { header: { name: 'X'.repeat(41), values: ['1'] } }, [`testTraffic.header.name: ${TestTrafficMessage.HEADER_NAME}`]],
    ['no header values', { header: { name: 'X-Canary', values: [] } }, [`testTraffic.header.values: ${TestTrafficMessage.HEADER_VALUES}`]],
    ['a header value with a control character', { header: { name: 'X-Canary', values: ['a\nb'] } }, [`testTraffic.header.values: ${TestTrafficMessage.HEADER_VALUES}`]],
    ['a header value over 128 characters', { header: { name: 'X-Canary', values: ['v'.repeat(129)] } }, [`testTraffic.header.values: ${TestTrafficMessage.HEADER_VALUES}`]],
    ['a CIDR without a prefix', { sourceCidrs: ['10.0.0.1'] }, [`testTraffic.sourceCidrs[0]: ${TestTrafficMessage.CIDRS}`]],
    ['a CIDR out of range', { sourceCidrs: ['10.0.0.0/8', '300.1.1.1/32'] }, [`testTraffic.sourceCidrs[1]: ${TestTrafficMessage.CIDRS}`]],
    ['an IPv6 CIDR with two ::', { sourceCidrs: ['2001::db8::/32'] }, [`testTraffic.sourceCidrs[0]: ${TestTrafficMessage.CIDRS}`]],
    ['six values in all', { header: { name: 'X-Canary', values: ['1', '2', '3'] }, sourceCidrs: ['10.0.0.0/8', '10.1.0.0/16', '10.2.0.0/16'] }, [`testTraffic: ${TestTrafficMessage.TOO_MANY_VALUES}`]],
    ['a listener rule as the test listener', { header: HEADER, listenerArn: PRODUCTION_RULE }, [`testTraffic.listenerArn: ${TestTrafficMessage.LISTENER}`]],
    ['a bake as the end step', { header: HEADER, untilStep: 1 }, [`testTraffic.untilStep: ${TestTrafficMessage.UNTIL_STEP}`]],
    ['an end step past the plan', { header: HEADER, untilStep: 5 }, [`testTraffic.untilStep: ${TestTrafficMessage.UNTIL_STEP}`]],
    ['a fractional end step', { header: HEADER, untilStep: 2.5 }, [`testTraffic.untilStep: ${TestTrafficMessage.UNTIL_STEP}`]],
  ])('refuses %s', (_what, value, problems) => {
    expect(validateTestTraffic(value, PLAN, 'testTraffic')).toEqual(problems);
  });

  it('is part of the service validation, with the service path', () => {
    const service = withDefaults({
      name: 'checkout',
      cluster: 'shop',
      slots: { blue: { serviceName: 'b', targetGroupArn: GREEN_TG.replace('green', 'blue') }, green: { serviceName: 'g', targetGroupArn: GREEN_TG } },
      listenerArn: LISTENER,
      containerName: 'app',
      repository: 'checkout',
      alarms: ['checkout-5xx'],
      testTraffic: { header: { name: 'X Canary', values: ['1'] } },
    } as ServiceConfigInput);
    expect(validateServiceConfig(service, 'services[0]')).toEqual([`services[0].testTraffic.header.name: ${TestTrafficMessage.HEADER_NAME}`]);
  });
});

describe('cohortEndStep', () => {
  it('is the first setWeight step above 0 by default', () => {
    const plan: CanaryPlan = { steps: [{ kind: 'setWeight', weight: 0 }, { kind: 'pause' }, { kind: 'setWeight', weight: 20 }, { kind: 'setWeight', weight: 100 }] };
    expect(cohortEndStep({}, plan)).toBe(2);
  });

  it('is the configured step when given', () => {
    expect(cohortEndStep({ untilStep: 4 }, PLAN)).toBe(4);
  });
});

describe('isCidr', () => {
  it.each(['0.0.0.0/0', '255.255.255.255/32', '::/0', '2001:db8:0:0:0:0:0:1/128', 'fe80::1/64'])('accepts %s', (c) => expect(isCidr(c)).toBe(true));
  it.each(['10.0.0.0/33', '10.0.0/8', '01.2.3.4/8x', '2001:db8::/129', 'g::/8', '1:2:3:4:5:6:7:8:9/64', ''])('refuses %s', (c) => expect(isCidr(c)).toBe(false));
});

describe('freePriority', () => {
  it('takes the highest free priority on the listener', () => {
    expect(freePriority([])).toBe(50_000);
    expect(freePriority([50_000, 49_999])).toBe(49_998);
  });

  it('stays below the production rule in listener-rule mode', () => {
    expect(freePriority([1, 2, 5, 100], 5)).toBe(4);
    expect(freePriority([4, 5], 5)).toBe(3);
  });

  it('finds nothing when every priority below is taken', () => {
    expect(freePriority([1, 2, 3], 3)).toBeUndefined();
    expect(freePriority([], 1)).toBeUndefined();
  });
});

describe('listener of a rule and the test listener', () => {
  it('derives the listener from a listener rule ARN', () => {
    expect(listenerOfRule(PRODUCTION_RULE)).toBe(LISTENER);
  });

  it.each<[string, { listenerArn: string; testTraffic?: TestTrafficConfig }, string]>([
    ['the service listener', { listenerArn: LISTENER, testTraffic: { header: HEADER } }, LISTENER],
    ["the production rule's listener", { listenerArn: PRODUCTION_RULE, testTraffic: { header: HEADER } }, LISTENER],
    ['the configured test listener', { listenerArn: PRODUCTION_RULE, testTraffic: { header: HEADER, listenerArn: TEST_LISTENER } }, TEST_LISTENER],
  ])('puts the rule on %s', (_what, service, expected) => {
    expect(testListenerOf(service)).toBe(expected);
  });
});

const rule = (arn: string, priority: number | 'default', conditions: RuleView['conditions'] = []): RuleView => ({ arn, priority, conditions });

describe('planTestRule', () => {
  it('on a listener: the cohort conditions alone, at the highest free priority', () => {
    const plan = planTestRule({ name: 'checkout', listenerArn: LISTENER, testTraffic: { header: HEADER, sourceCidrs: ['10.0.0.0/8'] } }, [rule('d', 'default'), rule('a', 50_000)]);
    expect(plan).toEqual({
      listenerArn: LISTENER,
      priority: 49_999,
      conditions: [
        { field: 'http-header', headerName: 'X-Cutover-Cohort', values: ['test'] },
        { field: 'source-ip', values: ['10.0.0.0/8'] },
      ],
    });
  });

  it("in listener-rule mode: the production rule's conditions too, below its priority", () => {
    const path = { field: 'path-pattern', values: ['/checkout/*'] };
    const production = rule(PRODUCTION_RULE, 20, [path]);
    const plan = planTestRule({ name: 'checkout', listenerArn: PRODUCTION_RULE, testTraffic: { header: HEADER } }, [production, rule('x', 19), rule('y', 10)], production);
    expect(plan).toEqual({ listenerArn: LISTENER, priority: 18, conditions: [path, { field: 'http-header', headerName: 'X-Cutover-Cohort', values: ['test'] }] });
  });

  it('in listener-rule mode with no free priority below the production rule: pre-flight refuses, saying what to do', () => {
    const production = rule(PRODUCTION_RULE, 2);
    expect(() => planTestRule({ name: 'checkout', listenerArn: PRODUCTION_RULE, testTraffic: { header: HEADER } }, [production, rule('x', 1)], production)).toThrow(
      expect.objectContaining({ name: ErrorName.PreflightFailed, message: expect.stringContaining('no free priority below 2 (the production rule') }),
    );
  });

  it("refuses when the production rule's conditions and the cohort's exceed ALB's five values", () => {
    const production = rule(PRODUCTION_RULE, 20, [{ field: 'host-header', values: ['a.example.com', 'b.example.com', 'c.example.com'] }]);
    expect(() => planTestRule({ name: 'checkout', listenerArn: PRODUCTION_RULE, testTraffic: { header: { name: 'X-C', values: ['1', '2', '3'] } } }, [production], production)).toThrow(
      /needs 6 condition values/,
    );
  });

  it('on a separate test listener: any free priority there', () => {
    const production = rule(PRODUCTION_RULE, 2);
    const plan = planTestRule({ name: 'checkout', listenerArn: PRODUCTION_RULE, testTraffic: { header: HEADER, listenerArn: TEST_LISTENER } }, [rule('t', 50_000)], production);
    expect(plan.listenerArn).toBe(TEST_LISTENER);
    expect(plan.priority).toBe(49_999);
  });
});

/** A listener on which rules can be created and deleted, with their tags; and a lock that records. */
function fakes(initial: Array<RuleView & { tags?: Record<string, string> }> = []) {
  const rules = new Map(initial.map((r) => [r.arn, { ...r, tags: r.tags ?? {} }]));
  let lock: Pick<LockRecord, 'testRule'> = {};
  let n = 0;
  const created: string[] = [];
  return {
    rules,
    created,
    lock: () => lock,
    deps: {
      traffic: {
        describeRules: async () => [...rules.values()].map(({ tags: _t, ...r }) => r),
        ruleTags: async (arns: readonly string[]) => Object.fromEntries(arns.map((a) => [a, rules.get(a)?.tags ?? {}])),
        createRule: async (r: { priority: number; conditions: RuleView['conditions']; tags: Record<string, string> }): Promise<string | undefined> => {
          const arn = `${LISTENER.replace(':listener/', ':listener-rule/')}/r${++n}`;
          rules.set(arn, { arn, priority: r.priority, conditions: r.conditions, tags: r.tags });
          created.push(arn);
          return arn;
        },
        deleteRule: async (arn: string) => {
          rules.delete(arn);
        },
      },
      store: {
        updateLock: async (_s: string, _r: string, fields: { testRule?: TestRuleRecord }) => {
          lock = { ...lock, ...fields };
          return true;
        },
      },
    },
  };
}

const SERVICE = { name: 'checkout', listenerArn: LISTENER, plan: PLAN, testTraffic: { header: HEADER } };
const NOW = new Date('2026-12-04T10:00:00.000Z');

describe('ensureTestRule and the cleanups', () => {
  it('creates one tagged rule and records it; a second call finds the record and creates nothing', async () => {
    const f = fakes([{ arn: 'default', priority: 'default', conditions: [] }]);
    const first = await ensureTestRule(SERVICE, { rolloutId: 'r1', slot: 'green', targetGroupArn: GREEN_TG, lock: { ...lockOf(f) }, now: NOW }, f.deps);
    const again = await ensureTestRule(SERVICE, { rolloutId: 'r1', slot: 'green', targetGroupArn: GREEN_TG, lock: { ...lockOf(f) }, now: NOW }, f.deps);
    expect(f.created).toHaveLength(1);
    expect(again).toEqual(first);
    expect(f.rules.get(first.ruleArn)?.tags).toEqual({ [TestRuleTag.SERVICE]: 'checkout', [TestRuleTag.ROLLOUT]: 'r1', [TestRuleTag.ROLE]: 'test-cohort' });
    expect(f.lock().testRule).toMatchObject({ ruleArn: first.ruleArn, priority: 50_000, slot: 'green' });
  });

  it('after a crash between CreateRule and the record, finds the tagged rule instead of creating a second one', async () => {
    const f = fakes([
      {
        arn: 'left',
        priority: 50_000,
        conditions: [{ field: 'http-header', headerName: 'X-Cutover-Cohort', values: ['test'] }],
        tags: { [TestRuleTag.SERVICE]: 'checkout', [TestRuleTag.ROLLOUT]: 'r1', [TestRuleTag.ROLE]: 'test-cohort' },
      },
    ]);
    const found = await ensureTestRule(SERVICE, { rolloutId: 'r1', slot: 'green', targetGroupArn: GREEN_TG, lock: {} as LockRecord, now: NOW }, f.deps);
    expect(f.created).toEqual([]);
    expect(found.ruleArn).toBe('left');
    expect(f.lock().testRule?.ruleArn).toBe('left');
  });

  it('picks another priority when another writer took the first between the read and CreateRule', async () => {
    const f = fakes();
    const create = f.deps.traffic.createRule;
    let raced = false;
    f.deps.traffic.createRule = async (r) => {
      if (raced) return create(r);
      raced = true;
      f.rules.set('other', { arn: 'other', priority: r.priority, conditions: [], tags: {} });
      return undefined;
    };
    const made = await ensureTestRule(SERVICE, { rolloutId: 'r1', slot: 'green', targetGroupArn: GREEN_TG, lock: {} as LockRecord, now: NOW }, f.deps);
    expect(made.priority).toBe(49_999);
    expect(f.created).toHaveLength(1);
  });

  it('shift keeps the rule before the end step and removes it at the end step, marking the record', async () => {
    const f = fakes();
    await ensureTestRule({ ...SERVICE, testTraffic: { header: HEADER, untilStep: 2 } }, { rolloutId: 'r1', slot: 'green', targetGroupArn: GREEN_TG, lock: {} as LockRecord, now: NOW }, f.deps);
    const service = { ...SERVICE, testTraffic: { header: HEADER, untilStep: 2 } };
    expect(await endTestCohortBefore(service, f.lock(), { index: 0, weight: 10 }, { rolloutId: 'r1', now: NOW }, f.deps)).toBeUndefined();
    expect(f.rules.size).toBe(1);
    expect(await endTestCohortBefore(service, f.lock(), { index: 2, weight: 50 }, { rolloutId: 'r1', now: NOW }, f.deps)).toContain('test cohort ended');
    expect(f.rules.size).toBe(0);
    expect(f.lock().testRule?.removedAt).toBe(NOW.toISOString());
    expect(cohortStatusText(f.lock().testRule!, 'blue 50 / green 50')).toMatch(/^ended at 2026-12-04T10:00:00.000Z/);
  });

  it('a jump to 100% ends the cohort whatever the end step', async () => {
    const f = fakes();
    const service = { ...SERVICE, testTraffic: { header: HEADER, untilStep: 4 } };
    await ensureTestRule(service, { rolloutId: 'r1', slot: 'green', targetGroupArn: GREEN_TG, lock: {} as LockRecord, now: NOW }, f.deps);
    await endTestCohortBefore(service, f.lock(), { index: 4, weight: 100 }, { rolloutId: 'r1', now: NOW }, f.deps);
    expect(f.rules.size).toBe(0);
  });

  it("a rollback removes only its own rollout's rules; a recovery removes every test rule of the service; a missing rule counts as removed", async () => {
    const tags = (rollout: string, service = 'checkout') => ({ [TestRuleTag.SERVICE]: service, [TestRuleTag.ROLLOUT]: rollout, [TestRuleTag.ROLE]: 'test-cohort' });
    const f = fakes([
      { arn: 'mine', priority: 50_000, conditions: [], tags: tags('r1') },
      { arn: 'older', priority: 49_999, conditions: [], tags: tags('r0') },
      { arn: 'other-service', priority: 49_998, conditions: [], tags: tags('x1', 'payments') },
      { arn: 'untagged', priority: 10, conditions: [] },
    ]);
    const recorded = { ruleArn: 'gone-already', listenerArn: LISTENER, priority: 1, conditions: [], slot: 'green', targetGroupArn: GREEN_TG, createdAt: NOW.toISOString() } as const;
    expect(await removeTestRules(SERVICE, { testRule: recorded }, { rolloutId: 'r1', now: NOW }, f.deps)).toEqual(['gone-already', 'mine']);
    expect([...f.rules.keys()]).toEqual(['older', 'other-service', 'untagged']);
    expect(await removeTestRules(SERVICE, undefined, { now: NOW }, f.deps)).toEqual(['older']);
    expect([...f.rules.keys()]).toEqual(['other-service', 'untagged']);
  });

  it('does nothing for a service without a test cohort', async () => {
    const f = fakes([{ arn: 'untagged', priority: 10, conditions: [] }]);
    expect(await removeTestRules({ name: 'checkout', listenerArn: LISTENER }, undefined, { now: NOW }, f.deps)).toEqual([]);
  });
});

function lockOf(f: ReturnType<typeof fakes>): LockRecord {
  return f.lock() as LockRecord;
}

describe('status shows the cohort', () => {
  const AT = '2026-12-04T10:05:00.000Z';
  const status = (testRule: TestRuleRecord): RolloutStatus => ({
    service: 'checkout',
    at: AT,
    plan: PLAN.steps,
    weights: { blue: 100, green: 0 },
    alarms: [{ name: 'checkout-5xx', state: 'OK' }],
    recent: [],
    active: { rolloutId: 'r1', startedAt: NOW.toISOString(), stepIndex: 0, newSlot: 'green', state: 'Bake', testRule },
  });
  const rule: TestRuleRecord = {
    ruleArn: 'arn:rule',
    listenerArn: LISTENER,
    priority: 49_999,
    conditions: [
      { field: 'http-header', headerName: 'X-Cutover-Cohort', values: ['test', 'qa'] },
      { field: 'source-ip', values: ['10.0.0.0/8'] },
    ],
    slot: 'green',
    targetGroupArn: GREEN_TG,
    createdAt: NOW.toISOString(),
  };

  it('in the CLI: its conditions, slot, priority, listener and the production weights', () => {
    expect(renderStatus(status(rule))).toContain(`cohort   header X-Cutover-Cohort: test or qa and source 10.0.0.0/8 → green (rule priority 49999 on ${LISTENER}); production: blue 100 / green 0`);
  });

  it('once ended: when, and that the rule is gone', () => {
    const lines = renderStatus(status({ ...rule, removedAt: AT }));
    expect(lines).toContain(`cohort   ended at ${AT} (rule priority 49999 removed from ${LISTENER}); production: blue 100 / green 0`);
  });
});

describe('rules as the ELBv2 adapter reads and writes them', () => {
  it('reads priorities (the default rule as default) and conditions, keeping each read condition to copy it exactly', () => {
    const path = { Field: 'path-pattern', PathPatternConfig: { Values: ['/api/*'] } };
    const query = { Field: 'query-string', QueryStringConfig: { Values: [{ Key: 'v', Value: '2' }, { Value: 'beta' }] } };
    expect(ruleView({ RuleArn: 'a', Priority: '7', Conditions: [path, query] })).toEqual({
      arn: 'a',
      priority: 7,
      conditions: [
        { field: 'path-pattern', values: ['/api/*'], raw: path },
        { field: 'query-string', values: ['v=2', 'beta'], raw: query },
      ],
    });
    expect(ruleView({ RuleArn: 'd', Priority: 'default', IsDefault: true }).priority).toBe('default');
    expect(albCondition(conditionView(path))).toBe(path);
  });

  it("writes the cohort's own conditions as ALB takes them", () => {
    expect(albCondition({ field: 'http-header', headerName: 'X-C', values: ['1'] })).toEqual({ Field: 'http-header', HttpHeaderConfig: { HttpHeaderName: 'X-C', Values: ['1'] } });
    expect(albCondition({ field: 'source-ip', values: ['10.0.0.0/8'] })).toEqual({ Field: 'source-ip', SourceIpConfig: { Values: ['10.0.0.0/8'] } });
  });
});
