/**
 * The test cohort: before any production weight, requests that carry a given header (and/or come from given
 * source CIDRs) reach the new slot through an ALB listener rule, while production stays 100% on the old one.
 *
 * The rule lives from "new tasks steady" (check-steady creates it) until the first production weight, or a
 * configured step (shift removes it before that step's weights change), and is removed on success
 * (finalize), on rollback and by the dead-execution path (recovery). It is created after the writer's fence,
 * tagged with the service and the rollout at creation (one call: CreateRule with Tags), and recorded on the
 * lock: a retry after a crash between CreateRule and the record finds the tagged rule instead of creating a
 * second one, and every cleanup finds it by the record or by its tags. Deleting a missing rule is a no-op.
 *
 * Pure parts (validation, priority choice, conditions) first; then the few port calls that apply them.
 * @see https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-condition-types.html
 */
import type { CanaryPlan } from './plan';
import type { Slot } from './config';
import { PreflightFailedError } from './errors';
import type { LockRecord, LockStore, RuleCondition, RuleView, TestRuleRecord, Traffic } from './ports';

/** What a service asks for: the test cohort's conditions, where its rule goes, and when it ends. */
export interface TestTrafficConfig {
  /** Requests with this header (any of the values; `*` and `?` wildcards as ALB allows) reach the new slot. */
  readonly header?: { readonly name: string; readonly values: readonly string[] };
  /** Requests from these source CIDRs (IPv4 or IPv6) reach the new slot. With a header too, both must match. */
  readonly sourceCidrs?: readonly string[];
  /**
   * A separate listener (e.g. a test port) for the rule. @default the service's own listener (the listener of
   * its listener rule, in listener-rule mode)
   */
  readonly listenerArn?: string;
  /**
   * Index in `plan.steps` of the `setWeight` step before which the rule is removed.
   * @default the first `setWeight` step with a weight above 0 (the first production weight)
   */
  readonly untilStep?: number;
}

/** Tags every test rule carries: which service and rollout it belongs to. */
export const TestRuleTag = { SERVICE: 'cutover:service', ROLLOUT: 'cutover:rollout', ROLE: 'cutover:role' } as const;
export const TEST_RULE_ROLE = 'test-cohort';

/** ALB's limits for rules. @see https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-limits.html */
export const ALB = {
  MIN_PRIORITY: 1,
  MAX_PRIORITY: 50_000,
  /** Condition values per rule (across all its conditions). */
  MAX_CONDITION_VALUES: 5,
  MAX_HEADER_NAME: 40,
  MAX_VALUE: 128,
} as const;

/** What the validator says after a path. */
export const TestTrafficMessage = {
  NOT_OBJECT: 'must be an object',
  NO_CONDITION: 'must give a header, source CIDRs, or both (a rule without a condition would take every request)',
  HEADER_NAME: `must be an HTTP header name: 1-${ALB.MAX_HEADER_NAME} characters, letters, digits and !#$%&'*+-.^_\`|~`,
  HEADER_VALUES: `must be a list of 1-${ALB.MAX_CONDITION_VALUES} values, each 1-${ALB.MAX_VALUE} printable ASCII characters`,
  CIDRS: `must be a list of 1-${ALB.MAX_CONDITION_VALUES} CIDR blocks (10.0.0.0/8, 2001:db8::/32)`,
  TOO_MANY_VALUES: `header values and CIDRs together must be at most ${ALB.MAX_CONDITION_VALUES} (ALB's condition values per rule)`,
  LISTENER: 'must be the ARN of an ALB listener (not a listener rule)',
  UNTIL_STEP: 'must be the index of a setWeight step of the plan',
  NO_PRODUCTION_STEP: 'the plan has no setWeight step above 0: the test cohort would never end',
} as const;

/** An HTTP token (RFC 9110), which is what ALB accepts as a header name. */
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]{1,40}$/;
const PRINTABLE = /^[\x20-\x7e]{1,128}$/;
const IPV4_CIDR = /^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\/(3[0-2]|[12]?\d)$/;

