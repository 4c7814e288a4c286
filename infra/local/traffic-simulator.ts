/**
 * Traffic on the local runtime, and CloudWatch's alarm evaluation that moto does not do.
 *
 * Each tick is one simulated period (`periodSeconds`, 60 by default, the comparison alarms' period). On a
 * tick the simulator reads each service's listener weights (the runtime's Traffic port), splits the
 * period's requests between the target groups by weight, draws each target group's 5xx count and p99 from
 * its behaviour with a seeded random generator, and writes ALB's per-target-group metrics to the emulator
 * (`RequestCount`, `HTTPCode_Target_5XX_Count`, `TargetResponseTime`; dimensions TargetGroup + LoadBalancer;
 * like ALB, nothing for a count of zero). Then it evaluates every alarm whose name starts with
 * `cutover-analysis-` from the emulator's stored metrics (DescribeAlarms + GetMetricData) with the local
 * metric-math evaluator, and when an alarm's state changes it sets it on the emulator (SetAlarmState) and
 * hands CloudWatch's `CloudWatch Alarm State Change` event to `deliver`.
 *
 * A tick lasts `periodSeconds × 1000 × timeScale` ms of real time (the runtime's time scale, as bakes do):
 * 60 ms at 0.001, 300 ms at the demo's 0.005. Simulated periods are stamped from a fixed origin in the past
 * (`maxTicks` periods before the start), so no datapoint is ever in the future.
 *
 * moto 5.2.1, checked: it keeps a metric-math alarm's `Metrics` and returns them from DescribeAlarms; it
 * evaluates no alarm (a new alarm reads `OK`, not `INSUFFICIENT_DATA`); GetMetricData resolves no expression
 * beyond a bare id; and it computes no percentile: GetMetricData with `Stat: 'p99'` fails with an HTML 500,
 * GetMetricStatistics with `ExtendedStatistics: ['p99']` answers datapoints without values. So the
 * simulator writes one `TargetResponseTime` sample per target group and period, the period's p99 (AWS
 * computes percentiles from a single raw value exactly: every percentile of one sample is that sample), and
 * reads a `pNN` statistic as `Maximum`, which for one sample is the same number.
 */
import {
  type CloudWatchClient,
  DescribeAlarmsCommand,
  GetMetricDataCommand,
  PutMetricDataCommand,
  SetAlarmStateCommand,
  type MetricAlarm,
  type MetricDataQuery,
  type MetricDatum,
} from '@aws-sdk/client-cloudwatch';
import { ALB_NAMESPACE, ANALYSIS_ALARM_PREFIX, loadBalancerDimension, targetGroupDimension } from '../../functions/core/analysis';
import type { ServiceConfig } from '../../functions/core/config';
import type { Ecs, Traffic } from '../../functions/core/ports';
import { seeded } from './random';
import { alarmState, evaluateMetricMath, type AlarmComparison, type AlarmEvaluation, type Series } from './metric-math';

/** How one target group's tasks answer. */
export interface SlotBehaviour {
  /** Fraction of requests answered with a 5xx, 0..1 (0.04: 4%). */
  readonly errorRate: number;
  /** The period's p99 response time, in ms. */
  readonly p99Ms: number;
}

/** A target group receiving traffic, as the behaviour function sees it. */
export interface SimulatedTarget {
  readonly service: string;
  readonly slot: 'blue' | 'green';
  readonly targetGroupArn: string;
  /** The revision the slot's ECS service runs (undefined if the service cannot be read). */
  readonly taskDefinitionArn?: string;
  /** Its share of the listener's forward, percent. */
  readonly weight: number;
}

