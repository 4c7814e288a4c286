/**
 * Canary-vs-stable analysis: the new slot's target group judged against the old slot's, in the same window,
 * by rollout-scoped CloudWatch metric-math alarms. CloudWatch evaluates them and their `Alarm State Change`
 * events take the same abort path as the service's own alarms: nothing polls.
 *
 * Pure (no SDK import): the alarms are data close to `PutMetricAlarm`'s input, so the functions that create
 * and delete them, the construct (names, IAM) and the local traffic simulator share one definition.
 *
 * Metric math as CloudWatch documents it: an arithmetic operation treats a missing value as 0, a division by
 * zero drops the datapoint, `FILL(m, 0)` gives every period of the alarm's window a value, and
 * `IF(cond, a, b)` takes `a` (0 where `a` has no datapoint) where `cond` is not 0.
 * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html
 * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html
 */

import { InvalidConfigError, InvalidInputError } from './errors';

/** A user-defined check: a metric-math expression compared with a threshold. */
export interface MetricMathCheck {
  /** The check's name in alarm names and reasons: letters, digits, `-`, `_`; 1..40 characters. */
  readonly name: string;
  /** the expression, CloudWatch metric math, over ids m_new_*, m_old_* and the user's metrics */
  readonly expression: string;
  readonly metrics: ReadonlyArray<{
    readonly id: string;
    readonly namespace: string;
    readonly metricName: string;
    readonly dimensions?: Readonly<Record<string, string>>;
    readonly stat: string;
    /** 'canary' | 'stable': put this target group's dimension on it */
    readonly slot?: 'canary' | 'stable';
  }>;
  readonly threshold: number;
  readonly comparison: ComparisonOperator;
}

/** The comparison operators an analysis alarm may use (CloudWatch's names). */
export type ComparisonOperator = 'GreaterThanThreshold' | 'LessThanThreshold' | 'GreaterThanOrEqualToThreshold' | 'LessThanOrEqualToThreshold';
export const COMPARISON_OPERATORS: readonly ComparisonOperator[] = ['GreaterThanThreshold', 'LessThanThreshold', 'GreaterThanOrEqualToThreshold', 'LessThanOrEqualToThreshold'];

export interface AnalysisConfig {
  /** 5xx-rate check: fails when the canary's 5xx rate exceeds the stable slot's by more than this many percentage points. false: off. @default { maxIncreasePoints: 1 } */
  readonly errorRate?: false | { readonly maxIncreasePoints?: number };
  /** p99 TargetResponseTime check: fails when the canary's p99 exceeds the stable's by more than maxIncreaseMs. false: off. @default { maxIncreaseMs: 250 } */
  readonly latencyP99?: false | { readonly maxIncreaseMs?: number };
  /** User-defined metric-math checks. @default none */
  readonly custom?: readonly MetricMathCheck[];
  /**
   * Fewest requests on each slot in one period for the period to be judged. Below a few hundred, a clean
   * canary's 5xx rate crosses 1 point by chance (see the README's noise figures). @default 500
   */
  readonly minRequests?: number;
  /** @default 60 */ readonly periodSeconds?: number;
  /** M of N: @default 2 of 3 */ readonly datapointsToAlarm?: number;
  readonly evaluationPeriods?: number;
  /** At a bake's end with too few requests judged: @default 'pause' */ readonly onInconclusive?: 'pause' | 'extend' | 'rollback';
  /** Record what it would decide; never acts. @default false */
  readonly dryRun?: boolean;
}

/** The defaults of {@link AnalysisConfig}. */
export const ANALYSIS_DEFAULTS = {
  maxIncreasePoints: 1,
  maxIncreaseMs: 250,
  minRequests: 500,
  periodSeconds: 60,
  datapointsToAlarm: 2,
  evaluationPeriods: 3,
  onInconclusive: 'pause',
  dryRun: false,
} as const;

export const ANALYSIS_ALARM_PREFIX = 'cutover-analysis-';