/** True for an IPv6 CIDR block (`2001:db8::/32`): at most one `::`, 1-8 groups of 1-4 hex digits, prefix 0-128. */
function isIpv6Cidr(text: string): boolean {
  const [address, prefix, ...rest] = text.split('/');
  if (rest.length || !address || prefix === undefined || !/^(12[0-8]|1[01]\d|[1-9]?\d)$/.test(prefix)) return false;
  const halves = address.split('::');
  if (halves.length > 2) return false;
  const groups = halves.flatMap((h) => (h === '' ? [] : h.split(':')));
  if (!groups.every((g) => /^[0-9A-Fa-f]{1,4}$/.test(g))) return false;
  return halves.length === 2 ? groups.length <= 7 : groups.length === 8;
}

/** True for an IPv4 or IPv6 CIDR block as ALB's `source-ip` condition takes it. */
export const isCidr = (text: unknown): boolean => typeof text === 'string' && (IPV4_CIDR.test(text) || isIpv6Cidr(text));

/** An ARN that is not a listener rule's (the construct passes an ARN it only knows at deploy time as a placeholder ARN). */
const isListenerArn = (v: unknown): v is string => typeof v === 'string' && /^arn:aws[a-z-]*:/.test(v) && !v.includes(':listener-rule/') && !v.includes(':targetgroup/');

/** The step before which the rule is removed: the configured one, else the first production weight (undefined: none). */
export function cohortEndStep(testTraffic: Pick<TestTrafficConfig, 'untilStep'>, plan: CanaryPlan): number | undefined {
  if (testTraffic.untilStep !== undefined) return testTraffic.untilStep;
  const index = plan.steps.findIndex((s) => s.kind === 'setWeight' && s.weight > 0);
  return index < 0 ? undefined : index;
}

/**
 * Every problem of a `testTraffic` configuration, each with its path. `plan` is the service's (normalized)
 * plan, to check `untilStep` against. An empty array means it is valid.
 * @example validateTestTraffic({ header: { name: 'X-Canary', values: ['1'] } }, plan, 'services[0].testTraffic') // []
 */
export function validateTestTraffic(value: unknown, plan: CanaryPlan | undefined, path = 'testTraffic'): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`${path}: ${TestTrafficMessage.NOT_OBJECT}`];
  const t = value as Record<string, unknown>;
  const problems: string[] = [];
  let count = 0;
  if (t.header === undefined && t.sourceCidrs === undefined) problems.push(`${path}: ${TestTrafficMessage.NO_CONDITION}`);
  if (t.header !== undefined) {
    const header = t.header as Record<string, unknown> | null;
    if (typeof header !== 'object' || header === null) problems.push(`${path}.header: ${TestTrafficMessage.NOT_OBJECT}`);
    else {
      if (typeof header.name !== 'string' || !HEADER_NAME.test(header.name)) problems.push(`${path}.header.name: ${TestTrafficMessage.HEADER_NAME}`);
      const values = header.values;
      if (!Array.isArray(values) || values.length === 0 || values.length > ALB.MAX_CONDITION_VALUES || !values.every((v) => typeof v === 'string' && PRINTABLE.test(v)))
        problems.push(`${path}.header.values: ${TestTrafficMessage.HEADER_VALUES}`);
      else count += values.length;
    }
  }
  if (t.sourceCidrs !== undefined) {
    const cidrs = t.sourceCidrs;
    if (!Array.isArray(cidrs) || cidrs.length === 0 || cidrs.length > ALB.MAX_CONDITION_VALUES) problems.push(`${path}.sourceCidrs: ${TestTrafficMessage.CIDRS}`);
    else {
      cidrs.forEach((c, i) => {
        if (!isCidr(c)) problems.push(`${path}.sourceCidrs[${i}]: ${TestTrafficMessage.CIDRS}`);
      });
      count += cidrs.length;
    }
  }
  if (count > ALB.MAX_CONDITION_VALUES) problems.push(`${path}: ${TestTrafficMessage.TOO_MANY_VALUES}`);
  if (t.listenerArn !== undefined && !isListenerArn(t.listenerArn)) problems.push(`${path}.listenerArn: ${TestTrafficMessage.LISTENER}`);
  const steps = Array.isArray(plan?.steps) ? plan.steps : undefined;
  if (t.untilStep !== undefined) {
    const i = t.untilStep;
    if (typeof i !== 'number' || !Number.isInteger(i) || !steps || i < 0 || i >= steps.length || steps[i]?.kind !== 'setWeight') problems.push(`${path}.untilStep: ${TestTrafficMessage.UNTIL_STEP}`);
  } else if (steps && cohortEndStep({}, { steps }) === undefined) problems.push(`${path}: ${TestTrafficMessage.NO_PRODUCTION_STEP}`);
  return problems;
}

