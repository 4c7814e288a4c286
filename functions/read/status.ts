/**
 * A service's rollout status as data, read through the same ports the functions use (locks and history,
 * listener weights, alarms) plus the execution's own progress (the state it is in, the newest decision its
 * states wrote). The CLI reads it from AWS (`--stack`) or asks a running `local up` for it (`--local`, which
 * builds it with this same code); `status --watch` reads it again every second or two and renders it with
 * `functions/read/view.ts`.
 */
import type { ServiceConfig, Slot } from '../core/config';
import type { PlanStep } from '../core/plan';
import type { Alarms, Clock, HistoryRecord, LockRecord, RolloutStore, TestRuleRecord, Traffic, WaitRecord } from '../core/ports';
import { slotWeights, type Weights } from '../core/rollout';
import { StateName } from '../../state-machines/states';

/** Where an execution is: the state it entered last, and the newest decision one of its states wrote. */
export interface ExecutionProgress {
  /** RUNNING, SUCCEEDED, FAILED... when known. */
  readonly status?: string;
  /** The state it entered last ("Bake", "Check new tasks are steady"). */
  readonly state?: string;
  readonly decision?: { readonly state: string; readonly text: string };
}

/** Reads an execution's progress by its name (the rollout id). */
export interface ExecutionReader {
  progress(rolloutId: string): Promise<ExecutionProgress | undefined>;
}

/** One history record, as status shows it. */
export interface RolloutSummary {
  readonly rolloutId: string;
  readonly outcome: string;
  readonly startedAt: string;
  readonly endedAt?: string;
  readonly reason?: string;
  readonly image?: string;
  readonly liveSlot?: Slot;
  readonly weights?: Weights;
}

/** The rollout in progress, from its lock and its execution. */
export interface ActiveRollout {
  readonly rolloutId: string;
  readonly startedAt: string;
  /** The plan step the canary loop is at (absent before the canary starts). */
  readonly stepIndex?: number;
  readonly newSlot?: Slot;
  readonly wait?: WaitRecord;
  /** An operator's pause, or Cutover's own hold (`reason`: the retained slot cannot take the traffic back). */
  readonly pause?: { readonly by: string; readonly at: string; readonly reason?: string };
  readonly abort?: { readonly error: string; readonly reason: string; readonly at: string };
  /** The test cohort's listener rule (services with `testTraffic`), while it exists or once it was removed. */
  readonly testRule?: TestRuleRecord;
  /** The state the execution is in. */
  readonly state?: string;
  readonly image?: string;
  /** The execution in the Step Functions console (AWS only). */
  readonly executionUrl?: string;
}

/** Everything `status` shows for one service, at one moment. */
export interface RolloutStatus {
  readonly service: string;
  /** When it was read (ISO). */
  readonly at: string;
  readonly plan: readonly PlanStep[];
  /** The listener's weights now; absent if the listener cannot be read. */
  readonly weights?: Weights;
  /** Every watched alarm with its state (`MISSING` if it does not exist). */
  readonly alarms: ReadonlyArray<{ readonly name: string; readonly state: string }>;
  readonly active?: ActiveRollout;
  /** The newest decision of the rollout in progress (or of the last one). */
  readonly decision?: { readonly state: string; readonly text: string };
  /** The newest rollouts, newest first (refusals included). */
  readonly recent: readonly RolloutSummary[];
  /**
   * The rollout this view follows, once it has ended (`status --watch`): its record, and the step it had
   * reached when it was last seen running.
   */
  readonly ended?: RolloutSummary & { readonly stepIndex?: number };
  /**
   * What the watch has to say besides the status: after `--wait-start`, whether there was no rollout at
   * all yet or none new since the last one.
   */
  readonly notice?: string;
}

export interface StatusDeps {
  readonly store: RolloutStore;
  readonly traffic: Traffic;
  readonly alarms: Alarms;
  readonly clock: Clock;
  /** The executions' progress. @default none: no state and no decision shown */
  readonly executions?: ExecutionReader;
  /** Link to an execution (by its name, the rollout id). @default none */
  readonly executionUrl?: (rolloutId: string) => string;
}

const summary = (h: HistoryRecord): RolloutSummary => ({
  rolloutId: h.rolloutId,
  outcome: h.outcome ?? 'RUNNING',
  startedAt: h.startedAt,
  endedAt: h.endedAt,
  reason: h.reason,
  image: h.image,
  liveSlot: h.liveSlot,
  weights: h.weights,
});

