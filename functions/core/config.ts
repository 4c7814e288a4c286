/**
 * A managed service's rollout configuration, as the functions receive it (plain JSON, ARNs resolved).
 *
 * The construct builds it from typed CDK props; the local runtime builds it from the emulator's resources.
 */
import { RE2JS, RE2JSException } from 're2js';
import { InvalidConfigError } from './errors';
import { DEFAULT_PLAN, normalizePlan, validatePlan, type CanaryPlan } from './plan';
import { historyBudgetProblem } from './history-budget';
import { hooksWithDefaults, validateHooks, type HooksConfig, type HooksConfigInput } from './hooks';
import { validateTestTraffic, type TestTrafficConfig } from './test-cohort';
import { analysisProblems, MAX_BAKE_EXTENSIONS, resolvedAnalysis, type AnalysisConfig } from './analysis';

/** The two slots of a service. */
export const SLOTS = ['blue', 'green'] as const;
export type Slot = (typeof SLOTS)[number];

/** The other slot. */
export const otherSlot = (slot: Slot): Slot => (slot === 'blue' ? 'green' : 'blue');

/** One slot: an ECS service and the target group its tasks register with. */
export interface SlotConfig {
  /** ECS service name (not ARN). */
  readonly serviceName: string;
  /** Target group ARN of that service. */
  readonly targetGroupArn: string;
}

/**
 * Who may steer a service from Slack. A command is allowed when the channel is listed (or no channel is
 * listed) and the user is listed (or no user is listed); with neither list, chat commands are off.
 */
export interface ChatAccess {
  /** Slack channel IDs (`C0123ABCD`) the commands may come from. */
  readonly channels?: readonly string[];
  /** Slack user IDs (`U0123ABCD`) who may send them. */
  readonly users?: readonly string[];
}

/** How long things may take; all in seconds. */
export interface Timings {
  /**
   * How long the old slot stays warm (at its desired count) after the new slot takes 100%, so that a
   * rollback after completion is instant. Then it is scaled to zero; its revision stays registered.
   * @default 900
   */
  readonly rollbackWindowSeconds: number;
  /** Seconds between two steady-state checks of the new slot. @default 15 */
  readonly steadyPollSeconds: number;
  /** Steady-state checks before the deployment counts as failed. @default 40 (10 minutes at 15 s) */
  readonly steadyMaxChecks: number;
}

export const DEFAULT_TIMINGS: Timings = { rollbackWindowSeconds: 900, steadyPollSeconds: 15, steadyMaxChecks: 40 };

/** A service managed by Cutover. */
export interface ServiceConfig {
  /** Name operators use (`/cutover status checkout`): letters, digits, `-`, `_`; 1..40 characters. */
  readonly name: string;
  /** ECS cluster name or ARN. */
  readonly cluster: string;
  /** The two slots. */
  readonly slots: { readonly blue: SlotConfig; readonly green: SlotConfig };
  /** ARN of the listener whose default action forwards to both target groups, or of a listener rule. */
  readonly listenerArn: string;
  /** Name of the container whose image is replaced. */
  readonly containerName: string;
  /** ECR repository name whose pushes roll out to this service. */
  readonly repository: string;
  /** The canary plan. */
  readonly plan: CanaryPlan;
  /** CloudWatch alarm names watched during the rollout; any in ALARM aborts it. */
  readonly alarms: readonly string[];
  readonly timings: Timings;
  /** Who may use `/cutover` on this service. @default nobody (chat commands off) */
  readonly chat?: ChatAccess;
  /**
   * What a push does while a rollout of this service is in flight: `supersede` rolls the running one back
   * cleanly and rolls out the newest image; `queue` waits and runs in push order; `reject` refuses it.
   * @default 'supersede'
   */
  readonly concurrency?: ConcurrencyPolicy;
  /**
   * Only pushed tags matching this roll out: a glob (`v*`, `main-*`) or a regex between slashes
   * (`/^release-\d+$/`) in RE2 syntax, which matches in linear time (no backreferences, no lookaround).
   * A push without a tag never matches a filter.
   * @default - every push of the repository
   */
  readonly tagFilter?: string;
  /** Refuse images whose ECR scan has a finding at or above this severity. @default - no scan gate */
  readonly imageScan?: ImageScanGate;
  /** Revisions kept registered besides the live and retained ones; older ones are deregistered after a success. @default 5 */
  readonly keepRevisions?: number;
  /** Adopt changes made to the live slot outside Cutover instead of refusing to roll out. @default false */
  readonly adoptDrift?: boolean;
  /**
   * Lifecycle hooks: user Lambda functions run at named stages of a rollout, each on a task token (see
   * `core/hooks.ts`). @default - no hooks
   */
  readonly hooks?: HooksConfig;
  /**
   * A test cohort before any production weight: once the new tasks are steady, an ALB listener rule sends the
   * requests with a header (and/or from source CIDRs) to the new slot while production stays 100% on the old
   * one, until the first production weight or `untilStep` (see `core/test-cohort.ts`). @default - no test cohort
   */
  readonly testTraffic?: TestTrafficConfig;
  /**
   * Canary-vs-stable analysis: while the canary takes traffic, rollout-scoped CloudWatch metric-math alarms
   * compare the new slot's target group with the old slot's (5xx rate, p99 latency, your own checks); one
   * going to ALARM rolls back through the alarm path (see `core/analysis.ts`). @default - no analysis
   */
  readonly analysis?: AnalysisConfig;
}