/** The `traffic` option of the local runtime. */
export interface TrafficSimulation {
  /**
   * Requests per second each service receives. @default 100 (6000 a minute: 600 on a 10% canary, enough that
   * a healthy canary's 5xx count rarely crosses 1 point by chance; see the README's canary analysis section)
   */
  readonly requestsPerSecond?: number;
  /**
   * Each target group's 5xx rate and p99, per tick. Key it by revision for "the new revision fails 4%, the old
   * 0.5%" (see {@link byRevision}). @default 0.5% errors, p99 120 ms everywhere
   */
  readonly behaviour?: (target: SimulatedTarget) => SlotBehaviour;
  /** Seed of the random generator (request split, 5xx counts, latency jitter). @default 1 */
  readonly seed?: number;
  /** One tick is one period of this many seconds. @default 60 */
  readonly periodSeconds?: number;
  /** The simulator stops by itself after this many ticks. @default 10000 */
  readonly maxTicks?: number;
  /** Relative jitter of the p99 around the behaviour's (0.05: ±5%). @default 0.05 */
  readonly latencyJitter?: number;
  /** Alarms evaluated here, by name prefix. @default ['cutover-analysis-'] */
  readonly alarmNamePrefixes?: readonly string[];
  /** Called with every alarm state change event after it was handed to `deliver` (with what `deliver` returned). */
  readonly onAlarmEvent?: (event: AlarmStateChangeEvent, delivered: unknown) => void;
}

export const SIMULATION_DEFAULTS = { requestsPerSecond: 100, seed: 1, periodSeconds: 60, maxTicks: 10_000, latencyJitter: 0.05, behaviour: { errorRate: 0.005, p99Ms: 120 } } as const;

/**
 * A behaviour keyed by revision: `stable` for the revisions given (the ones live before the rollout), `canary`
 * for every other.
 * @example
 * behaviour: byRevision([env.initialTaskDefinitionArn], { errorRate: 0.005, p99Ms: 120 }, { errorRate: 0.04, p99Ms: 120 })
 */
export function byRevision(stableRevisions: readonly string[], stable: SlotBehaviour, canary: SlotBehaviour): (target: SimulatedTarget) => SlotBehaviour {
  const known = new Set(stableRevisions);
  return (t) => (t.taskDefinitionArn !== undefined && !known.has(t.taskDefinitionArn) ? canary : stable);
}

/** CloudWatch's `CloudWatch Alarm State Change` event, as EventBridge delivers it. */
export interface AlarmStateChangeEvent {
  readonly version: '0';
  readonly id: string;
  readonly 'detail-type': 'CloudWatch Alarm State Change';
  readonly source: 'aws.cloudwatch';
  readonly account: string;
  readonly time: string;
  readonly region: string;
  readonly resources: readonly string[];
  readonly detail: {
    readonly alarmName: string;
    readonly configuration: { readonly description?: string; readonly metrics: readonly unknown[] };
    readonly previousState: { readonly value: string; readonly reason: string; readonly timestamp: string };
    readonly state: { readonly value: string; readonly reason: string; readonly reasonData: string; readonly timestamp: string };
  };
}

/** One target group's traffic in one simulated period. */
export interface PeriodRecord {
  readonly tick: number;
  /** The period's start (simulated, ms since the epoch): the datapoints' timestamp. */
  readonly timestamp: number;
  /** `Date.now()` when the period was written. */
  readonly realAt: number;
  readonly requests: number;
  readonly errors: number;
  readonly p99Ms: number;
}

export interface TrafficSimulatorDeps {
  readonly traffic: Pick<Traffic, 'readForward'>;
  /** To read which revision each slot runs (for a behaviour keyed by revision). */
  readonly ecs?: Pick<Ecs, 'describeService'>;
  readonly cloudwatch: CloudWatchClient;
  readonly services: readonly ServiceConfig[];
  /** The runtime's time scale: a tick lasts `periodSeconds × 1000 × timeScale` ms. @default 1 */
  readonly timeScale?: number;
  /** Where state-change events go (the runtime's `deliver`). @default nowhere */
  readonly deliver?: (event: AlarmStateChangeEvent) => Promise<unknown>;
  /** For `time` in events. @default Date.now */
  readonly now?: () => number;
}

/** What one tick did. */
export interface TickReport {
  readonly tick: number;
  readonly timestamp: number;
  /** Alarms whose state changed on this tick. */
  readonly changes: ReadonlyArray<{ readonly alarmName: string; readonly from: string; readonly to: string; readonly evaluation: AlarmEvaluation }>;
}

