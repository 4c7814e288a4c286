/**
 * Whose turn it is: the per-service concurrency policy over the lock and the queue.
 *
 * - `reject`: a push while a rollout is in flight is refused.
 * - `queue`: it waits (on a task token, no polling) and runs after, in push order.
 * - `supersede` (default): the rollout in flight is aborted (it rolls back cleanly) and the newest push
 *   runs next; older waiting pushes are dropped.
 *
 * Whoever releases a lock calls {@link wakeNext}, so a waiting rollout resumes at once.
 */
import type { ServiceConfig } from './config';
import { ErrorName, RolloutAbortedError } from './errors';
import type { Clock, Executions, LockRecord, Log, RolloutStore } from './ports';

export interface TurnDeps {
  readonly store: RolloutStore;
  readonly executions: Executions;
  readonly clock: Clock;
  readonly log: Log;
}

/** The end states of an execution: a lock held by one of these is stale and may be taken over. */
const ENDED = new Set(['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED']);

/** A lock with no execution behind it (a restore from chat that died half-way) is stale after this. */
export const ORPHAN_LOCK_MS = 10 * 60 * 1000;

/**
 * True if the lock's execution has ended without releasing it (stopped by hand, crashed past its retries),
 * or if no execution stands behind it and it is older than {@link ORPHAN_LOCK_MS}.
 */
export async function isStale(holder: LockRecord, deps: Pick<TurnDeps, 'executions'> & { readonly clock?: Clock }): Promise<boolean> {
  const status = await deps.executions.status(holder.rolloutId);
  if (ENDED.has(status)) return true;
  if (status !== 'UNKNOWN' || !deps.clock) return false;
  const age = deps.clock.now().getTime() - Date.parse(holder.startedAt);
  return Number.isFinite(age) && age > ORPHAN_LOCK_MS;
}

/** Supersede: abort the rollout in flight for a newer push, through the same path as an alarm. */
export async function supersede(holder: LockRecord, newer: string, deps: TurnDeps): Promise<void> {
  const reason = `superseded by the newer push ${newer}`;
  const marked = await deps.store.markAborted(holder.service, holder.rolloutId, { error: ErrorName.RolloutAborted, reason, at: deps.clock.now().toISOString() });
  if (marked?.taskToken) await deps.executions.failTask(marked.taskToken, ErrorName.RolloutAborted, new RolloutAbortedError(reason).message);
  deps.log.info('rollout superseded', { service: holder.service, rolloutId: holder.rolloutId, by: newer });
}

/**
 * After a lock was released: resume the waiting rollout whose turn it is (the oldest for `queue`, the
 * newest for `supersede`, whose older waiters are dropped as superseded). Tokens of executions that ended
 * meanwhile are skipped. Returns the rollout woken, if any.
 */
export async function wakeNext(service: ServiceConfig, deps: TurnDeps): Promise<string | undefined> {
  const queue = await deps.store.queued(service.name);
  if (queue.length === 0) return undefined;
  const newestFirst = (service.concurrency ?? 'supersede') === 'supersede';
  const order = newestFirst ? [...queue].reverse() : queue;
  let woken: string | undefined;
  for (const item of order) {
    if (woken && newestFirst) {
      await deps.executions.failTask(item.taskToken, ErrorName.Superseded, `superseded by the newer push ${woken}`);
      await deps.store.dequeue(item.service, item.rolloutId, item.pushedAt);
      continue;
    }
    if (woken) break;
    if (await deps.executions.succeedTask(item.taskToken, { turn: true })) woken = item.rolloutId;
    else await deps.store.dequeue(item.service, item.rolloutId, item.pushedAt); // its execution is gone
  }
  if (woken) deps.log.info('next rollout woken', { service: service.name, rolloutId: woken });
  return woken;
}

/**
 * {@link wakeNext} once this rollout has released the lock and is done: a failure to wake the next push
 * must not undo a rollout that succeeded nor turn a complete rollback into `Rollback failed`. A waiting
 * rollout that is not woken resumes when its wait for the turn times out (or at the next release).
 */
export async function wakeNextAfterRelease(service: ServiceConfig, deps: TurnDeps): Promise<void> {
  try {
    await wakeNext(service, deps);
  } catch (error) {
    deps.log.warn('next waiting rollout not woken; it resumes when its wait for the turn times out', {
      service: service.name,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
  }
}
