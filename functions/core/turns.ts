/**
 * Whose turn it is: the per-service concurrency policy over the lock and the queue.
 *
 * - `reject`: a push while a rollout is in flight is refused.
 * - `queue`: it waits (on a task token, no polling) and runs after, in push order (ECR's `imagePushedAt`).
 * - `supersede` (default): a newer push aborts the rollout in flight (it rolls back cleanly) and runs next;
 *   an older push than the one in flight or waiting is dropped.
 *
 * Whoever releases a lock calls {@link wakeNext}, so a waiting rollout resumes at once. Every push that is
 * dropped gets a history record that says so and why.
 */
import type { ServiceConfig } from './config';
import { ErrorName } from './errors';
import { abortRollout } from './abort';
import type { Clock, Executions, LockRecord, Log, QueuedRollout, HistoryStore, LockStore, QueueStore } from './ports';

export interface TurnDeps {
  readonly store: Pick<LockStore, 'markAborted'> & QueueStore & Pick<HistoryStore, 'putHistory'>;
  readonly executions: Executions;
  readonly clock: Clock;
  readonly log: Log;
}

/** Supersede: abort the rollout in flight for a newer push, through the one abort path. */
export async function supersede(holder: LockRecord, newer: string, deps: TurnDeps): Promise<void> {
  await abortRollout(holder, ErrorName.RolloutAborted, `superseded by the newer push ${newer}`, deps);
  deps.log.info('rollout superseded', { service: holder.service, rolloutId: holder.rolloutId, by: newer });
}

/** Writes the record of a push that will not roll out because a newer one did or will. */
async function recordDropped(item: Pick<QueuedRollout, 'service' | 'rolloutId' | 'image' | 'pushedAt'>, reason: string, deps: Pick<TurnDeps, 'store' | 'clock'>): Promise<void> {
  const now = deps.clock.now().toISOString();
  // Keyed by the push time, as Prepare and reconcile key a push that never took the service: one record.
  await deps.store.putHistory({ service: item.service, rolloutId: item.rolloutId, startedAt: item.pushedAt, endedAt: now, outcome: 'SUPERSEDED', image: item.image, pushedAt: item.pushedAt, reason });
}

/**
 * After a lock was released: resume the waiting rollout whose turn it is (the oldest push for `queue`, the
 * newest for `supersede`, whose older waiters are dropped and recorded as superseded). Tokens of
 * executions that ended meanwhile are skipped. Returns the rollout woken, if any.
 */
export async function wakeNext(service: ServiceConfig, deps: TurnDeps): Promise<string | undefined> {
  // Oldest push first, as the queue port keeps it (ECR push time, then rollout id: the digest).
  const queue = await deps.store.queued(service.name);
  if (queue.length === 0) return undefined;
  const newestFirst = (service.concurrency ?? 'supersede') === 'supersede';
  const order = newestFirst ? [...queue].reverse() : queue;
  let woken: string | undefined;
  for (const item of order) {
    if (woken && newestFirst) {
      const reason = `superseded while waiting by the newer push ${woken}`;
      if (await deps.executions.failTask(item.taskToken, ErrorName.Superseded, reason)) await recordDropped(item, reason, deps);
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
