/**
 * Canary-vs-stable analysis, measured in simulated time on the local runtime with its traffic simulator.
 *
 * Each seeded run starts one runtime with three services on the shared emulator, all on the default plan
 * (10% → 5m → 25% → 5m → 50% → 5m → 100%) and 100 requests/s, pushed at once:
 * - `ana`: the new revision fails 4% of its requests, the old 0.5% (same p99); canary analysis with its defaults
 *   (`onInconclusive: 'rollback'`, so that no run waits for a human);
 * - `wide`: the same regression, no analysis; the service watches a service-wide alarm instead, a metric-math
 *   alarm over both target groups' sums (5xx ÷ requests > 1% in 2 of 3 minutes), evaluated by the simulator
 *   as CloudWatch would (ALB's LoadBalancer-level count is the sum over its target groups; the simulator
 *   writes per target group only, so the alarm adds them). At 10% the service-wide rate is 0.85%, at 25% about
 *   1.4%;
 * - `clean`: both revisions at 0.5%, canary analysis on: any comparison alarm going to ALARM is a false alarm.
 *
 * Times are from the regression's start (the canary's first weight) to the traffic back at 100% on the old slot,
 * converted to simulated minutes as bench/reaction.ts converts waits (local ms ÷ time scale), and counted in
 * simulated periods (the simulator's ticks between the two). CloudWatch's delivery delay and the functions'
 * own time are inside the local figure, not modelled.
 *
 * The cost: one clean rollout with analysis and one without, each alone in its runtime, with every state
 * transition, invocation and AWS call the functions make counted (the simulator's own calls are not: they
 * stand for CloudWatch and ALB).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { CloudWatchClient, PutMetricAlarmCommand } from '@aws-sdk/client-cloudwatch';
import { ANALYSIS_DEFAULTS, analysisAlarmPrefix, loadBalancerDimension, targetGroupDimension } from '../functions/core/analysis';
import type { ServiceConfig } from '../functions/core/config';
import { CanaryPlan } from '../functions/core/plan';
import { decisionOf, resultKeys } from '../functions/read/status';
import { pushAndDeliver } from '../infra/local/demo';
import { clientConfig, type DemoEnvironment } from '../infra/local/environment';
import { operationName } from '../infra/local/faults';
import type { Emulator } from '../infra/local/moto';
import { LocalRuntime, type LocalInstrumentation, type WeightsChange } from '../infra/local/runtime';
import type { LocalEvent } from '../infra/local/sfn';
import { byRevision, SIMULATION_DEFAULTS, type SimulatedTarget, type SlotBehaviour } from '../infra/local/traffic-simulator';
import { readRolloutDefinition } from '../state-machines/definition';
import { StateName } from '../state-machines/states';
import { transitions } from './harness';
import { round, summarize, type Summary } from './stats';

export interface AnalysisBenchOptions {
  readonly emulator: Emulator;
  /** One run per seed (the traffic simulator's seed). */
  readonly seeds: readonly number[];
  /** 0.005: one simulated minute is 300 ms, a 5-minute bake 1.5 s. */
  readonly timeScale: number;
  readonly progress?: (line: string) => void;
}

const STABLE: SlotBehaviour = { errorRate: 0.005, p99Ms: 120 };
const FAILING: SlotBehaviour = { errorRate: 0.04, p99Ms: 120 };
/** The service-wide alarm's threshold, % of requests answered 5xx, and its M of N. */
export const SERVICE_WIDE_ALARM = { thresholdPercent: 1, datapointsToAlarm: 2, evaluationPeriods: 3, periodSeconds: 60 } as const;

/** One regressed service in one run. */
export interface RegressionRun {
  readonly seed: number;
  readonly endState: string;
  /** Whether the traffic went back to 100% on the old slot after the canary's first weight. */
  readonly caught: boolean;
  /** The canary's weight when it was caught (the last weight set before the restore). */
  readonly caughtAtWeight?: number;
  /** Regression start → traffic restored, simulated minutes (local ms ÷ time scale ÷ 60,000). */
  readonly minutes?: number;
  /** The same, in simulated periods (ticks of the simulator between the two). */
  readonly periods?: number;
  /** Requests the new revision answered 5xx until the restore (or the end), from the simulator's periods. */
  readonly failedRequests: number;
  readonly reason?: string;
}