/** A Binomial(n, p) draw: exact (n Bernoulli trials) up to 10,000 trials, the normal approximation above. */
export function binomial(n: number, p: number, random: () => number): number {
  if (n <= 0 || p <= 0) return 0;
  if (p >= 1) return n;
  if (n <= 10_000) {
    let k = 0;
    for (let i = 0; i < n; i++) if (random() < p) k++;
    return k;
  }
  const z = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  return Math.min(n, Math.max(0, Math.round(n * p + z * Math.sqrt(n * p * (1 - p)))));
}

const COMPARISONS = new Set<string>(['GreaterThanThreshold', 'LessThanThreshold', 'GreaterThanOrEqualToThreshold', 'LessThanOrEqualToThreshold']);
const PERCENTILE = /^p\d/;
/** Periods read before the N judged ones (CloudWatch reads "a higher number of data points" than N). */
const EXTRA_PERIODS = 2;

/** One alarm's metrics and expressions, as the simulator evaluates it. */
interface AlarmSpec {
  readonly queries: readonly MetricDataQuery[];
  readonly resultId: string;
  readonly period: number;
}

/** A metric-math alarm's queries as they are; a single-metric alarm as one query `m` and the expression `m`. */
function specOf(alarm: MetricAlarm): AlarmSpec | undefined {
  if (alarm.Metrics?.length) {
    const result = alarm.Metrics.find((m) => m.ReturnData !== false && (m.Expression || m.MetricStat)) ?? alarm.Metrics.at(-1);
    const period = alarm.Metrics.find((m) => m.MetricStat?.Period)?.MetricStat?.Period ?? alarm.Period;
    if (!result?.Id || !period) return undefined;
    return { queries: alarm.Metrics, resultId: result.Id, period };
  }
  if (!alarm.MetricName || !alarm.Namespace || !alarm.Period) return undefined;
  return {
    queries: [
      {
        Id: 'm',
        ReturnData: true,
        MetricStat: {
          Metric: { Namespace: alarm.Namespace, MetricName: alarm.MetricName, Dimensions: alarm.Dimensions },
          Period: alarm.Period,
          Stat: alarm.Statistic ?? alarm.ExtendedStatistic ?? 'Average',
        },
      },
    ],
    resultId: 'm',
    period: alarm.Period,
  };
}

const lowerFirst = (o: unknown): unknown => {
  if (Array.isArray(o)) return o.map(lowerFirst);
  if (o instanceof Date) return o.toISOString();
  if (typeof o !== 'object' || o === null) return o;
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k.charAt(0).toLowerCase() + k.slice(1), lowerFirst(v)]));
};

/** `dd/MM/yy HH:mm:ss`, as CloudWatch writes datapoint times in a state reason. */
const reasonTime = (t: number) => {
  const d = new Date(t);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${p(d.getUTCMonth() + 1)}/${p(d.getUTCFullYear() % 100)} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
};

const OPERATOR_WORDS: Record<string, [string, string]> = {
  GreaterThanThreshold: ['greater than', 'not greater than'],
  GreaterThanOrEqualToThreshold: ['greater than or equal to', 'not greater than or equal to'],
  LessThanThreshold: ['less than', 'not less than'],
  LessThanOrEqualToThreshold: ['less than or equal to', 'not less than or equal to'],
};

export class TrafficSimulator {
  private readonly random: () => number;
  private readonly options: Required<Omit<TrafficSimulation, 'onAlarmEvent' | 'behaviour'>> & Pick<TrafficSimulation, 'onAlarmEvent' | 'behaviour'>;
  /** The start of simulated period 0 (ms): `maxTicks` periods before the start, aligned to the period. */
  readonly origin: number;
  private tickCount = 0;
  private readonly records = new Map<string, PeriodRecord[]>();
  private running?: Promise<void>;
  private stopped = false;
  private wake?: () => void;
  private timer?: ReturnType<typeof setTimeout>;
  /** Errors of ticks run by {@link start} (a tick that fails is reported here and the loop goes on). */
  readonly errors: Error[] = [];
  /** Each alarm's latest evaluation (also when its state did not change), by name. */
  readonly evaluations = new Map<string, AlarmEvaluation>();
  /** Every state change the simulator made, in order. */
  readonly changes: Array<TickReport['changes'][number] & { readonly tick: number }> = [];