const activeOf = (lock: LockRecord, progress: ExecutionProgress | undefined, record: HistoryRecord | undefined, url: string | undefined): ActiveRollout => ({
  rolloutId: lock.rolloutId,
  startedAt: lock.startedAt,
  stepIndex: lock.stepIndex,
  newSlot: lock.newSlot,
  wait: lock.wait,
  pause: lock.pause,
  abort: lock.abort,
  ...(lock.testRule ? { testRule: lock.testRule } : {}),
  state: progress?.state,
  image: record?.image,
  ...(url?.startsWith('https://') ? { executionUrl: url } : {}),
});

/** Reads a service's status. Read-only: nothing is written. */
export async function readStatus(service: ServiceConfig, deps: StatusDeps): Promise<RolloutStatus> {
  const [lock, forward, alarms, history] = await Promise.all([
    deps.store.getLock(service.name),
    deps.traffic.readForward(service.listenerArn),
    deps.alarms.describe(service.alarms),
    deps.store.listHistory(service.name, 5),
  ]);
  const subject = lock?.rolloutId ?? history.find((h) => h.outcome !== 'REFUSED')?.rolloutId;
  const progress = subject ? await deps.executions?.progress(subject) : undefined;
  const weights = forward ? slotWeights(forward.weights, service.slots) : undefined;
  return {
    service: service.name,
    at: deps.clock.now().toISOString(),
    plan: service.plan.steps,
    weights,
    alarms: service.alarms.map((name) => ({ name, state: alarms.find((a) => a.name === name)?.state ?? 'MISSING' })),
    active: lock
      ? activeOf(
          lock,
          progress,
          history.find((h) => h.rolloutId === lock.rolloutId),
          deps.executionUrl?.(lock.rolloutId),
        )
      : undefined,
    decision: progress?.decision,
    recent: history.map(summary),
  };
}

/** How a watch ends: 0 succeeded; 1 rolled back, failed or refused; 2 still running when the watch timed out. */
export const WatchExit = { SUCCEEDED: 0, NOT_SUCCEEDED: 1, TIMED_OUT: 2 } as const;

/** The exit code for a rollout's outcome. */
export const exitCodeOf = (outcome: string | undefined): number => (outcome === 'SUCCEEDED' ? WatchExit.SUCCEEDED : WatchExit.NOT_SUCCEEDED);

/**
 * One step of `status --watch`: given what the watch follows so far and a fresh status, what to show and
 * whether the watch is over. Pure.
 *
 * - While a rollout is in progress, the watch follows it (the first one it sees).
 * - When the followed rollout's lock is gone (or a newer rollout holds it) and its history record has an
 *   outcome, the watch ends with that outcome and the step it last saw it at.
 * - When nothing is in progress and nothing was followed, the watch ends at once with the last result,
 *   unless it is still allowed to wait for a rollout to start (`waitingForStart`).
 */
export function watchStep(
  followed: { readonly rolloutId: string; readonly stepIndex?: number } | undefined,
  status: RolloutStatus,
  waitingForStart: boolean,
  waitedMs = 0,
): { followed?: { rolloutId: string; stepIndex?: number }; view: RolloutStatus; done: boolean; exitCode?: number } {
  const active = status.active;
  if (followed && active?.rolloutId === followed.rolloutId) {
    return { followed: { rolloutId: followed.rolloutId, stepIndex: active.stepIndex ?? followed.stepIndex }, view: status, done: false };
  }
  if (followed) {
    const record = status.recent.find((r) => r.rolloutId === followed.rolloutId);
    if (!record || record.outcome === 'RUNNING') return { followed, view: status, done: false }; // ending: the record comes next
    // The last frame shows the followed rollout's result alone, never the step, wait or decision of the
    // rollout that may hold the lock now (a newer push that superseded it).
    return { followed, view: { ...withoutOther(status), ended: { ...record, stepIndex: followed.stepIndex } }, done: true, exitCode: exitCodeOf(record.outcome) };
  }
  if (active) return watchStep({ rolloutId: active.rolloutId, stepIndex: active.stepIndex }, status, waitingForStart, waitedMs);
  if (waitingForStart) return { view: status, done: false };
  const last = status.recent[0];
  const notice = waitedMs > 0 ? waitNotice(last, waitedMs) : undefined;
  return { view: { ...(last ? { ...status, ended: last } : status), ...(notice ? { notice } : {}) }, done: true, exitCode: last ? exitCodeOf(last.outcome) : WatchExit.SUCCEEDED };
}

/**
 * A status without the rollout in progress when that is not the one a watch follows (a newer push that
 * superseded it holds the lock): its step, wait and decision would mix with the followed one's result.
 */