/** One clean canary (both revisions at 0.5%) judged by the analysis. */
export interface CleanRun {
  readonly seed: number;
  readonly endState: string;
  /** Comparison alarms that went to ALARM: each a false alarm. */
  readonly falseAlarms: readonly string[];
  /** Bakes at a canary weight whose end the analysis judged, and of them the inconclusive ones. */
  readonly bakesJudged: number;
  readonly bakesInconclusive: number;
  readonly reason?: string;
}

export interface RegressionSummary {
  readonly runs: number;
  readonly caught: number;
  /** How many runs were caught at each weight. */
  readonly caughtAtWeight: Readonly<Record<string, number>>;
  readonly minutes: Summary;
  readonly periods: Summary;
  readonly failedRequests: Summary;
}

/** What the analysis adds to one rollout: the functions' transitions, invocations and AWS calls, with and without it. */
export interface AnalysisCost {
  readonly with: CostCount;
  readonly without: CostCount;
}
export interface CostCount {
  readonly endState: string;
  readonly transitions: number;
  readonly invocations: number;
  /** AWS calls the functions made, by operation (`cloudwatch:PutMetricAlarm`). */
  readonly calls: Readonly<Record<string, number>>;
  /** Bake ends judged: on AWS each is one GetMetricData (the canary's requests per period); locally the simulator answers. */
  readonly bakeVerdicts: number;
}

export interface AnalysisResult {
  readonly seeds: readonly number[];
  readonly timeScale: number;
  readonly requestsPerSecond: number;
  readonly analysis: RegressionSummary;
  readonly serviceWide: RegressionSummary;
  readonly clean: { readonly runs: number; readonly wronglyFailed: number; readonly rolledBack: number; readonly bakesJudged: number; readonly bakesInconclusive: number };
  readonly cost?: AnalysisCost;
  /** Ticks of the traffic simulator that failed (each a period with no traffic or no evaluation): 0 for figures to trust. */
  readonly simulatorErrors: number;
  readonly regressionRuns: readonly RegressionRun[];
  readonly serviceWideRuns: readonly RegressionRun[];
  readonly cleanRuns: readonly CleanRun[];
}

const RESULT_KEYS = resultKeys(JSON.parse(readRolloutDefinition()));

/** The service-wide alarm `wide` watches: 100 × (5xx of both target groups) ÷ (requests of both) > 1%, 2 of 3. */
async function putServiceWideAlarm(endpoint: string, service: ServiceConfig, name: string): Promise<void> {
  const cw = new CloudWatchClient(clientConfig(endpoint));
  const metric = (id: string, metricName: string, targetGroupArn: string) => ({
    Id: id,
    ReturnData: false,
    MetricStat: {
      Metric: {
        Namespace: 'AWS/ApplicationELB',
        MetricName: metricName,
        Dimensions: [
          { Name: 'TargetGroup', Value: targetGroupDimension(targetGroupArn) },
          { Name: 'LoadBalancer', Value: loadBalancerDimension(service.listenerArn) },
        ],
      },
      Period: SERVICE_WIDE_ALARM.periodSeconds,
      Stat: 'Sum',
    },
  });
  const { blue, green } = service.slots;
  try {
    await cw.send(
      new PutMetricAlarmCommand({
        AlarmName: name,
        AlarmDescription: `${service.name}: service-wide 5xx rate above ${SERVICE_WIDE_ALARM.thresholdPercent}%`,
        Metrics: [
          metric('b5', 'HTTPCode_Target_5XX_Count', blue.targetGroupArn),
          metric('g5', 'HTTPCode_Target_5XX_Count', green.targetGroupArn),
          metric('br', 'RequestCount', blue.targetGroupArn),
          metric('gr', 'RequestCount', green.targetGroupArn),
          { Id: 'rate', ReturnData: true, Label: '5xx rate, %', Expression: '100 * (FILL(b5, 0) + FILL(g5, 0)) / (FILL(br, 0) + FILL(gr, 0))' },
        ],
        Threshold: SERVICE_WIDE_ALARM.thresholdPercent,
        ComparisonOperator: 'GreaterThanThreshold',
        EvaluationPeriods: SERVICE_WIDE_ALARM.evaluationPeriods,
        DatapointsToAlarm: SERVICE_WIDE_ALARM.datapointsToAlarm,
        TreatMissingData: 'notBreaching',
      }),
    );
  } finally {
    cw.destroy();
  }
}

