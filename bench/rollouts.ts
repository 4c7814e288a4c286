/**
 * Whole rollouts on the happy path, for the orchestration overhead and the cost per rollout: the default
 * plan (10% → bake 5m → 25% → bake 5m → 50% → bake 5m → 100%) run end to end, once per repetition, for each
 * variant. From the runner's records:
 * - overhead: push event → first weight change, last bake's end → execution end, and the whole rollout,
 *   each without the designed waits (Wait states: ECS start polls, the rollback window, polls; and bakes);
 * - cost: state transitions (states entered + retries, as AWS bills them), Lambda invocations (the runner's
 *   plus the start function the push event invoked) and GB-seconds (each invocation's measured duration,
 *   rounded up to the ms as Lambda bills it, × the construct's default memory), and history events.
 */
import type { PlanStep } from '../functions/core/plan';
import type { Emulator } from '../infra/local/moto';
import { designedWaits, eventsOf, historyEvents, overlapMs, push, startBench, tokenStatesOf, transitions, variantName, type BenchRuntime, type Variant } from './harness';
import { round, summarize, type Summary } from './stats';
import { StateName } from '../state-machines/states';

/** Memory of every function by default (CutoverDefaults.memorySize in infra/cutover.ts), MiB. */
export const DEFAULT_MEMORY_MB = 256;

export interface RolloutRun {
  readonly variant: string;
  readonly status: string;
  /** Push event handed to the bus → first weight change, without designed waits. ms */
  readonly pushToFirstShiftMs: number;
  /** The last bake's end → the new slot at 100%, ms (no designed waits in between). */
  readonly lastBakeToFullShiftMs: number;
  /** The last bake's end → the execution's end, without the rollback window. ms */
  readonly lastBakeToEndMs: number;
  /** Push → end, without designed waits. ms */
  readonly orchestrationMs: number;
  readonly transitions: number;
  readonly historyEvents: number;
  /** History events written before the first bake began (ExecutionStarted included). */
  readonly historyEventsBeforeFirstBake: number;
  readonly invocations: Readonly<Record<string, number>>;
  readonly invocationCount: number;
  /** Σ ceil(ms) of every invocation (Lambda bills duration rounded up to 1 ms). */
  readonly billedMs: number;
  readonly gbSeconds: number;
}

export interface RolloutSummary {
  readonly variant: string;
  readonly runs: number;
  readonly allSucceeded: boolean;
  readonly pushToFirstShiftMs: Summary;
  readonly lastBakeToFullShiftMs: Summary;
  readonly lastBakeToEndMs: Summary;
  readonly orchestrationMs: Summary;
  /** Counts do not vary between runs of the same plan; the median run's are given. */
  readonly transitions: number;
  readonly historyEvents: number;
  readonly invocationCount: number;
  readonly invocations: Readonly<Record<string, number>>;
  readonly gbSeconds: Summary;
}

/** Runs one rollout to the end and reads its figures off the records. */
export async function runRollout(bench: BenchRuntime, tag: string): Promise<RolloutRun> {
  const env = bench.runtime.env;
  const before = bench.probe.invocations.length;
  const { execution, pushedAt } = await push(bench, env, tag);
  const done = await bench.runtime.sfn.wait(execution);
  const events = eventsOf(bench.probe.events, execution);
  const end = events.find((e) => e.type === 'ExecutionSucceeded' || e.type === 'ExecutionFailed')?.at ?? Date.now();
  const waits = designedWaits(events, tokenStatesOf(bench.states));
  const shifts = bench.probe.weights.filter((w) => w.listenerArn === env.service.listenerArn && w.at >= pushedAt && w.at <= end);
  const first = shifts[0];
  const full = shifts.findLast((w) => w.weights.some((x) => x.weight === 100));
  if (!first || !full) throw new Error(`rollout ${execution} changed no weights (ended in ${done.endState})`);
  const lastBake = waits.filter((w) => w.end <= full.at).at(-1);
  const lastBakeEnd = lastBake?.end ?? first.at;
  const without = (from: number, to: number) => to - from - overlapMs(waits, from, to);
  const mine = bench.probe.invocations.slice(before).filter((i) => i.at >= pushedAt && i.at <= end);
  const invocations: Record<string, number> = {};
  for (const i of mine) invocations[i.fn] = (invocations[i.fn] ?? 0) + 1;
  const billedMs = mine.reduce((sum, i) => sum + Math.ceil(i.ms), 0);
  return {
    variant: variantName(bench.variant),
    status: done.endState ?? done.status,
    pushToFirstShiftMs: without(pushedAt, first.at),
    lastBakeToFullShiftMs: without(lastBakeEnd, full.at),
    lastBakeToEndMs: without(lastBakeEnd, end),
    orchestrationMs: without(pushedAt, end),
    transitions: transitions(events),
    historyEvents: historyEvents(events, tokenStatesOf(bench.states)),
    historyEventsBeforeFirstBake:
      historyEvents(
        events.slice(
          0,
          Math.max(
            0,
            events.findIndex((e) => e.type === 'StateEntered' && e.state === bench.bakeState),
          ),
        ),
        tokenStatesOf(bench.states),
      ) - 1,
    invocations,
    invocationCount: mine.length,
    billedMs,
    gbSeconds: (billedMs / 1000) * (DEFAULT_MEMORY_MB / 1024),
  };
}