function withoutOther(status: RolloutStatus): RolloutStatus {
  if (!status.active) return status;
  const { active: _other, decision: _its, ...rest } = status;
  return rest;
}

/** What a watch that waited for a rollout to begin, in vain, says: no rollout at all yet, or none new. */
function waitNotice(last: RolloutSummary | undefined, waitedMs: number): string {
  const waited = `${Math.round(waitedMs / 100) / 10}s`;
  return last
    ? `no new rollout began within ${waited} (--wait-start); the last one, ${last.rolloutId}, ended ${last.outcome}`
    : `no rollout began within ${waited} (--wait-start), and there is none yet`;
}

/** Options of {@link watch}. */
export interface WatchOptions {
  /** Reads the status once. */
  readonly read: () => Promise<RolloutStatus>;
  /** Shows a status (a frame). */
  readonly show: (status: RolloutStatus, final: boolean) => void;
  /** Time between two reads, ms. @default 1000 */
  readonly intervalMs?: number;
  /** Longest watch, ms; then exit code 2. @default 2 hours */
  readonly timeoutMs?: number;
  /** How long to wait for a rollout to begin when none is in progress, ms. @default 0 */
  readonly waitStartMs?: number;
  /** For tests. @default real time */
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * Follows the current rollout to its end. Resolves with the exit code: 0 succeeded, 1 rolled back / failed
 * / refused (or the last result when nothing is in progress), 2 timed out. Bounded by `timeoutMs`.
 */
export async function watch(options: WatchOptions): Promise<number> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const interval = options.intervalMs ?? 1000;
  const started = now();
  const deadline = started + (options.timeoutMs ?? 2 * 3600_000);
  let followed: { rolloutId: string; stepIndex?: number } | undefined;
  for (;;) {
    const status = await options.read();
    const step = watchStep(followed, status, now() - started < (options.waitStartMs ?? 0), options.waitStartMs ?? 0);
    followed = step.followed;
    if (step.done) {
      options.show(step.view, true);
      return step.exitCode ?? WatchExit.SUCCEEDED;
    }
    options.show(step.view, false);
    if (now() + interval > deadline) return WatchExit.TIMED_OUT;
    await sleep(interval);
  }
}

/**
 * Where each Task state writes its result (`ResultPath`, `$.live` → `live`), from the definition itself,
 * so the decision of a state is found where the state machine puts it.
 */
export function resultKeys(definition: { readonly States: Readonly<Record<string, { readonly Type?: string; readonly ResultPath?: unknown }>> }): Record<string, string> {
  return Object.fromEntries(
    Object.entries(definition.States)
      .filter(([, s]) => s.Type === 'Task' && typeof s.ResultPath === 'string' && /^\$\.[A-Za-z]+$/.test(s.ResultPath))
      .map(([name, s]) => [name, String(s.ResultPath).slice(2)]),
  );
}

/**
 * The decision a state wrote, from its output (the whole execution state): its result's `decision`, or what
 * a wait's outcome means when Step Functions wrote it (a bake's timeout, a promote, a resume).
 */
export function decisionOf(state: string, output: unknown, keys: Readonly<Record<string, string>>): string | undefined {
  const key = keys[state];
  if (!key || typeof output !== 'object' || output === null) return undefined;
  const value = (output as Record<string, unknown>)[key] as { decision?: unknown; Error?: unknown; promotedBy?: unknown; full?: unknown; resumedBy?: unknown } | undefined;
  if (typeof value?.decision === 'string') return value.decision;
  if (value?.Error === 'States.Timeout') return state === StateName.Bake ? 'bake time over, every alarm quiet' : `${state}: timed out`;
  if (value?.Error === 'PauseLifted') return 'resumed';
  if (typeof value?.promotedBy === 'string') return `ended early by promote${value.full ? ' --full' : ''} from ${value.promotedBy}`;
  if (typeof value?.resumedBy === 'string') return `resumed by ${value.resumedBy}`;
  return undefined;
}

/**
 * What makes two statuses different frames: everything but the clock (a bake's countdown moves every
 * second; the rollout, its step, its wait, the weights, the alarms, the decision and the result do not).
 */
export function changeKey(status: RolloutStatus): string {
  const a = status.active;
  return JSON.stringify([
    a && [a.rolloutId, a.stepIndex, a.state, a.wait?.kind, a.wait?.since, a.pause?.by, a.pause?.reason, a.abort?.reason],
    status.weights,
    status.alarms,
    status.decision,
    status.ended && [status.ended.rolloutId, status.ended.outcome, status.ended.reason],
    status.notice,
  ]);
}