/** The weights set on one listener, with the simulator's tick count when the emulator had them. */
interface Shift extends WeightsChange {
  readonly tick: number;
}

/** Reads one regressed service's run from what the runtime recorded. */
function regressionRun(seed: number, runtime: LocalRuntime, env: DemoEnvironment, shifts: readonly Shift[], endState: string, reason: string | undefined, timeScale: number): RegressionRun {
  const { blue, green } = env.service.slots;
  const mine = shifts.filter((s) => s.listenerArn === env.service.listenerArn);
  const weightOf = (s: Shift, arn: string) => s.weights.find((w) => w.targetGroupArn === arn)?.weight ?? 0;
  const first = mine.findIndex((s) => weightOf(s, green.targetGroupArn) > 0);
  const restore = first < 0 ? -1 : mine.findIndex((s, i) => i > first && weightOf(s, blue.targetGroupArn) === 100);
  const history = runtime.trafficSimulator?.history(green.targetGroupArn) ?? [];
  const until = restore >= 0 ? mine[restore]!.tick : Number.POSITIVE_INFINITY;
  const failedRequests = history.filter((r) => r.tick < until).reduce((sum, r) => sum + r.errors, 0);
  if (restore < 0) return { seed, endState, caught: false, failedRequests, reason };
  const [from, to] = [mine[first]!, mine[restore]!];
  return {
    seed,
    endState,
    caught: true,
    caughtAtWeight: weightOf(mine[restore - 1]!, green.targetGroupArn),
    minutes: round((to.at - from.at) / timeScale / 60_000, 2),
    periods: to.tick - from.tick,
    failedRequests,
    reason,
  };
}

function summarizeRegression(runs: readonly RegressionRun[]): RegressionSummary {
  const caught = runs.filter((r) => r.caught);
  const at: Record<string, number> = {};
  for (const r of caught) at[`${r.caughtAtWeight}%`] = (at[`${r.caughtAtWeight}%`] ?? 0) + 1;
  return {
    runs: runs.length,
    caught: caught.length,
    caughtAtWeight: at,
    minutes: summarize(
      caught.map((r) => r.minutes!),
      2,
    ),
    periods: summarize(
      caught.map((r) => r.periods!),
      1,
    ),
    failedRequests: summarize(
      runs.map((r) => r.failedRequests),
      0,
    ),
  };
}

/** The decisions of the execution's Check alarms states that judged a bake. */
function bakeVerdicts(events: readonly LocalEvent[], execution: string): string[] {
  return events
    .filter((e) => e.execution === execution && e.type === 'StateExited' && e.state === StateName.CheckAlarms)
    .map((e) => decisionOf(e.state!, e.output, RESULT_KEYS) ?? '')
    .filter((d) => d.includes('canary analysis'));
}