/** `arn:…:listener-rule/app/lb/1/2/3` → `arn:…:listener/app/lb/1/2` (the listener a rule belongs to). */
export function listenerOfRule(ruleArn: string): string {
  return ruleArn.replace(':listener-rule/', ':listener/').replace(/\/[^/]+$/, '');
}

export const isRuleArn = (arn: string): boolean => arn.includes(':listener-rule/');

/** Where the test rule goes: the configured test listener, else the service's listener (or its rule's listener). */
export function testListenerOf(service: { readonly listenerArn: string; readonly testTraffic?: Pick<TestTrafficConfig, 'listenerArn'> }): string {
  return service.testTraffic?.listenerArn ?? (isRuleArn(service.listenerArn) ? listenerOfRule(service.listenerArn) : service.listenerArn);
}

/**
 * The priority for the test rule: the highest free one below `below` (exclusive). Highest, so every rule the
 * listener already evaluates before the production traffic keeps its place and the test rule only takes
 * requests production would have taken; below the production rule's priority in listener-rule mode, because
 * ALB evaluates rules from the lowest priority up and the test rule must win over the production rule.
 * Undefined when no priority is free there.
 * @example freePriority([1, 2, 5], 5) // 4
 */
export function freePriority(taken: Iterable<number>, below: number = ALB.MAX_PRIORITY + 1): number | undefined {
  const used = new Set(taken);
  for (let p = Math.min(below - 1, ALB.MAX_PRIORITY); p >= ALB.MIN_PRIORITY; p--) if (!used.has(p)) return p;
  return undefined;
}

/** The cohort's own conditions: the header and/or the source CIDRs (ALB ANDs conditions, ORs values within one). */
export function cohortConditions(testTraffic: TestTrafficConfig): RuleCondition[] {
  const out: RuleCondition[] = [];
  if (testTraffic.header) out.push({ field: 'http-header', headerName: testTraffic.header.name, values: [...testTraffic.header.values] });
  if (testTraffic.sourceCidrs) out.push({ field: 'source-ip', values: [...testTraffic.sourceCidrs] });
  return out;
}

/** What to create: the listener, the priority, the conditions (in listener-rule mode, the production rule's too). */
export interface TestRulePlan {
  readonly listenerArn: string;
  readonly priority: number;
  readonly conditions: readonly RuleCondition[];
}

/**
 * Plans the test rule from the rules of its listener. In listener-rule mode on the production rule's own
 * listener, the rule also carries the production rule's conditions (a test request for another host or path
 * must not reach this service) and takes a priority below the production rule's. Throws PreflightFailed with
 * what to change when that cannot be done.
 */
