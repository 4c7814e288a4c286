/**
 * Reaction time: from the moment an alarm's state is set (SetAlarmState answered by the emulator) to the
 * moment the listener's weights are back at 100% on the retained slot (the rollback's ModifyListener
 * answered), for Cutover's event-driven bake and for the polling baseline.
 *
 * Each trial starts a rollout with one bake, sets the alarm at a random moment of that bake (the same
 * moments for every variant: a seeded sequence), and measures. The local time splits in two:
 * - waiting: time spent in Wait states between the alarm and the restore (the polling variant waiting for
 *   its next poll). It is scaled, so it is converted back to real seconds (÷ timeScale);
 * - orchestration: everything else (functions, emulator calls, the runner), not scaled: local ms.
 * The estimated real reaction is waiting (real s) + orchestration (s). CloudWatch's own evaluation period
 * and EventBridge's delivery latency are outside both (the alarm's state is set directly).
 */
import { canary } from '../functions/core/plan';
import type { Emulator } from '../infra/local/moto';
import {
  alarmEvent,
  beforeListenerWrite,
  deliverTimed,
  designedWaits,
  eventsOf,
  fullOn,
  overlapMs,
  push,
  setAlarm,
  sleep,
  startBench,
  tokenStatesOf,
  until,
  type PathToWrite,
  variantName,
  type BenchRuntime,
  type Variant,
} from './harness';
import { round, seeded, summarize, type Summary } from './stats';
import { StateName } from '../state-machines/states';

export interface ReactionOptions {
  readonly emulator: Emulator;
  readonly variants: readonly Variant[];
  /** Trials per variant. */
  readonly trials: number;
  /**
   * Trials per variant run first and left out of the figures (the first calls of a process pay for its JIT and
   * its connections to the emulator; on AWS a cold start is modelled apart). @default 0
   */
  readonly warmup?: number;
  /** Local ms per real second ÷ 1000: 0.01 runs a 10 s poll interval in 100 ms. */
  readonly timeScale: number;
  /** Length of the bake the alarm fires in, real seconds. */
  readonly bakeSeconds: number;
  readonly seed?: number;
}

export interface ReactionTrial {
  readonly variant: string;
  /** When the alarm was set, real seconds after the bake began. */
  readonly offsetSeconds: number;
  readonly endState: string;
  /** Local ms from the alarm to the weights restored. */
  readonly localMs: number;
  /** Of which waiting for the next poll, converted to real seconds. */
  readonly waitingSeconds: number;
  /** Of which orchestration, local ms. */
  readonly orchestrationMs: number;
  /** waitingSeconds + orchestrationMs / 1000. */
  readonly reactionSeconds: number;
  /** The listener read back after the execution ended: all traffic on the retained slot. */
  readonly restoredOnRetained: boolean;
  /**
   * Between the alarm and the first listener write after it: the functions invoked (each a cold start on
   * AWS: this path rarely runs) and the AWS calls sent, in order.
   */
  readonly beforeWrite: PathToWrite;
}

export interface ReactionVariantResult {
  readonly variant: string;
  readonly trials: number;
  readonly allRolledBack: boolean;
  readonly reactionSeconds: Summary;
  readonly waitingSeconds: Summary;
  readonly orchestrationMs: Summary;
  readonly localMs: Summary;
  /** Functions invoked between the alarm and the listener write (cold starts on AWS), per trial. */
  readonly coldStarts: Summary;
  /** AWS calls between the alarm and the listener write, per trial. */
  readonly awsCalls: Summary;
  /** Of which one after the other. */
  readonly roundTrips: Summary;
  /** The path of the first trial, as an example. */
  readonly path: ReactionTrial['beforeWrite'];
}

export interface ReactionResult {
  readonly timeScale: number;
  /** Warm-up trials per variant, left out. */
  readonly warmup: number;
  readonly bakeSeconds: number;
  readonly variants: readonly ReactionVariantResult[];
  readonly trials: readonly ReactionTrial[];
}

