/**
 * Scale: N rollouts at once on N services in one local environment (one emulator, one table, one runner).
 * Every service gets a push at the same moment; every tenth also gets a second, competing push at the
 * same moment (two images, two executions, one lock), so the lock is exercised under concurrency.
 *
 * Checked, not assumed:
 * - every rollout completes: every execution ends (none left running, none in "Rollback failed") and
 *   each service ends with exactly one succeeded rollout (what happens to the competing push is the
 *   service's concurrency policy: refused, queued, or superseding the older one; the end states are counted);
 * - zero lock violations: no two executions of one service are ever changing it at overlapping times (from
 *   entering their first changing state to leaving their last one, from the runner's events), and no lock
 *   item is left in DynamoDB;
 * - no listener is left split: every listener reads back 0/100 with all traffic on the new slot.
 * Measured: provisioning and wall time, and per rollout the push → end time without designed waits.
 */
import type { Emulator } from '../infra/local/moto';
import type { LocalEvent } from '../infra/local/sfn';
import { designedWaits, eventsOf, overlapMs, push, startBench, tokenStatesOf, type BenchRuntime, type Interval, type Variant } from './harness';
import { round, summarize, type Summary } from './stats';
import { StateName } from '../state-machines/states';

/** States that change something (the lock must be held while they run). */
export const CHANGING_STATES = new Set<string>([StateName.RegisterNewRevision, StateName.DeployToIdleSlot, StateName.ShiftTraffic, StateName.FinalizeRollout, StateName.RollBack]);

export interface ScaleRound {
  readonly n: number;
  /** Services that also got a competing push. */
  readonly contended: number;
  readonly executions: number;
  readonly succeeded: number;
  /** Executions by end state (the competing pushes end as the concurrency policy says). */
  readonly endStates: Readonly<Record<string, number>>;
  /** Why executions rolled back: the error that sent them to "Roll back", with its first cause. */
  readonly rollbackReasons: Readonly<Record<string, { readonly count: number; readonly example: string }>>;
  readonly allComplete: boolean;
  readonly lockViolations: number;
  readonly lockViolationDetails: readonly string[];
  readonly locksLeft: number;
  readonly splitListeners: number;
  readonly provisionSeconds: number;
  /** First push → last execution end, s. */
  readonly wallSeconds: number;
  /** Per succeeded rollout: push → end without designed waits, ms. */
  readonly orchestrationMs: Summary;
  /** Per succeeded rollout: push → first weight change without designed waits, ms. */
  readonly pushToFirstShiftMs: Summary;
  readonly rolloutsPerMinute: number;
  /** CPU seconds this Node process used during the round (the rest of the wall time is the emulator's or idle). */
  readonly nodeCpuSeconds: number;
}

export interface ScaleResult {
  readonly timeScale: number;
  readonly rounds: readonly ScaleRound[];
  /** N values not run, and why. */
  readonly skipped: ReadonlyArray<{ readonly n: number; readonly reason: string }>;
}

/**
 * When an execution was changing its service: from entering its first changing state to leaving its last
 * one. The lock must cover this; two executions of one service must never overlap here.
 */
export function changing(events: readonly LocalEvent[]): Interval | undefined {
  const first = events.find((e) => e.type === 'StateEntered' && CHANGING_STATES.has(e.state ?? ''));
  if (!first) return undefined;
  const last = events.findLast((e) => (e.type === 'StateExited' || e.type === 'StateFailed') && CHANGING_STATES.has(e.state ?? ''));
  return { start: first.at, end: Math.max(first.at, last?.at ?? events.at(-1)?.at ?? first.at) };
}

/** Lock violations among the executions of one service: two of them changing it at overlapping times. */
export function lockViolations(service: string, executions: ReadonlyArray<{ name: string; events: readonly LocalEvent[] }>): string[] {
  const problems: string[] = [];
  const spans = executions.map((e) => ({ name: e.name, span: changing(e.events) }));
  for (const [i, a] of spans.entries()) {
    for (const b of spans.slice(i + 1)) {
      if (a.span && b.span && a.span.start < b.span.end && b.span.start < a.span.end) problems.push(`${service}: ${a.name} and ${b.name} changed it at the same time`);
    }
  }
  return problems;
}

async function scaleRound(emulator: Emulator, variant: Variant, n: number, timeScale: number, contendEvery: number, deadlineSeconds: number, retryMs: number): Promise<ScaleRound> {
  await emulator.reset();
  const t0 = performance.now();
  const bench: BenchRuntime = await startBench({ emulator, variant, timeScale, retryMs, services: Array.from({ length: n }, (_, i) => ({ name: `svc${i}` })) });
  const provisionSeconds = (performance.now() - t0) / 1000;
  try {
    return await measureRound(bench, n, contendEvery, deadlineSeconds, provisionSeconds);
  } finally {
    await bench.stop();
  }
}