export function planTestRule(
  service: { readonly name: string; readonly listenerArn: string; readonly testTraffic?: TestTrafficConfig },
  rules: readonly RuleView[],
  production?: RuleView,
): TestRulePlan {
  const testTraffic = service.testTraffic;
  if (!testTraffic) throw new PreflightFailedError(service.name, ['testTraffic is not configured']);
  const listenerArn = testListenerOf(service);
  const ruleMode = isRuleArn(service.listenerArn);
  if (ruleMode && !production) throw new PreflightFailedError(service.name, [`the production listener rule ${service.listenerArn} does not exist`]);
  const sameListener = ruleMode && listenerOfRule(service.listenerArn) === listenerArn;
  const own = cohortConditions(testTraffic);
  const scoped = ruleMode ? (production?.conditions ?? []).filter((c) => c.field !== 'http-header' || c.headerName?.toLowerCase() !== testTraffic.header?.name.toLowerCase()) : [];
  const conditions = [...scoped, ...own];
  const values = conditions.reduce((n, c) => n + c.values.length, 0);
  if (values > ALB.MAX_CONDITION_VALUES)
    throw new PreflightFailedError(service.name, [
      `testTraffic: the test rule needs ${values} condition values (the production rule's ${values - own.reduce((n, c) => n + c.values.length, 0)} and the cohort's), ALB allows ${ALB.MAX_CONDITION_VALUES} per rule: give fewer header values or CIDRs`,
    ]);
  const below = sameListener && typeof production?.priority === 'number' ? production.priority : undefined;
  const priority = freePriority(
    rules.flatMap((r) => (typeof r.priority === 'number' ? [r.priority] : [])),
    below,
  );
  if (priority === undefined)
    throw new PreflightFailedError(service.name, [
      below !== undefined
        ? `testTraffic: no free priority below ${below} (the production rule's) on ${listenerArn}: the test rule must be evaluated before the production rule; free one, or give testTraffic.listenerArn`
        : `testTraffic: no free priority on ${listenerArn}`,
    ]);
  return { listenerArn, priority, conditions };
}

/** The tags of the rollout's test rule. */
export const testRuleTags = (service: string, rolloutId: string): Record<string, string> => ({
  [TestRuleTag.SERVICE]: service,
  [TestRuleTag.ROLLOUT]: rolloutId,
  [TestRuleTag.ROLE]: TEST_RULE_ROLE,
});

/** `X-Canary: 1 or 2 and source 10.0.0.0/8`: the conditions as status and decisions show them. */
export function conditionsText(conditions: readonly RuleCondition[]): string {
  return conditions
    .map((c) => {
      const values = c.values.join(' or ');
      if (c.field === 'http-header') return `header ${c.headerName}: ${values}`;
      if (c.field === 'source-ip') return `source ${values}`;
      return `${c.field} ${values}`;
    })
    .join(' and ');
}

/** One line for status and decisions: where the rule is and what it sends to the new slot. */
export function testRuleText(rule: TestRuleRecord): string {
  return `test cohort: ${conditionsText(rule.conditions)} → ${rule.slot} (rule priority ${rule.priority} on ${rule.listenerArn})`;
}

/** The ports the cohort's writes use. */
export interface CohortDeps {
  readonly traffic: Pick<Traffic, 'describeRules' | 'ruleTags' | 'createRule' | 'deleteRule'>;
  readonly store: Pick<LockStore, 'updateLock'>;
}

/** What a cleanup needs (no rule is created). */
export interface CohortCleanupDeps {
  readonly traffic: Pick<Traffic, 'describeRules' | 'ruleTags' | 'deleteRule'>;
  readonly store: Pick<LockStore, 'updateLock'>;
}

/** The rules on `listenerArn` tagged as test rules of `service` (and of `rolloutId`, when given). */
export async function taggedTestRules(listenerArn: string, service: string, rolloutId: string | undefined, deps: Pick<CohortCleanupDeps, 'traffic'>): Promise<RuleView[]> {
  const rules = (await deps.traffic.describeRules(listenerArn)) ?? [];
  const candidates = rules.filter((r) => typeof r.priority === 'number');
  if (candidates.length === 0) return [];
  const tags = await deps.traffic.ruleTags(candidates.map((r) => r.arn));
  return candidates.filter((r) => {
    const t = tags[r.arn] ?? {};
    return t[TestRuleTag.ROLE] === TEST_RULE_ROLE && t[TestRuleTag.SERVICE] === service && (rolloutId === undefined || t[TestRuleTag.ROLLOUT] === rolloutId);
  });
}