/** One seeded run: the three services pushed at once on one runtime, each to its end. */
async function seededRun(options: AnalysisBenchOptions, seed: number): Promise<{ regression: RegressionRun; serviceWide: RegressionRun; clean: CleanRun; simulatorErrors: number }> {
  const plan = CanaryPlan.TEN_TWENTYFIVE_FIFTY_5M;
  const wideAlarm = `wide${seed}-service-5xx-rate`;
  const names = { ana: `ana${seed}`, wide: `wide${seed}`, clean: `clean${seed}` };
  const shifts: Shift[] = [];
  const events: LocalEvent[] = [];
  let stable: string[] = [];
  let runtime: LocalRuntime | undefined;
  const behaviour = (t: SimulatedTarget) => byRevision(stable, STABLE, t.service === names.clean ? STABLE : FAILING)(t);
  runtime = await LocalRuntime.start({
    emulator: options.emulator,
    timeScale: options.timeScale,
    notifications: false,
    services: [
      { name: names.ana, service: { plan, analysis: { onInconclusive: 'rollback' } } },
      { name: names.wide, service: { plan, alarms: [wideAlarm] } },
      { name: names.clean, service: { plan, analysis: { onInconclusive: 'rollback' } } },
    ],
    traffic: { seed, behaviour, alarmNamePrefixes: ['cutover-analysis-', wideAlarm] },
    onEvent: (e) => events.push(e),
    onWeights: (w) => shifts.push({ ...w, tick: runtime?.trafficSimulator?.ticks ?? 0 }),
  });
  try {
    const [ana, wide, clean] = runtime.environments as [DemoEnvironment, DemoEnvironment, DemoEnvironment];
    stable = runtime.environments.map((e) => e.initialTaskDefinitionArn);
    await putServiceWideAlarm(options.emulator.endpoint, wide.service, wideAlarm);
    const started = await Promise.all([ana, wide, clean].map((env) => pushAndDeliver(runtime!, 'v2', env)));
    const executions = started.map((s) => {
      const name = s.executions[0];
      if (!name) throw new Error(`analysis bench: a push started no rollout: ${JSON.stringify(s.delivery)}`);
      return name;
    });
    const ends = await Promise.all(executions.map((name) => runtime!.sfn.wait(name)));
    await runtime.settle();
    const last = async (env: DemoEnvironment) => (await runtime!.ports.store.listHistory(env.service.name, 1))[0]?.reason;
    const [anaReason, wideReason, cleanReason] = await Promise.all([ana, wide, clean].map(last));
    const verdicts = bakeVerdicts(events, executions[2]!);
    const prefix = analysisAlarmPrefix(clean.service.name);
    return {
      regression: regressionRun(seed, runtime, ana, shifts, ends[0]!.endState ?? ends[0]!.status, anaReason, options.timeScale),
      serviceWide: regressionRun(seed, runtime, wide, shifts, ends[1]!.endState ?? ends[1]!.status, wideReason, options.timeScale),
      clean: {
        seed,
        endState: ends[2]!.endState ?? ends[2]!.status,
        falseAlarms: (runtime.trafficSimulator?.changes ?? []).filter((c) => c.alarmName.startsWith(prefix) && c.to === 'ALARM').map((c) => c.alarmName),
        // An inconclusive verdict with policy rollback ends the rollout in the check: its text is the reason.
        bakesJudged: verdicts.length + (cleanReason?.includes('canary analysis inconclusive') ? 1 : 0),
        bakesInconclusive: verdicts.filter((d) => d.includes('inconclusive')).length + (cleanReason?.includes('canary analysis inconclusive') ? 1 : 0),
        reason: cleanReason,
      },
      simulatorErrors: runtime.trafficSimulator?.errors.length ?? 0,
    };
  } finally {
    await runtime.stop();
  }
}