  constructor(
    simulation: TrafficSimulation,
    private readonly deps: TrafficSimulatorDeps,
  ) {
    this.options = {
      requestsPerSecond: simulation.requestsPerSecond ?? SIMULATION_DEFAULTS.requestsPerSecond,
      seed: simulation.seed ?? SIMULATION_DEFAULTS.seed,
      periodSeconds: simulation.periodSeconds ?? SIMULATION_DEFAULTS.periodSeconds,
      maxTicks: simulation.maxTicks ?? SIMULATION_DEFAULTS.maxTicks,
      latencyJitter: simulation.latencyJitter ?? SIMULATION_DEFAULTS.latencyJitter,
      alarmNamePrefixes: simulation.alarmNamePrefixes ?? [ANALYSIS_ALARM_PREFIX],
      behaviour: simulation.behaviour,
      onAlarmEvent: simulation.onAlarmEvent,
    };
    if (!(this.options.requestsPerSecond >= 0) || !(this.options.periodSeconds > 0) || !Number.isInteger(this.options.maxTicks) || this.options.maxTicks < 1) {
      throw new Error('traffic simulation: requestsPerSecond ≥ 0, periodSeconds > 0 and a whole maxTicks ≥ 1 are required');
    }
    this.random = seeded(this.options.seed);
    const periodMs = this.options.periodSeconds * 1000;
    this.origin = Math.floor((deps.now ?? Date.now)() / periodMs) * periodMs - this.options.maxTicks * periodMs;
  }

  /** How long a tick lasts in real time, ms. */
  get tickMs(): number {
    return this.options.periodSeconds * 1000 * (this.deps.timeScale ?? 1);
  }

  /** Whether the loop of {@link start} is running. */
  get active(): boolean {
    return this.running !== undefined;
  }

  /** Ticks run so far. */
  get ticks(): number {
    return this.tickCount;
  }

  /** The periods written for a target group, oldest first. */
  history(targetGroupArn: string): readonly PeriodRecord[] {
    return this.records.get(targetGroupArn) ?? [];
  }

  /** A target group's request count per period, oldest first (the input of `bakeVerdict`). */
  requestsPerPeriod(targetGroupArn: string, sinceTick = 0): number[] {
    return this.history(targetGroupArn)
      .filter((r) => r.tick >= sinceTick)
      .map((r) => r.requests);
  }

  /**
   * The local stand-in for `AnalysisAlarms.requestsPerPeriod` (same query): the target group's requests in each
   * simulated period written between `start` and `end` in real time, oldest first. The emulator's datapoints
   * carry simulated timestamps (a tick is one period), so a query by real time cannot find them there; a
   * bake of `seconds × timeScale` real ms sees about `seconds / periodSeconds` periods, fewer when ticks lag.
   */
  async requestsBetween(query: { readonly targetGroup: string; readonly start: Date; readonly end: Date }): Promise<number[]> {
    const [from, to] = [query.start.getTime(), query.end.getTime()];
    for (const [arn, records] of this.records) {
      if (targetGroupDimension(arn) !== query.targetGroup && arn !== query.targetGroup) continue;
      return records.filter((r) => r.realAt >= from && r.realAt <= to).map((r) => r.requests);
    }
    return [];
  }

  /** Runs one period: traffic, then the alarms. Throws once `maxTicks` periods have run. */
  async tick(): Promise<TickReport> {
    if (this.tickCount >= this.options.maxTicks) throw new Error(`traffic simulation: all ${this.options.maxTicks} ticks have run (maxTicks)`);
    const tick = this.tickCount++;
    const timestamp = this.origin + tick * this.options.periodSeconds * 1000;
    // The alarms' definitions do not depend on this period's traffic: read them while it is written.
    const [alarms] = await Promise.all([this.describeAlarms(), this.writeTraffic(tick, timestamp)]);
    const changes = await this.evaluateAlarms(alarms, timestamp);
    for (const c of changes) this.changes.push({ ...c, tick });
    return { tick, timestamp, changes };
  }