/**
 * Makes sure the rollout's test rule exists and is recorded on the lock: the one recorded, else one tagged
 * with this rollout (a retry after a crash between CreateRule and the record), else a new one. Call it after
 * the rollout's fence. Idempotent.
 */
export async function ensureTestRule(
  service: { readonly name: string; readonly listenerArn: string; readonly testTraffic?: TestTrafficConfig },
  rollout: { readonly rolloutId: string; readonly slot: Slot; readonly targetGroupArn: string; readonly lock: LockRecord; readonly now: Date },
  deps: CohortDeps,
): Promise<TestRuleRecord> {
  if (rollout.lock.testRule && !rollout.lock.testRule.removedAt) return rollout.lock.testRule;
  const listenerArn = testListenerOf(service);
  let created: { arn: string; priority: number; conditions: readonly RuleCondition[] } | undefined;
  // A priority taken between the read and CreateRule (another service's rollout on a shared listener): read again.
  for (let attempt = 0; !created; attempt++) {
    const rules = await deps.traffic.describeRules(listenerArn);
    if (!rules) throw new PreflightFailedError(service.name, [`testTraffic: the listener ${listenerArn} does not exist`]);
    const found = (await taggedTestRules(listenerArn, service.name, rollout.rolloutId, deps))[0];
    if (found) {
      created = { arn: found.arn, priority: found.priority as number, conditions: found.conditions };
      break;
    }
    const production = isRuleArn(service.listenerArn)
      ? (listenerOfRule(service.listenerArn) === listenerArn ? rules : await deps.traffic.describeRules(listenerOfRule(service.listenerArn)))?.find((r) => r.arn === service.listenerArn)
      : undefined;
    const plan = planTestRule(service, rules, production);
    const arn = await deps.traffic.createRule({
      listenerArn,
      priority: plan.priority,
      conditions: plan.conditions,
      targetGroupArn: rollout.targetGroupArn,
      tags: testRuleTags(service.name, rollout.rolloutId),
    });
    if (arn) created = { arn, priority: plan.priority, conditions: plan.conditions };
    else if (attempt >= 2) throw new PreflightFailedError(service.name, [`testTraffic: priority ${plan.priority} on ${listenerArn} was taken by another rule three times in a row`]);
  }
  const record: TestRuleRecord = {
    ruleArn: created.arn,
    listenerArn,
    priority: created.priority,
    conditions: created.conditions.map(({ field, values, headerName }) => (headerName === undefined ? { field, values: [...values] } : { field, values: [...values], headerName })),
    slot: rollout.slot,
    targetGroupArn: rollout.targetGroupArn,
    createdAt: rollout.now.toISOString(),
  };
  await deps.store.updateLock(service.name, rollout.rolloutId, { testRule: record });
  return record;
}

/**
 * Removes the test rules of a service: the one recorded on `lock`, and every rule on the test listener tagged
 * for the service (only this rollout's, when `rolloutId` is given; a recovery removes any, since nobody else
 * may own the service then). Marks the record removed when `recordFor` holds the lock. Call it after a fence.
 * Returns the ARNs removed (a rule already gone counts as removed). Does nothing without `testTraffic`.
 */