/** One clean rollout alone in its runtime, every function's transition, invocation and AWS call counted. */
async function costOf(options: AnalysisBenchOptions, analysis: boolean): Promise<CostCount> {
  const events: LocalEvent[] = [];
  const calls: Record<string, number> = {};
  let invocations = 0;
  // Which calls a function made: the simulator's calls (CloudWatch's and ALB's side) run outside every invocation.
  const inFunction = new AsyncLocalStorage<string>();
  const instrument: LocalInstrumentation = {
    client(client) {
      const stack = client.middlewareStack as unknown as {
        add(
          mw: (next: (args: unknown) => Promise<unknown>, context: { clientName?: string; commandName?: string }) => (args: unknown) => Promise<unknown>,
          options: { step: 'initialize'; name: string },
        ): void;
      };
      stack.add(
        (next, context) => (args) => {
          if (inFunction.getStore()) {
            const op = operationName(String(context.clientName), String(context.commandName));
            calls[op] = (calls[op] ?? 0) + 1;
          }
          return next(args);
        },
        { step: 'initialize', name: 'cutoverBenchAnalysisCalls' },
      );
    },
    invoke: (fn, run) => (event) => {
      invocations += 1;
      return inFunction.run(fn, () => run(event));
    },
  };
  const name = analysis ? 'costana' : 'costoff';
  const runtime = await LocalRuntime.start({
    emulator: options.emulator,
    timeScale: options.timeScale,
    notifications: false,
    instrument,
    services: [{ name, service: { plan: CanaryPlan.TEN_TWENTYFIVE_FIFTY_5M, ...(analysis ? { analysis: { onInconclusive: 'rollback' as const } } : {}) } }],
    traffic: { seed: options.seeds[0] ?? 1 },
    onEvent: (e) => events.push(e),
  });
  try {
    const { executions } = await pushAndDeliver(runtime, 'v2');
    const execution = executions[0];
    if (!execution) throw new Error(`analysis bench: the push to ${name} started no rollout`);
    const end = await runtime.sfn.wait(execution);
    await runtime.settle();
    const mine = events.filter((e) => e.execution === execution);
    return { endState: end.endState ?? end.status, transitions: transitions(mine), invocations, calls, bakeVerdicts: bakeVerdicts(events, execution).length };
  } finally {
    await runtime.stop();
  }
}

/** Runs the seeded runs, then the cost pair, and summarizes. */
export async function runAnalysis(options: AnalysisBenchOptions): Promise<AnalysisResult> {
  const progress = options.progress ?? (() => {});
  const regressionRuns: RegressionRun[] = [];
  const serviceWideRuns: RegressionRun[] = [];
  const cleanRuns: CleanRun[] = [];
  let simulatorErrors = 0;
  for (const seed of options.seeds) {
    const run = await seededRun(options, seed);
    regressionRuns.push(run.regression);
    serviceWideRuns.push(run.serviceWide);
    cleanRuns.push(run.clean);
    simulatorErrors += run.simulatorErrors;
    const show = (r: RegressionRun) => (r.caught ? `at ${r.caughtAtWeight}% after ${r.minutes} min` : `never (${r.endState})`);
    progress(`analysis: seed ${seed}: analysis ${show(run.regression)}; service-wide alarm ${show(run.serviceWide)}; clean ${run.clean.endState}, ${run.clean.falseAlarms.length} false alarms`);
  }
  const cost = { with: await costOf(options, true), without: await costOf(options, false) };
  return {
    seeds: options.seeds,
    timeScale: options.timeScale,
    requestsPerSecond: SIMULATION_DEFAULTS.requestsPerSecond,
    analysis: summarizeRegression(regressionRuns),
    serviceWide: summarizeRegression(serviceWideRuns),
    clean: {
      runs: cleanRuns.length,
      wronglyFailed: cleanRuns.filter((r) => r.falseAlarms.length > 0).length,
      rolledBack: cleanRuns.filter((r) => r.endState !== StateName.RolloutSucceeded).length,
      bakesJudged: cleanRuns.reduce((s, r) => s + r.bakesJudged, 0),
      bakesInconclusive: cleanRuns.reduce((s, r) => s + r.bakesInconclusive, 0),
    },
    cost,
    simulatorErrors,
    regressionRuns,
    serviceWideRuns,
    cleanRuns,
  };
}

/** The analysis's defaults as the table's caption gives them. */
export const ANALYSIS_CAPTION = `defaults: 5xx rate +${ANALYSIS_DEFAULTS.maxIncreasePoints} point, p99 +${ANALYSIS_DEFAULTS.maxIncreaseMs} ms, ${ANALYSIS_DEFAULTS.datapointsToAlarm} of ${ANALYSIS_DEFAULTS.evaluationPeriods} periods of ${ANALYSIS_DEFAULTS.periodSeconds} s, ≥ ${ANALYSIS_DEFAULTS.minRequests} requests a period on each slot`;