/** How many times an inconclusive bake runs again (`onInconclusive: 'extend'`) before a human is asked. */
export const MAX_BAKE_EXTENSIONS = 2;

/** The built-in checks' names (a custom check may not take them). */
export const ERROR_RATE_CHECK = 'error-rate';
export const LATENCY_P99_CHECK = 'latency-p99';

/** The id of the expression whose result the alarm watches. */
export const RESULT_ID = 'e_result';

/**
 * The metrics every expression may use, per slot (`m_new_*`: the canary's target group; `m_old_*`: the
 * stable's). ALB's per-target-group metrics, dimensions TargetGroup + LoadBalancer.
 * @see https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html
 */
export const SLOT_METRICS = {
  requests: { metricName: 'RequestCount', stat: 'Sum' },
  '5xx': { metricName: 'HTTPCode_Target_5XX_Count', stat: 'Sum' },
  p99: { metricName: 'TargetResponseTime', stat: 'p99' },
} as const;
export const ALB_NAMESPACE = 'AWS/ApplicationELB';

/**
 * Between the parts of an alarm name: a character no service name, rollout key or check name contains, so
 * a name parses back without ambiguity and one service's prefix is never the prefix of another's
 * (`checkout` and `checkout-eu`).
 */
const SEP = '.';
/** Rollout ids up to this long go into alarm names as they are; longer ones are cut and hashed. */
const MAX_ROLLOUT_KEY = 80;
const NAME_PART = /^[A-Za-z0-9_-]+$/;
const CHECK_NAME = /^[A-Za-z0-9_-]{1,40}$/;
const SERVICE_NAME = /^[A-Za-z0-9_-]{1,40}$/;
const METRIC_ID = /^[a-z][A-Za-z0-9_]{0,254}$/;
/** CloudWatch statistics an alarm's MetricStat may use (the common ones; percentiles pNN and pNN.NN). */
const STAT = /^(SampleCount|Average|Sum|Minimum|Maximum|p(\d{1,2}(\.\d{1,2})?|100)|(tm|wm|tc|ts)\d{1,2}(\.\d{1,2})?)$/;
/** A metric-math alarm uses at most 10 metrics. */
const MAX_ALARM_METRICS = 10;
/** An alarm's evaluation periods × period: at most one day. */
const MAX_EVALUATION_SECONDS = 86_400;

/** A MetricDataQuery as `PutMetricAlarm` takes it (arrays mutable, as the SDK's input types are). */
export interface AlarmMetricQuery {
  readonly Id: string;
  readonly Label?: string;
  readonly ReturnData: boolean;
  readonly Expression?: string;
  readonly MetricStat?: {
    readonly Metric: { readonly Namespace: string; readonly MetricName: string; readonly Dimensions: Array<{ readonly Name: string; readonly Value: string }> };
    readonly Period: number;
    readonly Stat: string;
  };
}

/** One comparison alarm: the input of `PutMetricAlarm` (pass it as it is: `new PutMetricAlarmCommand(alarm)`). */
export interface ComparisonAlarm {
  readonly AlarmName: string;
  readonly AlarmDescription: string;
  readonly Metrics: AlarmMetricQuery[];
  readonly Threshold: number;
  readonly ComparisonOperator: ComparisonOperator;
  readonly EvaluationPeriods: number;
  readonly DatapointsToAlarm: number;
  /** No AlarmActions: the alarm's state change reaches Cutover through EventBridge. */
  readonly TreatMissingData: 'notBreaching';
  readonly Tags: Array<{ readonly Key: string; readonly Value: string }>;
}

/** The tags on every comparison alarm: who owns it (the dead-execution path finds leftovers by them). */
export const ANALYSIS_TAGS = { service: 'cutover:service', rollout: 'cutover:rollout', check: 'cutover:check', dryRun: 'cutover:dry-run' } as const;

/** `cutover-analysis-<service>.`: the prefix of every comparison alarm of one service (the EventBridge rule matches it). */
export function analysisAlarmPrefix(service: string): string {
  return `${ANALYSIS_ALARM_PREFIX}${service}${SEP}`;
}