export async function removeTestRules(
  service: { readonly name: string; readonly listenerArn: string; readonly testTraffic?: TestTrafficConfig },
  lock: Pick<LockRecord, 'testRule'> | undefined,
  options: { readonly rolloutId?: string; readonly recordFor?: string; readonly now: Date },
  deps: CohortCleanupDeps,
): Promise<string[]> {
  const recorded = lock?.testRule && !lock.testRule.removedAt ? lock.testRule : undefined;
  if (!service.testTraffic && !recorded) return [];
  const arns = new Set<string>(recorded ? [recorded.ruleArn] : []);
  const listeners = new Set([recorded?.listenerArn, service.testTraffic ? testListenerOf(service) : undefined].filter((l): l is string => !!l));
  for (const listenerArn of listeners) for (const r of await taggedTestRules(listenerArn, service.name, options.rolloutId, deps)) arns.add(r.arn);
  for (const arn of arns) await deps.traffic.deleteRule(arn);
  if (recorded && options.recordFor) await deps.store.updateLock(service.name, options.recordFor, { testRule: { ...recorded, removedAt: options.now.toISOString() } });
  return [...arns];
}

/**
 * Shift's part: before the weights of step `index` change, the rollout's test rule is removed when that step is
 * the cohort's end step or later (or moves all the traffic). Call it after the shift's fence. Returns what was
 * done for the step's decision (`; test cohort ended: …`), or undefined when nothing was.
 */
export async function endTestCohortBefore(
  service: { readonly name: string; readonly listenerArn: string; readonly plan: CanaryPlan; readonly testTraffic?: TestTrafficConfig },
  lock: Pick<LockRecord, 'testRule'>,
  step: { readonly index: number; readonly weight: number },
  rollout: { readonly rolloutId: string; readonly now: Date },
  deps: CohortCleanupDeps,
): Promise<string | undefined> {
  const recorded = lock.testRule && !lock.testRule.removedAt ? lock.testRule : undefined;
  if (!recorded) return undefined;
  const end = service.testTraffic ? cohortEndStep(service.testTraffic, service.plan) : undefined;
  if (end !== undefined && step.index < end && step.weight < 100) return undefined;
  await removeTestRules(service, lock, { rolloutId: rollout.rolloutId, recordFor: rollout.rolloutId, now: rollout.now }, deps);
  return `; test cohort ended: rule priority ${recorded.priority} removed from ${recorded.listenerArn}`;
}

/**
 * Pre-flight's part: whether the test rule can be made on this listener (it exists, a priority is free below
 * the production rule's in listener-rule mode, the conditions fit ALB's limit). Nothing is written.
 */
export async function testRuleProblems(
  service: { readonly name: string; readonly listenerArn: string; readonly testTraffic?: TestTrafficConfig },
  deps: Pick<CohortDeps, 'traffic'>,
): Promise<string[]> {
  if (!service.testTraffic) return [];
  const listenerArn = testListenerOf(service);
  const rules = await deps.traffic.describeRules(listenerArn);
  if (!rules) return [`testTraffic: the listener ${listenerArn} does not exist`];
  const production = isRuleArn(service.listenerArn)
    ? (listenerOfRule(service.listenerArn) === listenerArn ? rules : await deps.traffic.describeRules(listenerOfRule(service.listenerArn)))?.find((r) => r.arn === service.listenerArn)
    : undefined;
  try {
    planTestRule(service, rules, production);
    return [];
  } catch (error) {
    if (error instanceof PreflightFailedError) return [...error.problems];
    throw error;
  }
}

/**
 * The test cohort as `status` shows it (CLI, Slack): where its rule is, what it sends to the new slot, and that
 * production is still on the old slot; or that it ended. `productionWeights` is the listener as read now.
 * @example cohortStatusText(lock.testRule, 'blue 100 / green 0')
 * // 'header X-Cutover-Cohort: test → green (rule priority 50000 on arn:…:listener/app/…); production: blue 100 / green 0'
 */
export function cohortStatusText(rule: TestRuleRecord, productionWeights: string | undefined): string {
  if (rule.removedAt) return `ended at ${rule.removedAt} (rule priority ${rule.priority} removed from ${rule.listenerArn}); production: ${productionWeights ?? 'listener not found'}`;
  return `${conditionsText(rule.conditions)} → ${rule.slot} (rule priority ${rule.priority} on ${rule.listenerArn}); production: ${productionWeights ?? 'listener not found'}`;
}