async function trial(bench: BenchRuntime, offsetSeconds: number, n: number): Promise<ReactionTrial> {
  const env = bench.runtime.env;
  const { traffic } = bench.runtime.ports;
  const before = await traffic.readForward(env.service.listenerArn);
  const retained = Object.entries(before?.weights ?? {}).find(([, w]) => w === 100)?.[0];
  if (!retained) throw new Error(`reaction: ${env.service.name} is not at 100/0 before the trial`);
  const { execution } = await push(bench, env, `r${n}`);
  const inBake = () => bench.probe.events.find((e) => e.execution === execution && e.type === 'StateEntered' && e.state === bench.bakeState);
  await until(() => inBake() !== undefined || bench.runtime.sfn.executions.get(execution)?.status !== 'RUNNING', 30_000, `${execution} to reach its bake`);
  const bakeAt = inBake()?.at;
  if (bakeAt === undefined) throw new Error(`reaction: ${execution} ended before its bake`);
  await sleep(bakeAt + offsetSeconds * 1000 * bench.timeScale - Date.now());
  const alarm = env.service.alarms[0]!;
  const mark = `alarm ${n}`;
  bench.probe.trace.push({ kind: 'mark', name: mark });
  const setAt = await setAlarm(env.endpoint, alarm, 'ALARM', 'benchmark: threshold crossed');
  if (bench.variant.kind === 'event') await deliverTimed(bench, alarmEvent(alarm, 'benchmark: threshold crossed'));
  const done = await bench.runtime.sfn.wait(execution);
  await setAlarm(env.endpoint, alarm, 'OK', 'benchmark: back to normal');
  const restored = bench.probe.weights.find((w) => w.at >= setAt && w.listenerArn === env.service.listenerArn && fullOn(w) === retained);
  if (!restored) throw new Error(`reaction: ${execution} never put the weights back on the retained slot (ended in ${done.endState})`);
  const after = await traffic.readForward(env.service.listenerArn);
  const waits = designedWaits(eventsOf(bench.probe.events, execution), tokenStatesOf(bench.states));
  const localMs = restored.at - setAt;
  const waitingMs = overlapMs(waits, setAt, restored.at);
  const waitingSeconds = waitingMs / 1000 / bench.timeScale;
  const orchestrationMs = localMs - waitingMs;
  return {
    variant: variantName(bench.variant),
    offsetSeconds: round(offsetSeconds, 2),
    endState: done.endState ?? done.status,
    localMs,
    waitingSeconds: round(waitingSeconds, 3),
    orchestrationMs,
    reactionSeconds: round(waitingSeconds + orchestrationMs / 1000, 3),
    restoredOnRetained: after?.weights[retained] === 100,
    beforeWrite: beforeListenerWrite(bench.probe.trace, mark) ?? { invocations: [], calls: [], roundTrips: 0 },
  };
}

/** Runs the trials, variants interleaved (so drift of the machine hits all alike), and summarizes. */
export async function runReaction(options: ReactionOptions): Promise<ReactionResult> {
  const plan = canary([10, 100], options.bakeSeconds);
  const benches: BenchRuntime[] = [];
  try {
    for (const [i, variant] of options.variants.entries()) {
      benches.push(await startBench({ emulator: options.emulator, variant, timeScale: options.timeScale, services: [{ name: `react${i}`, service: { plan } }] }));
    }
    const random = seeded(options.seed ?? 6);
    const trials: ReactionTrial[] = [];
    const warmup = options.warmup ?? 0;
    for (let n = 0; n < warmup + options.trials; n += 1) {
      // Anywhere in the bake but its last 10%: a later alarm races the bake's own end (its alarm check runs
      // beside the abort), which is not the reaction to an alarm this measures.
      const offset = random() * options.bakeSeconds * 0.9;
      const order = benches.map((_, i) => benches[(i + n) % benches.length]!);
      for (const bench of order) {
        const t = await trial(bench, offset, n);
        if (n >= warmup) trials.push(t);
      }
    }
    const variants = options.variants.map((v) => {
      const mine = trials.filter((t) => t.variant === variantName(v));
      return {
        variant: variantName(v),
        trials: mine.length,
        allRolledBack: mine.every((t) => t.endState === StateName.RolledBack && t.restoredOnRetained),
        reactionSeconds: summarize(
          mine.map((t) => t.reactionSeconds),
          3,
        ),
        waitingSeconds: summarize(
          mine.map((t) => t.waitingSeconds),
          3,
        ),
        orchestrationMs: summarize(
          mine.map((t) => t.orchestrationMs),
          1,
        ),
        localMs: summarize(
          mine.map((t) => t.localMs),
          1,
        ),
        coldStarts: summarize(
          mine.map((t) => t.beforeWrite.invocations.length),
          1,
        ),
        awsCalls: summarize(
          mine.map((t) => t.beforeWrite.calls.length),
          1,
        ),
        roundTrips: summarize(
          mine.map((t) => t.beforeWrite.roundTrips),
          1,
        ),
        path: mine[0]?.beforeWrite ?? { invocations: [], calls: [], roundTrips: 0 },
      };
    });
    return { timeScale: options.timeScale, warmup, bakeSeconds: options.bakeSeconds, variants, trials };
  } finally {
    for (const b of benches) await b.stop();
  }
}