/** Summarizes the runs of one variant. */
export function summarizeRuns(variant: string, runs: readonly RolloutRun[]): RolloutSummary {
  const byTransitions = [...runs].sort((a, b) => a.transitions - b.transitions);
  const typical = byTransitions[Math.floor(byTransitions.length / 2)]!;
  return {
    variant,
    runs: runs.length,
    allSucceeded: runs.every((r) => r.status === StateName.RolloutSucceeded),
    pushToFirstShiftMs: summarize(
      runs.map((r) => r.pushToFirstShiftMs),
      1,
    ),
    lastBakeToFullShiftMs: summarize(
      runs.map((r) => r.lastBakeToFullShiftMs),
      1,
    ),
    lastBakeToEndMs: summarize(
      runs.map((r) => r.lastBakeToEndMs),
      1,
    ),
    orchestrationMs: summarize(
      runs.map((r) => r.orchestrationMs),
      1,
    ),
    transitions: typical.transitions,
    historyEvents: typical.historyEvents,
    invocationCount: typical.invocationCount,
    invocations: typical.invocations,
    gbSeconds: summarize(
      runs.map((r) => r.gbSeconds),
      4,
    ),
  };
}

export interface RolloutsOptions {
  readonly emulator: Emulator;
  readonly variants: ReadonlyArray<{ readonly variant: Variant; readonly runs: number }>;
  readonly timeScale: number;
  /** Runs per variant not counted, first (cold handlers and SDK clients). @default 1 */
  readonly warmup?: number;
  /** The plan. @default the default plan */
  readonly plan?: { readonly steps: readonly PlanStep[] };
  /** Name prefix of the services provisioned. @default 'cost' */
  readonly name?: string;
}

export interface RolloutsResult {
  readonly timeScale: number;
  readonly summaries: readonly RolloutSummary[];
  readonly runs: readonly RolloutRun[];
}

/** Runs the rollouts of every variant (variants interleaved) and summarizes them. */
export async function runRollouts(options: RolloutsOptions): Promise<RolloutsResult> {
  const warmup = options.warmup ?? 1;
  const benches: Array<{ bench: BenchRuntime; runs: number }> = [];
  for (const [i, { variant, runs }] of options.variants.entries()) {
    const bench = await startBench({
      emulator: options.emulator,
      variant,
      timeScale: options.timeScale,
      services: [{ name: `${options.name ?? 'cost'}${i}`, service: options.plan ? { plan: options.plan } : {} }],
    });
    benches.push({ bench, runs });
  }
  const counted: RolloutRun[] = [];
  try {
    const rounds = Math.max(...benches.map((b) => b.runs)) + warmup;
    for (let n = 0; n < rounds; n += 1) {
      for (const { bench, runs } of benches) {
        if (n >= runs + warmup) continue;
        const run = await runRollout(bench, `v${n + 2}`);
        if (n >= warmup) counted.push(run);
      }
    }
  } finally {
    for (const { bench } of benches) await bench.stop();
  }
  const summaries = options.variants.map(({ variant }) =>
    summarizeRuns(
      variantName(variant),
      counted.filter((r) => r.variant === variantName(variant)),
    ),
  );
  return { timeScale: options.timeScale, summaries, runs: counted.map((r) => ({ ...r, gbSeconds: round(r.gbSeconds, 5) })) };
}