/** 32-bit FNV-1a as 8 hex digits: a short, stable fingerprint for names (not for security). */
function fingerprint(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/**
 * The rollout's part of its alarm names: the rollout id itself when it is at most 80 characters of letters,
 * digits, `-` and `_` (every execution name is); otherwise its first 60 such characters, `~` and a hash of the
 * whole id, so names stay bounded and distinct. {@link parseAnalysisAlarm} gives this key back.
 */
export function analysisRolloutKey(rolloutId: string): string {
  if (rolloutId.length <= MAX_ROLLOUT_KEY && NAME_PART.test(rolloutId)) return rolloutId;
  return `${rolloutId.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 60)}~${fingerprint(rolloutId)}`;
}

/** The name of one rollout's alarm for one check: `cutover-analysis-<service>.<rollout key>.<check>` (≤ 180 characters). */
export function analysisAlarmName(service: string, rolloutId: string, check: string): string {
  return `${analysisAlarmPrefix(service)}${analysisRolloutKey(rolloutId)}${SEP}${check}`;
}

/** Which check an alarm name is, and whose: undefined when it is not a comparison alarm. `rolloutId` is the rollout's key ({@link analysisRolloutKey}). */
export function parseAnalysisAlarm(name: string): { service: string; rolloutId: string; check: string } | undefined {
  if (!name.startsWith(ANALYSIS_ALARM_PREFIX)) return undefined;
  const parts = name.slice(ANALYSIS_ALARM_PREFIX.length).split(SEP);
  if (parts.length !== 3) return undefined;
  const [service, rolloutId, check] = parts as [string, string, string];
  if (!SERVICE_NAME.test(service) || !CHECK_NAME.test(check) || !/^[A-Za-z0-9_-]+(~[0-9a-f]{8})?$/.test(rolloutId)) return undefined;
  return { service, rolloutId, check };
}

/** The resource part of an ELBv2 ARN (after the account), e.g. `targetgroup/web/73e2d6bc24d8a067`. */
function elbResource(arn: string): string | undefined {
  const m = /^arn:aws[a-z-]*:elasticloadbalancing:[^:]*:\d*:(.+)$/.exec(arn);
  return m?.[1];
}

/** `targetgroup/<name>/<id>` from a target group's ARN (CloudWatch's `TargetGroup` dimension value). */
export function targetGroupDimension(arn: string): string {
  const resource = elbResource(arn);
  const m = resource && /^(targetgroup\/[^/]+\/[^/]+)$/.exec(resource);
  if (!m) throw new InvalidInputError(`not a target group ARN: ${arn}`, ['must be arn:aws:elasticloadbalancing:<region>:<account>:targetgroup/<name>/<id>']);
  return m[1]!;
}

/**
 * `app/<name>/<id>` from the ARN of an Application Load Balancer, or of one of its listeners or listener rules
 * (CloudWatch's `LoadBalancer` dimension value).
 */
export function loadBalancerDimension(arn: string): string {
  const resource = elbResource(arn);
  const m = resource && /^(?:loadbalancer|listener|listener-rule)\/(app\/[^/]+\/[^/]+)(?:\/.*)?$/.exec(resource);
  if (!m)
    throw new InvalidInputError(`not the ARN of an Application Load Balancer, listener or listener rule: ${arn}`, [
      'must be arn:aws:elasticloadbalancing:<region>:<account>:loadbalancer/app/<name>/<id> (or a listener or listener rule of one)',
    ]);
  return m[1]!;
}

/** The identifiers an expression names (metric ids: they start with a lowercase letter; functions are uppercase). */
export function expressionIds(expression: string): string[] {
  return [...new Set(expression.match(/\b[a-z][A-Za-z0-9_]*\b/g) ?? [])];
}

const BUILT_IN_IDS: Record<string, { slot: 'canary' | 'stable'; metric: keyof typeof SLOT_METRICS }> = {
  m_new_requests: { slot: 'canary', metric: 'requests' },
  m_new_5xx: { slot: 'canary', metric: '5xx' },
  m_new_p99: { slot: 'canary', metric: 'p99' },
  m_old_requests: { slot: 'stable', metric: 'requests' },
  m_old_5xx: { slot: 'stable', metric: '5xx' },
  m_old_p99: { slot: 'stable', metric: 'p99' },
};
/** The ids of the per-slot metrics every expression may use. */
export const BUILT_IN_METRIC_IDS = Object.keys(BUILT_IN_IDS);

const isInt = (n: unknown, min: number, max = Number.MAX_SAFE_INTEGER): boolean => typeof n === 'number' && Number.isInteger(n) && n >= min && n <= max;
const isNum = (n: unknown, min: number, max: number): boolean => typeof n === 'number' && Number.isFinite(n) && n >= min && n <= max;

/** Problems with a config (empty: valid): clear messages naming the field. */
export function analysisProblems(config: AnalysisConfig): string[] {
  const problems: string[] = [];
  if (typeof config !== 'object' || config === null) return ['analysis: must be an object'];
  const er = config.errorRate;
  if (er !== undefined && er !== false) {
    if (typeof er !== 'object' || er === null) problems.push('analysis.errorRate: must be false or { maxIncreasePoints }');
    else if (er.maxIncreasePoints !== undefined && !isNum(er.maxIncreasePoints, 0, 100)) problems.push('analysis.errorRate.maxIncreasePoints: must be a number of percentage points, 0..100');
  }
  const lat = config.latencyP99;
  if (lat !== undefined && lat !== false) {
    if (typeof lat !== 'object' || lat === null) problems.push('analysis.latencyP99: must be false or { maxIncreaseMs }');
    else if (lat.maxIncreaseMs !== undefined && !isNum(lat.maxIncreaseMs, 0, 600_000)) problems.push('analysis.latencyP99.maxIncreaseMs: must be a number of milliseconds, 0..600000');
  }
  if (config.minRequests !== undefined && !isInt(config.minRequests, 1, 1_000_000_000)) problems.push('analysis.minRequests: must be a whole number ≥ 1');
  const period = config.periodSeconds ?? ANALYSIS_DEFAULTS.periodSeconds;
  // ALB publishes its metrics every 60 seconds: a shorter period would see gaps, and alarm periods above a
  // minute must be multiples of 60.
  if (config.periodSeconds !== undefined && !(isInt(config.periodSeconds, 60, MAX_EVALUATION_SECONDS) && config.periodSeconds % 60 === 0)) {
    problems.push('analysis.periodSeconds: must be a multiple of 60 (ALB publishes per minute), 60..86400');
  }
  const n = config.evaluationPeriods ?? ANALYSIS_DEFAULTS.evaluationPeriods;
  const m = config.datapointsToAlarm ?? ANALYSIS_DEFAULTS.datapointsToAlarm;
  if (config.evaluationPeriods !== undefined && !isInt(config.evaluationPeriods, 1, 1440)) problems.push('analysis.evaluationPeriods: must be a whole number ≥ 1');
  if (config.datapointsToAlarm !== undefined && !isInt(config.datapointsToAlarm, 1, 1440)) problems.push('analysis.datapointsToAlarm: must be a whole number ≥ 1');
  else if (isInt(n, 1) && isInt(m, 1) && m > n) problems.push(`analysis.datapointsToAlarm: must be at most evaluationPeriods (${n}): M out of N needs M ≤ N`);
  if (isInt(n, 1) && isInt(period, 60) && n * period > MAX_EVALUATION_SECONDS)
    problems.push(`analysis.evaluationPeriods: evaluationPeriods × periodSeconds must be at most 86400 (one day), is ${n * period}`);
  if (config.onInconclusive !== undefined && !['pause', 'extend', 'rollback'].includes(config.onInconclusive)) problems.push("analysis.onInconclusive: must be 'pause', 'extend' or 'rollback'");
  if (config.dryRun !== undefined && typeof config.dryRun !== 'boolean') problems.push('analysis.dryRun: must be true or false');
  if (config.custom !== undefined) {
    if (!Array.isArray(config.custom)) problems.push('analysis.custom: must be a list of checks');
    else {
      const names = new Set<string>();
      for (const [i, check] of config.custom.entries()) problems.push(...customProblems(check, `analysis.custom[${i}]`, names));
    }
  }
  return problems;
}

function customProblems(check: MetricMathCheck, path: string, names: Set<string>): string[] {
  const problems: string[] = [];
  if (typeof check !== 'object' || check === null) return [`${path}: must be { name, expression, metrics, threshold, comparison }`];
  if (typeof check.name !== 'string' || !CHECK_NAME.test(check.name)) problems.push(`${path}.name: must be 1..40 letters, digits, '-' or '_'`);
  else if (check.name === ERROR_RATE_CHECK || check.name === LATENCY_P99_CHECK) problems.push(`${path}.name: '${check.name}' is a built-in check's name`);
  else if (names.has(check.name)) problems.push(`${path}.name: '${check.name}' is used by another check`);
  else names.add(check.name);
  if (!isNum(check.threshold, -Number.MAX_VALUE, Number.MAX_VALUE)) problems.push(`${path}.threshold: must be a finite number`);
  if (!COMPARISON_OPERATORS.includes(check.comparison)) problems.push(`${path}.comparison: must be one of ${COMPARISON_OPERATORS.join(', ')}`);
  const ids = new Set<string>();
  if (!Array.isArray(check.metrics)) problems.push(`${path}.metrics: must be a list (it may be empty when the expression uses only m_new_* / m_old_*)`);
  else {
    for (const [j, metric] of check.metrics.entries()) {
      const at = `${path}.metrics[${j}]`;
      if (typeof metric !== 'object' || metric === null) {
        problems.push(`${at}: must be { id, namespace, metricName, stat }`);
        continue;
      }
      if (typeof metric.id !== 'string' || !METRIC_ID.test(metric.id)) problems.push(`${at}.id: must start with a lowercase letter, then letters, digits or '_'`);
      else if (metric.id in BUILT_IN_IDS || metric.id === RESULT_ID) problems.push(`${at}.id: '${metric.id}' is reserved (the built-in per-slot metrics and the result)`);
      else if (ids.has(metric.id)) problems.push(`${at}.id: '${metric.id}' is used twice`);
      else ids.add(metric.id);
      if (typeof metric.namespace !== 'string' || metric.namespace.length < 1 || metric.namespace.length > 255) problems.push(`${at}.namespace: must be 1..255 characters`);
      if (typeof metric.metricName !== 'string' || metric.metricName.length < 1 || metric.metricName.length > 255) problems.push(`${at}.metricName: must be 1..255 characters`);
      if (typeof metric.stat !== 'string' || !STAT.test(metric.stat)) problems.push(`${at}.stat: must be a CloudWatch statistic (Sum, Average, Minimum, Maximum, SampleCount, p99, ...)`);
      if (metric.slot !== undefined && metric.slot !== 'canary' && metric.slot !== 'stable') problems.push(`${at}.slot: must be 'canary' or 'stable'`);
    }
  }
  if (typeof check.expression !== 'string' || check.expression.trim().length === 0 || check.expression.length > 2048)
    problems.push(`${path}.expression: must be a metric-math expression of 1..2048 characters`);
  else {
    const unknown = expressionIds(check.expression).filter((id) => !ids.has(id) && !(id in BUILT_IN_IDS));
    if (unknown.length) problems.push(`${path}.expression: names ${unknown.join(', ')}, which is neither one of its metrics nor ${BUILT_IN_METRIC_IDS.join(', ')}`);
    const used = expressionIds(check.expression).filter((id) => id in BUILT_IN_IDS).length + ids.size;
    if (used > MAX_ALARM_METRICS) problems.push(`${path}.metrics: an alarm on a math expression may use at most ${MAX_ALARM_METRICS} metrics, this one uses ${used}`);
  }
  return problems;
}

/** The config with its defaults applied. */
export function resolvedAnalysis(config: AnalysisConfig) {
  return {
    errorRate: config.errorRate === false ? false : { maxIncreasePoints: config.errorRate?.maxIncreasePoints ?? ANALYSIS_DEFAULTS.maxIncreasePoints },
    latencyP99: config.latencyP99 === false ? false : { maxIncreaseMs: config.latencyP99?.maxIncreaseMs ?? ANALYSIS_DEFAULTS.maxIncreaseMs },
    custom: config.custom ?? [],
    minRequests: config.minRequests ?? ANALYSIS_DEFAULTS.minRequests,
    periodSeconds: config.periodSeconds ?? ANALYSIS_DEFAULTS.periodSeconds,
    datapointsToAlarm: config.datapointsToAlarm ?? ANALYSIS_DEFAULTS.datapointsToAlarm,
    evaluationPeriods: config.evaluationPeriods ?? ANALYSIS_DEFAULTS.evaluationPeriods,
    onInconclusive: config.onInconclusive ?? ANALYSIS_DEFAULTS.onInconclusive,
    dryRun: config.dryRun ?? ANALYSIS_DEFAULTS.dryRun,
  } as const;
}

/**
 * `IF(canary requests ≥ min, IF(stable requests ≥ min, <difference>, 0), 0)`: a period counts only when both
 * slots served at least `minRequests` (a rate over a handful of requests is noise; at 100% on the canary there
 * is no stable to compare with, and the service's own alarms watch). `FILL(…, 0)` because ALB publishes its
 * counts only when they are not zero: a missing datapoint means none.
 */
function guarded(minRequests: number, difference: string): string {
  return `IF(FILL(m_new_requests, 0) >= ${minRequests}, IF(FILL(m_old_requests, 0) >= ${minRequests}, ${difference}, 0), 0)`;
}

/** The error-rate check's expression: canary 5xx % − stable 5xx %, in percentage points. */
export function errorRateExpression(minRequests: number): string {
  return guarded(minRequests, '100 * FILL(m_new_5xx, 0) / FILL(m_new_requests, 0) - 100 * FILL(m_old_5xx, 0) / FILL(m_old_requests, 0)');
}

/** The latency check's expression: canary p99 − stable p99, in ms (TargetResponseTime is in seconds). */
export function latencyExpression(minRequests: number): string {
  return guarded(minRequests, '1000 * (m_new_p99 - m_old_p99)');
}

/** The comparison alarms of one rollout, as data close to PutMetricAlarm's input (AlarmName, AlarmDescription, Metrics with Expression/MetricStat/ReturnData, Threshold, ComparisonOperator, EvaluationPeriods, DatapointsToAlarm, TreatMissingData: 'notBreaching', Tags incl. cutover:service and cutover:rollout). */
export function comparisonAlarms(input: {
  service: string;
  rolloutId: string;
  loadBalancerArn: string;
  canaryTargetGroupArn: string;
  stableTargetGroupArn: string;
  config: AnalysisConfig;
}): ComparisonAlarm[] {
  const problems = analysisProblems(input.config);
  if (!SERVICE_NAME.test(input.service)) problems.push('service: must be 1..40 letters, digits, - or _');
  if (problems.length) throw new InvalidConfigError(`the canary analysis of ${input.service}`, problems);
  const c = resolvedAnalysis(input.config);
  const lb = loadBalancerDimension(input.loadBalancerArn);
  const tg = { canary: targetGroupDimension(input.canaryTargetGroupArn), stable: targetGroupDimension(input.stableTargetGroupArn) };
  const metricStat = (namespace: string, metricName: string, stat: string, dimensions: Readonly<Record<string, string>>) => ({
    Metric: { Namespace: namespace, MetricName: metricName, Dimensions: Object.entries(dimensions).map(([Name, Value]) => ({ Name, Value })) },
    Period: c.periodSeconds,
    Stat: stat,
  });
  const builtIn = (id: string): AlarmMetricQuery => {
    const { slot, metric } = BUILT_IN_IDS[id]!;
    const m = SLOT_METRICS[metric];
    return { Id: id, ReturnData: false, MetricStat: metricStat(ALB_NAMESPACE, m.metricName, m.stat, { TargetGroup: tg[slot], LoadBalancer: lb }) };
  };
  const alarm = (check: string, expression: string, extra: AlarmMetricQuery[], threshold: number, comparison: ComparisonOperator, description: string): ComparisonAlarm => ({
    AlarmName: analysisAlarmName(input.service, input.rolloutId, check),
    AlarmDescription:
      `Cutover canary analysis of ${input.service}, rollout ${input.rolloutId}: ${description} (${c.datapointsToAlarm} of ${c.evaluationPeriods} periods of ${c.periodSeconds} s). Created for the canary and deleted when it ends.`.slice(
        0,
        1024,
      ),
    Metrics: [...BUILT_IN_METRIC_IDS.filter((id) => expressionIds(expression).includes(id)).map(builtIn), ...extra, { Id: RESULT_ID, Label: check, Expression: expression, ReturnData: true }],
    Threshold: threshold,
    ComparisonOperator: comparison,
    EvaluationPeriods: c.evaluationPeriods,
    DatapointsToAlarm: c.datapointsToAlarm,
    TreatMissingData: 'notBreaching',
    Tags: [
      { Key: ANALYSIS_TAGS.service, Value: input.service },
      { Key: ANALYSIS_TAGS.rollout, Value: input.rolloutId.slice(0, 256) },
      { Key: ANALYSIS_TAGS.check, Value: check },
      ...(c.dryRun ? [{ Key: ANALYSIS_TAGS.dryRun, Value: 'true' }] : []),
    ],
  });
  const alarms: ComparisonAlarm[] = [];
  if (c.errorRate) {
    alarms.push(
      alarm(
        ERROR_RATE_CHECK,
        errorRateExpression(c.minRequests),
        [],
        c.errorRate.maxIncreasePoints,
        'GreaterThanThreshold',
        `the canary's 5xx rate exceeds the stable slot's by more than ${c.errorRate.maxIncreasePoints} percentage points, in periods where both served ≥ ${c.minRequests} requests`,
      ),
    );
  }
  if (c.latencyP99) {
    alarms.push(
      alarm(
        LATENCY_P99_CHECK,
        latencyExpression(c.minRequests),
        [],
        c.latencyP99.maxIncreaseMs,
        'GreaterThanThreshold',
        `the canary's p99 response time exceeds the stable slot's by more than ${c.latencyP99.maxIncreaseMs} ms, in periods where both served ≥ ${c.minRequests} requests`,
      ),
    );
  }
  for (const check of c.custom) {
    const own = check.metrics.map(
      (m): AlarmMetricQuery => ({
        Id: m.id,
        ReturnData: false,
        MetricStat: metricStat(m.namespace, m.metricName, m.stat, {
          ...(m.dimensions ?? {}),
          // ALB's own per-target-group metrics need both dimensions; another namespace gets the target group's.
          ...(m.slot ? { TargetGroup: tg[m.slot], ...(m.namespace === ALB_NAMESPACE ? { LoadBalancer: lb } : {}) } : {}),
        }),
      }),
    );
    alarms.push(alarm(check.name, check.expression, own, check.threshold, check.comparison, `${check.expression} ${check.comparison} ${check.threshold}`));
  }
  return alarms;
}

/** A bake's verdict from the canary's request counts per period: 'pass' when at least evaluationPeriods periods reached minRequests, else 'inconclusive' (never "pass" for lack of data). */
export function bakeVerdict(requestsPerPeriod: readonly number[], config: AnalysisConfig): 'pass' | 'inconclusive' {
  const c = resolvedAnalysis(config);
  const judged = requestsPerPeriod.filter((n) => Number.isFinite(n) && n >= c.minRequests).length;
  return judged >= c.evaluationPeriods ? 'pass' : 'inconclusive';
}