export const CONCURRENCY_POLICIES = ['supersede', 'queue', 'reject'] as const;
export type ConcurrencyPolicy = (typeof CONCURRENCY_POLICIES)[number];

/** ECR scan severities, lowest first. */
export const SCAN_SEVERITIES = ['INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const;
export type ScanSeverity = (typeof SCAN_SEVERITIES)[number];

export const DEFAULT_KEEP_REVISIONS = 5;

/**
 * Compiled tag filters by their text: the start function matches every push against every filter of the
 * repository, and compiling is the expensive part. Filters come from the configuration, so there are few;
 * the cap only keeps a caller that makes up filters from growing it without end.
 */
const compiledFilters = new Map<string, RE2JS>();
const COMPILED_FILTERS_CAP = 256;

/** Escapes the characters that mean something in RE2 syntax (the same set as in a JavaScript regex). */
const escapeRe2 = (text: string): string => text.replace(/[.+^${}()|[\]\\]/g, '\\$&');

/** True if the filter is a regex (`/…/`) rather than a glob; `//` is a glob that matches itself. */
const isRegexFilter = (filter: string): boolean => filter.length > 2 && filter.startsWith('/') && filter.endsWith('/');

/**
 * The filter as a compiled RE2 program: a `/regex/` as written (unanchored, like `RegExp.test`), a glob
 * anchored at both ends with `*` as `.*` and `?` as `.`. RE2 matches in time linear in the tag, whatever
 * the pattern, so a filter cannot hang the start function (JavaScript's backtracking `RegExp` takes
 * exponential time on `/^(a+)+$/`).
 * @see https://github.com/google/re2/wiki/Syntax
 * @throws RE2JSException if the regex is not valid RE2 syntax (a glob always is).
 */
function compileTagFilter(filter: string): RE2JS {
  const cached = compiledFilters.get(filter);
  if (cached) return cached;
  const pattern = isRegexFilter(filter) ? filter.slice(1, -1) : `^${escapeRe2(filter).replace(/\*/g, '.*').replace(/\?/g, '.')}$`;
  const compiled = RE2JS.compile(pattern);
  if (compiledFilters.size >= COMPILED_FILTERS_CAP) compiledFilters.clear();
  compiledFilters.set(filter, compiled);
  return compiled;
}

/**
 * True if `tag` passes the filter: a glob (`*` any run, `?` one character) or `/regex/` in RE2 syntax. No
 * filter passes everything; a filter never passes an untagged push. Runs in time linear in the tag.
 * @throws RE2JSException if the filter is a regex RE2 cannot compile (`validateServiceConfig` refuses those).
 * @example
 * tagMatches('v*', 'v1.4.2'); // true
 * tagMatches('/^release-\\d+$/', 'release-x'); // false
 */
export function tagMatches(filter: string | undefined, tag: string | undefined): boolean {
  if (filter === undefined) return true;
  if (tag === undefined) return false;
  return compileTagFilter(filter).test(tag);
}

/** Why RE2 refuses the filter (`missing closing ]: \`[\``), or undefined if it compiles. */
function tagFilterError(filter: string): string | undefined {
  try {
    compileTagFilter(filter);
    return undefined;
  } catch (error) {
    if (!(error instanceof RE2JSException)) throw error;
    return error.message.replace(/^error parsing regexp: /, '');
  }
}

/**
 * The image-scan gate. A push whose scan is still running waits for ECR's scan-complete event (basic
 * scanning) or Inspector's (enhanced scanning), on a task token, for at most `timeoutSeconds`; then
 * `onTimeout` decides: `refuse` the push (with a record), or `rollout` without the scan's verdict.
 */
export interface ImageScanGate {
  readonly failOn: ScanSeverity;
  /** @default 1800 (30 minutes) */
  readonly timeoutSeconds?: number;
  /** @default 'refuse' */
  readonly onTimeout?: ScanTimeoutAction;
}

export const SCAN_TIMEOUT_ACTIONS = ['refuse', 'rollout'] as const;
export type ScanTimeoutAction = (typeof SCAN_TIMEOUT_ACTIONS)[number];
export const DEFAULT_SCAN_TIMEOUT_SECONDS = 1800;

/**
 * Bakes at a canary weight too short for the analysis to judge (fewer than `evaluationPeriods` periods): each
 * would end inconclusive, so the configuration is refused rather than held or rolled back at every step.
 */
function unjudgeableBakes(analysis: AnalysisConfig, plan: CanaryPlan | undefined): string[] {
  const { evaluationPeriods, periodSeconds } = resolvedAnalysis(analysis);
  const needed = evaluationPeriods * periodSeconds;
  let weight = 0;
  const problems: string[] = [];
  (plan ?? DEFAULT_PLAN).steps.forEach((step, i) => {
    if (step.kind === 'setWeight') weight = step.weight;
    else if (step.kind === 'bake' && weight > 0 && weight < 100 && step.seconds < needed) {
      problems.push(
        `plan.steps[${i}]: a bake of ${step.seconds} s at ${weight}% is shorter than the canary analysis needs to judge it (evaluationPeriods × periodSeconds = ${needed} s); lengthen the bake or shorten the analysis's window`,
      );
    }
  });
  return problems;
}

/** The input form: plan and timings may be left out. */
export type ServiceConfigInput = Omit<ServiceConfig, 'plan' | 'timings' | 'hooks'> & {
  readonly hooks?: HooksConfigInput;
  readonly plan?: CanaryPlan;
  readonly timings?: Partial<Timings>;
};

/** Applies defaults. */
export function withDefaults(input: ServiceConfigInput): ServiceConfig {
  const { hooks, ...rest } = input;
  return {
    ...rest,
    plan: normalizePlan(input.plan ?? DEFAULT_PLAN),
    timings: { ...DEFAULT_TIMINGS, ...(input.timings ?? {}) },
    // The waits' timeouts (a scan's, each hook stage's) and actions are read by the state machine from the
    // execution input: always present.
    ...(hooks ? { hooks: hooksWithDefaults(hooks) } : {}),
    ...(input.imageScan ? { imageScan: { timeoutSeconds: DEFAULT_SCAN_TIMEOUT_SECONDS, onTimeout: 'refuse', ...input.imageScan } } : {}),
  };
}

export const SERVICE_NAME_PATTERN = /^[A-Za-z0-9_-]{1,40}$/;
const ARN = /^arn:aws[a-z-]*:/;
const isString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/**
 * What the validators say after a path (`services[1].alarms: must name at least one alarm …`). `SHARED` is
 * followed by the path that first used the resource and the resource: `is also services[0].listenerArn (arn:…)`.
 */
export const ConfigMessage = {
  NOT_OBJECT: 'must be an object',
  NAME: 'must be 1-40 letters, digits, - or _',
  REQUIRED: 'is required (non-empty string)',
  ARN: 'must be an ARN',
  ALARMS: 'must be a list of alarm names',
  NO_ALARMS: 'must name at least one alarm (a rollout nobody watches cannot roll back by itself)',
  DUPLICATE_ALARM: 'is listed twice',
  SAME_SERVICE: 'blue and green must be different ECS services',
  SAME_TARGET_GROUP: 'blue and green must have different target groups',
  TIMING: 'must be a positive integer',
  DUPLICATE_SERVICE: 'service name is used twice',
  CONCURRENCY: "must be 'supersede', 'queue' or 'reject'",
  TAG_FILTER: 'must be a glob (v*) or a regex between slashes (/^v\\d+$/), at most 200 characters',
  TAG_FILTER_RE2: 'must be a regex in RE2 syntax, which matches in linear time: no backreferences (\\1) and no lookahead or lookbehind',
  SHARED: 'is also',
  SEVERITY: `must be one of ${['INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'].join(', ')}`,
  SCAN_TIMEOUT: 'must be a whole number of seconds from 60 to 86400 (a day)',
  SCAN_TIMEOUT_ACTION: `must be one of ${['refuse', 'rollout'].join(', ')}`,
  KEEP: 'must be an integer from 0 to 100',
  BOOLEAN: 'must be true or false',
  SLACK_IDS: 'must be a list of Slack IDs (capital letters and digits, e.g. C0123ABCD / U0123ABCD)',
} as const;

/**
 * Validates one service configuration (with defaults applied) and returns every problem with its path.
 * An empty array means it is valid.
 */
export function validateServiceConfig(config: unknown, path = 'service'): string[] {
  if (typeof config !== 'object' || config === null) return [`${path}: ${ConfigMessage.NOT_OBJECT}`];
  const c = config as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof c.name !== 'string' || !SERVICE_NAME_PATTERN.test(c.name)) problems.push(`${path}.name: ${ConfigMessage.NAME}`);
  for (const key of ['cluster', 'containerName', 'repository'] as const) {
    if (!isString(c[key])) problems.push(`${path}.${key}: ${ConfigMessage.REQUIRED}`);
  }
  if (!isString(c.listenerArn)) problems.push(`${path}.listenerArn: ${ConfigMessage.REQUIRED}`);
  else if (!ARN.test(c.listenerArn)) problems.push(`${path}.listenerArn: ${ConfigMessage.ARN}`);
  const slots = c.slots as Record<string, Record<string, unknown> | undefined> | undefined;
  if (typeof slots !== 'object' || slots === null) {
    problems.push(`${path}.slots: ${ConfigMessage.NOT_OBJECT}`);
  } else {
    for (const slot of ['blue', 'green'] as const) {
      const s = slots[slot];
      if (typeof s !== 'object' || s === null) {
        problems.push(`${path}.slots.${slot}: ${ConfigMessage.NOT_OBJECT}`);
        continue;
      }
      if (!isString(s.serviceName)) problems.push(`${path}.slots.${slot}.serviceName: ${ConfigMessage.REQUIRED}`);
      if (!isString(s.targetGroupArn)) problems.push(`${path}.slots.${slot}.targetGroupArn: ${ConfigMessage.REQUIRED}`);
      else if (!ARN.test(s.targetGroupArn)) problems.push(`${path}.slots.${slot}.targetGroupArn: ${ConfigMessage.ARN}`);
    }
    if (slots.blue && slots.green) {
      if (isString(slots.blue.serviceName) && slots.blue.serviceName === slots.green.serviceName) problems.push(`${path}.slots: ${ConfigMessage.SAME_SERVICE}`);
      if (isString(slots.blue.targetGroupArn) && slots.blue.targetGroupArn === slots.green.targetGroupArn) problems.push(`${path}.slots: ${ConfigMessage.SAME_TARGET_GROUP}`);
    }
  }
  if (!Array.isArray(c.alarms) || !c.alarms.every(isString)) {
    problems.push(`${path}.alarms: ${ConfigMessage.ALARMS}`);
  } else {
    if (c.alarms.length === 0) problems.push(`${path}.alarms: ${ConfigMessage.NO_ALARMS}`);
    c.alarms.forEach((a, i) => {
      if ((c.alarms as string[]).indexOf(a) !== i) problems.push(`${path}.alarms[${i}]: ${ConfigMessage.DUPLICATE_ALARM}`);
    });
  }
  problems.push(...validatePlan(c.plan, `${path}.plan`));
  if (c.concurrency !== undefined && !(CONCURRENCY_POLICIES as readonly unknown[]).includes(c.concurrency)) problems.push(`${path}.concurrency: ${ConfigMessage.CONCURRENCY}`);
  if (c.tagFilter !== undefined) {
    if (typeof c.tagFilter !== 'string' || c.tagFilter === '' || c.tagFilter.length > 200) problems.push(`${path}.tagFilter: ${ConfigMessage.TAG_FILTER}`);
    else {
      const why = tagFilterError(c.tagFilter);
      if (why !== undefined) problems.push(`${path}.tagFilter: ${ConfigMessage.TAG_FILTER_RE2} (RE2: ${why})`);
    }
  }
  if (c.imageScan !== undefined) {
    const gate = c.imageScan as { failOn?: unknown; timeoutSeconds?: unknown; onTimeout?: unknown } | null;
    if (!(SCAN_SEVERITIES as readonly unknown[]).includes(gate?.failOn)) problems.push(`${path}.imageScan.failOn: ${ConfigMessage.SEVERITY}`);
    const timeout = gate?.timeoutSeconds;
    if (timeout !== undefined && (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout < 60 || timeout > 86_400))
      problems.push(`${path}.imageScan.timeoutSeconds: ${ConfigMessage.SCAN_TIMEOUT}`);
    if (gate?.onTimeout !== undefined && !(SCAN_TIMEOUT_ACTIONS as readonly unknown[]).includes(gate.onTimeout)) problems.push(`${path}.imageScan.onTimeout: ${ConfigMessage.SCAN_TIMEOUT_ACTION}`);
  }
  if (c.keepRevisions !== undefined && (typeof c.keepRevisions !== 'number' || !Number.isInteger(c.keepRevisions) || c.keepRevisions < 0 || c.keepRevisions > 100)) {
    problems.push(`${path}.keepRevisions: ${ConfigMessage.KEEP}`);
  }
  if (c.adoptDrift !== undefined && typeof c.adoptDrift !== 'boolean') problems.push(`${path}.adoptDrift: ${ConfigMessage.BOOLEAN}`);
  if (c.hooks !== undefined) problems.push(...validateHooks(c.hooks, `${path}.hooks`));
  if (c.analysis !== undefined) {
    if (typeof c.analysis !== 'object' || c.analysis === null || Array.isArray(c.analysis)) problems.push(`${path}.analysis: ${ConfigMessage.NOT_OBJECT}`);
    else {
      const found = analysisProblems(c.analysis as AnalysisConfig);
      problems.push(...found.map((p) => `${path}.${p}`));
      if (!found.length) problems.push(...unjudgeableBakes(c.analysis as AnalysisConfig, c.plan as CanaryPlan | undefined).map((p) => `${path}.${p}`));
    }
  }
  if (c.testTraffic !== undefined) problems.push(...validateTestTraffic(c.testTraffic, c.plan as CanaryPlan | undefined, `${path}.testTraffic`));
  if (c.chat !== undefined) {
    const chat = c.chat as Record<string, unknown> | null;
    if (typeof chat !== 'object' || chat === null) problems.push(`${path}.chat: ${ConfigMessage.NOT_OBJECT}`);
    else {
      for (const key of ['channels', 'users'] as const) {
        const ids = chat[key];
        if (ids !== undefined && (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string' && /^[A-Z0-9]{2,24}$/.test(id)))) problems.push(`${path}.chat.${key}: ${ConfigMessage.SLACK_IDS}`);
      }
    }
  }
  const timings = c.timings as Record<string, unknown> | undefined;
  if (typeof timings !== 'object' || timings === null) {
    problems.push(`${path}.timings: ${ConfigMessage.NOT_OBJECT}`);
  } else {
    for (const key of Object.keys(DEFAULT_TIMINGS)) {
      const v = timings[key];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) problems.push(`${path}.timings.${key}: ${ConfigMessage.TIMING}`);
    }
  }
  // Only a well-formed plan and timings have a worst case to measure.
  if (problems.length === 0) {
    const extending = (c.analysis as AnalysisConfig | undefined)?.onInconclusive === 'extend';
    const budget = historyBudgetProblem(c.plan as CanaryPlan, c.timings as Timings, c.hooks as HooksConfig | undefined, extending ? MAX_BAKE_EXTENSIONS : 0);
    if (budget) problems.push(`${path}: ${budget}`);
  }
  return problems;
}

/**
 * Validates a list of services: each one, names unique, and no AWS resource managed twice. Two services
 * that share an ECS service, a target group or a listener (rule) would each move the other's traffic and
 * scale the other's tasks; a problem names both paths, the later one first:
 * `services[1].slots.green.targetGroupArn: is also services[0].slots.blue.targetGroupArn (arn:…)`.
 * (Blue and green of one service sharing an ECS service or target group is `validateServiceConfig`'s rule.)
 * @example
 * const problems = validateServices(configs);
 * if (problems.length) throw new InvalidConfigError('services', problems);
 */
export function validateServices(services: readonly unknown[]): string[] {
  const problems = services.flatMap((s, i) => validateServiceConfig(s, `services[${i}]`));
  const seen = new Set<string>();
  services.forEach((s, i) => {
    const name = (s as { name?: unknown } | null)?.name;
    if (typeof name !== 'string') return;
    if (seen.has(name)) problems.push(`services[${i}].name: ${ConfigMessage.DUPLICATE_SERVICE}`);
    seen.add(name);
  });
  problems.push(...sharedResources(services));
  return problems;
}

/** A cluster name or ARN as its name (`arn:aws:ecs:…:cluster/shop` → `shop`), so both forms compare equal. */
const clusterName = (cluster: string): string => cluster.slice(cluster.lastIndexOf('/') + 1);

/**
 * Every resource that a second service claims again: its ECS services (cluster by name, and service name),
 * target groups (either slot of either service) and listener or listener rule.
 */
function sharedResources(services: readonly unknown[]): string[] {
  const problems: string[] = [];
  const firstClaim = new Map<string, { index: number; path: string }>();
  const claim = (index: number, path: string, kind: string, value: unknown) => {
    if (!isString(value)) return;
    const key = `${kind} ${value}`;
    const first = firstClaim.get(key);
    if (first === undefined) firstClaim.set(key, { index, path });
    else if (first.index !== index) problems.push(`${path}: ${ConfigMessage.SHARED} ${first.path} (${value})`);
  };
  services.forEach((s, i) => {
    if (typeof s !== 'object' || s === null) return;
    const c = s as Record<string, unknown>;
    const slots = c.slots as Record<string, Record<string, unknown> | null | undefined> | null | undefined;
    for (const slot of SLOTS) {
      const config = typeof slots === 'object' && slots !== null ? slots[slot] : undefined;
      if (typeof config !== 'object' || config === null) continue;
      const path = `services[${i}].slots.${slot}`;
      if (isString(c.cluster) && isString(config.serviceName)) claim(i, `${path}.serviceName`, 'ecs-service', `${clusterName(c.cluster)}/${config.serviceName}`);
      claim(i, `${path}.targetGroupArn`, 'target-group', config.targetGroupArn);
    }
    claim(i, `services[${i}].listenerArn`, 'listener', c.listenerArn);
  });
  return problems;
}

/**
 * Parses the services list the construct puts in the start function's environment, applies defaults and
 * validates it (the same rules as at synth).
 * @throws InvalidConfigError listing every problem.
 */
export function servicesFromEnv(json: string): ServiceConfig[] {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (error) {
    throw new InvalidConfigError('CUTOVER_SERVICES', [`not valid JSON: ${(error as Error).message}`]);
  }
  if (!Array.isArray(raw)) throw new InvalidConfigError('CUTOVER_SERVICES', ['must be a JSON array of services']);
  const services = raw.map((s) => (typeof s === 'object' && s !== null ? withDefaults(s as ServiceConfigInput) : s));
  const problems = validateServices(services);
  if (problems.length) throw new InvalidConfigError('CUTOVER_SERVICES', problems);
  return services as ServiceConfig[];
}