  /** Runs ticks every {@link tickMs} until {@link stop} or `maxTicks`. */
  start(): void {
    if (this.running) return;
    this.stopped = false;
    const began = Date.now();
    const first = this.tickCount;
    this.running = (async () => {
      while (!this.stopped && this.tickCount < this.options.maxTicks) {
        // Tick k ends its period at began + (k+1) × tickMs; a slow tick is caught up at once, never skipped.
        const due = began + (this.tickCount - first + 1) * this.tickMs;
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          this.timer = setTimeout(resolve, Math.max(0, due - Date.now()));
        });
        this.timer = undefined;
        if (this.stopped) break;
        try {
          await this.tick();
        } catch (error) {
          this.errors.push(error as Error);
        }
      }
    })();
  }

  /** Stops the loop; resolves when the tick under way (if any) has finished. No timer is left behind. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.wake?.();
    await this.running;
    this.running = undefined;
  }

  private async targetsOf(service: ServiceConfig): Promise<SimulatedTarget[]> {
    const forward = await this.deps.traffic.readForward(service.listenerArn);
    if (!forward) return [];
    const slots = (['blue', 'green'] as const).filter((slot) => (forward.weights[service.slots[slot].targetGroupArn] ?? 0) > 0);
    return Promise.all(
      slots.map(async (slot): Promise<SimulatedTarget> => {
        const s = service.slots[slot];
        // The revision matters only to a behaviour of the caller's (one keyed by revision); the default needs none.
        const view = this.options.behaviour ? await this.deps.ecs?.describeService(service.cluster, s.serviceName).catch(() => undefined) : undefined;
        return { service: service.name, slot, targetGroupArn: s.targetGroupArn, taskDefinitionArn: view?.taskDefinition, weight: forward.weights[s.targetGroupArn]! };
      }),
    );
  }

  private async writeTraffic(tick: number, timestamp: number): Promise<void> {
    const data: MetricDatum[] = [];
    const total = Math.round(this.options.requestsPerSecond * this.options.periodSeconds);
    const perService = await Promise.all(this.deps.services.map((service) => this.targetsOf(service)));
    for (const [index, service] of this.deps.services.entries()) {
      const targets = perService[index]!;
      const lb = loadBalancerDimension(service.listenerArn);
      const share = targets.reduce((sum, t) => sum + t.weight, 0);
      let left = total;
      let leftShare = share;
      for (const [i, target] of targets.entries()) {
        // ALB picks a target group per request by weight: a multinomial split, drawn as chained binomials.
        const requests = i === targets.length - 1 ? left : binomial(left, target.weight / leftShare, this.random);
        left -= requests;
        leftShare -= target.weight;
        const behaviour = this.options.behaviour?.(target) ?? SIMULATION_DEFAULTS.behaviour;
        const errors = binomial(requests, behaviour.errorRate, this.random);
        const p99Ms = Math.max(1, behaviour.p99Ms * (1 + this.options.latencyJitter * (2 * this.random() - 1)));
        const list = this.records.get(target.targetGroupArn) ?? [];
        list.push({ tick, timestamp, realAt: Date.now(), requests, errors, p99Ms });
        this.records.set(target.targetGroupArn, list);
        if (requests === 0) continue;
        const Dimensions = [
          { Name: 'TargetGroup', Value: targetGroupDimension(target.targetGroupArn) },
          { Name: 'LoadBalancer', Value: lb },
        ];
        const Timestamp = new Date(timestamp);
        data.push({ MetricName: 'RequestCount', Dimensions, Timestamp, Value: requests, Unit: 'Count' });
        if (errors > 0) data.push({ MetricName: 'HTTPCode_Target_5XX_Count', Dimensions, Timestamp, Value: errors, Unit: 'Count' });
        data.push({ MetricName: 'TargetResponseTime', Dimensions, Timestamp, Value: p99Ms / 1000, Unit: 'Seconds' });
      }
    }
    // PutMetricData takes at most 1000 datums per call.
    for (let i = 0; i < data.length; i += 1000) await this.deps.cloudwatch.send(new PutMetricDataCommand({ Namespace: ALB_NAMESPACE, MetricData: data.slice(i, i + 1000) }));
  }

  private async describeAlarms(): Promise<MetricAlarm[]> {
    const alarms: MetricAlarm[] = [];
    for (const prefix of this.options.alarmNamePrefixes) {
      let NextToken: string | undefined;
      for (let page = 0; page < 100; page++) {
        const out = await this.deps.cloudwatch.send(new DescribeAlarmsCommand({ AlarmNamePrefix: prefix, AlarmTypes: ['MetricAlarm'], MaxRecords: 100, NextToken }));
        alarms.push(...(out.MetricAlarms ?? []).filter((a) => a.AlarmName?.startsWith(prefix)));
        NextToken = out.NextToken;
        if (!NextToken) break;
      }
    }
    return alarms;
  }

  /** The alarm's result series over its evaluation range, read from the emulator's stored metrics. */
  private async evaluateAlarm(alarm: MetricAlarm, spec: AlarmSpec, current: number): Promise<AlarmEvaluation> {
    const periodMs = spec.period * 1000;
    const n = alarm.EvaluationPeriods ?? 1;
    const timestamps = Array.from({ length: n + EXTRA_PERIODS }, (_, i) => current - (n + EXTRA_PERIODS - 1 - i) * periodMs);
    const stats = spec.queries.filter((q) => q.MetricStat);
    const series: Record<string, Series> = {};
    if (stats.length) {
      const out = await this.deps.cloudwatch.send(
        new GetMetricDataCommand({
          StartTime: new Date(timestamps[0]!),
          EndTime: new Date(current + periodMs),
          ScanBy: 'TimestampAscending',
          MetricDataQueries: stats.map((q) => ({
            Id: q.Id,
            ReturnData: true,
            // moto computes no percentile; one sample per period makes every percentile its Maximum (see above).
            MetricStat: { ...q.MetricStat!, Stat: PERCENTILE.test(q.MetricStat!.Stat ?? '') ? 'Maximum' : q.MetricStat!.Stat },
          })),
        }),
      );
      for (const r of out.MetricDataResults ?? []) {
        const points = new Map<number, number>();
        (r.Timestamps ?? []).forEach((t, i) => {
          const v = r.Values?.[i];
          if (v !== undefined && v !== null) points.set(new Date(t).getTime(), v);
        });
        series[r.Id!] = points;
      }
    }
    // Expressions may name earlier expressions: evaluate in order.
    for (const q of spec.queries) if (q.Expression) series[q.Id!] = evaluateMetricMath(q.Expression, { timestamps, series });
    const result = series[spec.resultId] ?? new Map();
    const comparison = alarm.ComparisonOperator ?? '';
    if (!COMPARISONS.has(comparison)) throw new Error(`${alarm.AlarmName}: comparison ${comparison} is not evaluated locally`);
    return alarmState(
      timestamps.map((timestamp) => ({ timestamp, value: result.get(timestamp) })),
      {
        threshold: alarm.Threshold ?? 0,
        comparison: comparison as AlarmComparison,
        evaluationPeriods: n,
        datapointsToAlarm: alarm.DatapointsToAlarm ?? n,
        // Only notBreaching and breaching are modelled; 'missing' and 'ignore' are read as notBreaching.
        treatMissingData: alarm.TreatMissingData === 'breaching' ? 'breaching' : 'notBreaching',
      },
    );
  }

  private reason(alarm: MetricAlarm, evaluation: AlarmEvaluation): string {
    const n = evaluation.evaluated.length;
    const m = alarm.DatapointsToAlarm ?? n;
    const [yes, no] = OPERATOR_WORDS[alarm.ComparisonOperator ?? ''] ?? ['beyond', 'not beyond'];
    const shown = evaluation.evaluated
      .filter((p) => p.value !== undefined)
      .reverse()
      .map((p) => `${Number(p.value!.toFixed(6))} (${reasonTime(p.timestamp!)})`);
    const alarming = evaluation.state === 'ALARM';
    const count = alarming ? evaluation.breaching : n - evaluation.breaching;
    const verb = count === 1 ? 'was' : 'were';
    return `Threshold Crossed: ${count} out of the last ${n} datapoints [${shown.join(', ')}] ${verb} ${alarming ? yes : no} the threshold (${alarm.Threshold}) (minimum ${m} datapoint${m === 1 ? '' : 's'} for ${alarming ? 'OK -> ALARM' : 'ALARM -> OK'} transition).`;
  }

  private async evaluateAlarms(alarms: readonly MetricAlarm[], current: number): Promise<TickReport['changes']> {
    const changes: Array<TickReport['changes'][number]> = [];
    const specs = alarms.map((alarm) => ({ alarm, spec: specOf(alarm) })).filter((a) => a.spec && a.alarm.AlarmName);
    // Read and judge every alarm at once; set states and deliver events one by one, in name order.
    const judged = await Promise.all(specs.map(async ({ alarm, spec }) => ({ alarm, spec: spec!, evaluation: await this.evaluateAlarm(alarm, spec!, current) })));
    for (const { alarm, spec, evaluation } of judged.sort((a, b) => a.alarm.AlarmName!.localeCompare(b.alarm.AlarmName!))) {
      this.evaluations.set(alarm.AlarmName!, evaluation);
      const from = alarm.StateValue ?? 'INSUFFICIENT_DATA';
      if (evaluation.state === from) continue;
      const reason = this.reason(alarm, evaluation);
      const reasonData = JSON.stringify({
        version: '1.0',
        queryDate: new Date(current + spec.period * 1000).toISOString(),
        startDate: new Date(current - (evaluation.evaluated.length - 1) * spec.period * 1000).toISOString(),
        period: spec.period,
        recentDatapoints: evaluation.evaluated.filter((p) => p.value !== undefined).map((p) => p.value),
        threshold: alarm.Threshold,
        evaluatedDatapoints: evaluation.evaluated.filter((p) => p.value !== undefined).map((p) => ({ timestamp: new Date(p.timestamp!).toISOString(), value: p.value })),
      });
      await this.deps.cloudwatch.send(new SetAlarmStateCommand({ AlarmName: alarm.AlarmName, StateValue: evaluation.state, StateReason: reason, StateReasonData: reasonData }));
      changes.push({ alarmName: alarm.AlarmName!, from, to: evaluation.state, evaluation });
      const event = this.event(alarm, from, evaluation.state, reason, reasonData);
      const delivered = await this.deps.deliver?.(event);
      this.options.onAlarmEvent?.(event, delivered);
    }
    return changes;
  }

  private event(alarm: MetricAlarm, from: string, to: string, reason: string, reasonData: string): AlarmStateChangeEvent {
    const now = new Date((this.deps.now ?? Date.now)()).toISOString();
    const arn = alarm.AlarmArn ?? `arn:aws:cloudwatch:us-east-1:123456789012:alarm:${alarm.AlarmName}`;
    const [, , , region = 'us-east-1', account = '123456789012'] = arn.split(':');
    return {
      version: '0',
      id: crypto.randomUUID(),
      'detail-type': 'CloudWatch Alarm State Change',
      source: 'aws.cloudwatch',
      account,
      time: now.replace(/\.\d{3}Z$/, 'Z'),
      region,
      resources: [arn],
      detail: {
        alarmName: alarm.AlarmName!,
        configuration: { description: alarm.AlarmDescription, metrics: (lowerFirst(specOf(alarm)?.queries ?? []) as unknown[]) ?? [] },
        previousState: { value: from, reason: alarm.StateReason ?? '', timestamp: (alarm.StateUpdatedTimestamp ?? new Date()).toISOString() },
        state: { value: to, reason, reasonData, timestamp: now },
      },
    };
  }
}