async function measureRound(bench: BenchRuntime, n: number, contendEvery: number, deadlineSeconds: number, provisionSeconds: number): Promise<ScaleRound> {
  const envs = bench.runtime.environments;
  const contended = envs.filter((_, i) => i % contendEvery === 0);

  const start = Date.now();
  const cpu = process.cpuUsage();
  const pushes = await Promise.all([
    ...envs.map((env) => push(bench, env, 'v2').then((p) => ({ ...p, service: env.service.name }))),
    ...contended.map((env) => push(bench, env, 'v3').then((p) => ({ ...p, service: env.service.name }))),
  ]);
  // Never hang the benchmark: what has not ended by the deadline counts as not complete.
  const deadline = new Promise<void>((resolve) => setTimeout(resolve, deadlineSeconds * 1000).unref());
  await Promise.race([bench.runtime.sfn.waitAll(), deadline]);
  const done = [...bench.runtime.sfn.executions.values()];
  const used = process.cpuUsage(cpu);
  const wallMs = Math.max(...done.map((d) => d.stoppedAt?.getTime() ?? Date.now())) - start;

  const tokenStates = tokenStatesOf(bench.states);
  const byService = new Map<string, Array<{ name: string; events: LocalEvent[]; pushedAt: number; status: string; endState?: string }>>();
  for (const p of pushes) {
    const execution = bench.runtime.sfn.executions.get(p.execution)!;
    const list = byService.get(p.service) ?? [];
    list.push({ name: p.execution, events: eventsOf(bench.probe.events, p.execution), pushedAt: p.pushedAt, status: execution.status, endState: execution.endState });
    byService.set(p.service, list);
  }
  const details: string[] = [];
  let succeeded = 0;
  const endStates: Record<string, number> = {};
  const rollbackReasons: Record<string, { count: number; example: string }> = {};
  let complete = true;
  const orchestration: number[] = [];
  const firstShift: number[] = [];
  for (const env of envs) {
    const runs = byService.get(env.service.name) ?? [];
    details.push(...lockViolations(env.service.name, runs));
    const ok = runs.filter((r) => r.endState === StateName.RolloutSucceeded);
    succeeded += ok.length;
    for (const r of runs) {
      endStates[r.endState ?? r.status] = (endStates[r.endState ?? r.status] ?? 0) + 1;
      const entered = r.events.findIndex((e) => e.type === 'StateEntered' && e.state === 'Roll back');
      const failure = entered < 0 ? undefined : r.events.slice(0, entered).findLast((e) => e.type === 'StateFailed');
      if (failure) {
        const key = `${failure.state}: ${failure.error}`;
        rollbackReasons[key] = { count: (rollbackReasons[key]?.count ?? 0) + 1, example: rollbackReasons[key]?.example ?? (failure.cause ?? '').slice(0, 200) };
      }
    }
    if (ok.length !== 1 || runs.some((r) => r.status === 'RUNNING' || r.endState === 'Rollback failed')) complete = false;
    for (const r of ok) {
      const end = r.events.at(-1)!.at;
      const waits = designedWaits(r.events, tokenStates);
      orchestration.push(end - r.pushedAt - overlapMs(waits, r.pushedAt, end));
      const shift = bench.probe.weights.find((w) => w.listenerArn === env.service.listenerArn && w.at >= r.pushedAt);
      if (shift) firstShift.push(shift.at - r.pushedAt - overlapMs(waits, r.pushedAt, shift.at));
    }
  }
  let locksLeft = 0;
  let split = 0;
  const { store, traffic } = bench.runtime.ports;
  for (const env of envs) {
    if (await store.getLock(env.service.name)) locksLeft += 1;
    const forward = await traffic.readForward(env.service.listenerArn);
    const weights = Object.values(forward?.weights ?? {});
    if (!weights.every((w) => w === 0 || w === 100) || weights.filter((w) => w === 100).length !== 1) split += 1;
  }
  return {
    n,
    contended: contended.length,
    executions: pushes.length,
    succeeded,
    endStates,
    rollbackReasons,
    allComplete: complete,
    lockViolations: details.length + locksLeft,
    lockViolationDetails: details.slice(0, 10),
    locksLeft,
    splitListeners: split,
    provisionSeconds: round(provisionSeconds, 1),
    wallSeconds: round(wallMs / 1000, 2),
    orchestrationMs: summarize(orchestration, 0),
    pushToFirstShiftMs: summarize(firstShift, 0),
    rolloutsPerMinute: round((n / wallMs) * 60_000, 0),
    nodeCpuSeconds: round((used.user + used.system) / 1e6, 1),
  };
}

export interface ScaleOptions {
  readonly emulator: Emulator;
  readonly variant: Variant;
  readonly sizes: readonly number[];
  readonly timeScale: number;
  /** Every how many services one gets a competing push. @default 10 */
  readonly contendEvery?: number;
  /**
   * Pause before a Task's retry, ms: not scaled, because an overloaded service recovers in real time. The
   * definition's first retry interval is 1 s (then doubling, with jitter). @default 1000
   */
  readonly retryMs?: number;
  /** Executions not ended this long after the pushes count as not complete, s. @default 300 */
  readonly deadlineSeconds?: number;
  /** Skip a size when the time spent so far plus its estimate passes this budget, s. @default Infinity */
  readonly budgetSeconds?: number;
}

/** Runs each size in turn on a reset emulator; sizes that would not fit the budget are skipped and said so. */
export async function runScale(options: ScaleOptions): Promise<ScaleResult> {
  const rounds: ScaleRound[] = [];
  const skipped: Array<{ n: number; reason: string }> = [];
  const t0 = performance.now();
  let secondsPerService = 0;
  for (const n of options.sizes) {
    const spent = (performance.now() - t0) / 1000;
    const estimate = secondsPerService * n;
    if (options.budgetSeconds !== undefined && spent + estimate > options.budgetSeconds) {
      skipped.push({ n, reason: `estimated ${Math.round(estimate)} s (from the previous size) would pass the ${options.budgetSeconds} s budget` });
      continue;
    }
    const started = performance.now();
    rounds.push(await scaleRound(options.emulator, options.variant, n, options.timeScale, options.contendEvery ?? 10, options.deadlineSeconds ?? 300, options.retryMs ?? 1000));
    secondsPerService = (performance.now() - started) / 1000 / n;
  }
  return { timeScale: options.timeScale, rounds, skipped };
}
