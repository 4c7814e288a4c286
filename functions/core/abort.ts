/**
 * The one abort path, used by the alarm, ECS-event, chat and supersede paths: mark the rollout aborted on
 * its lock (first reason wins), then fail the waiting task token so a bake, gate or hold ends at once. A
 * rollout between two states sees the mark at its next fence or check.
 *
 * In one hop (the alarm and chat paths): the abort's write is also a fence of the rollout's generation, so
 * the function that received the alarm puts all traffic back on the retained slot itself, under the
 * ownership protocol, instead of waiting for the state machine to start the rollback function. The
 * rollback then does the rest (the idle slot, the records, the lock) and writes the same weights again.
 */
import { describeError, type ErrorName } from './errors';
import { DEFAULT_LEASE_MS, holderOf, Writer } from './lease';
import type { Clock, Executions, Fallback, ListenerActions, LockRecord, Log, RolloutStore, Traffic } from './ports';
import type { Watcher } from './watchers';

export interface AbortDeps {
  readonly store: Pick<RolloutStore, 'markAborted'>;
  readonly executions: Pick<Executions, 'failTask'>;
  readonly clock: Clock;
}

/** What the abort path needs to restore the traffic itself. */
export interface OneHopDeps {
  readonly traffic: Pick<Traffic, 'readActions' | 'setWeights'>;
  readonly log: Log;
  /** This invocation (its lease is closed when it ends cleanly). @default a writer of this abort alone */
  readonly writer?: Writer;
  /** @default {@link DEFAULT_LEASE_MS} */
  readonly leaseMs?: number;
}

export interface Aborted {
  /** The lock as the abort left it. */
  readonly lock: LockRecord;
  /** Whether a waiting task was resumed now. */
  readonly resumed: boolean;
  /** Whether this call put all traffic back on the retained slot itself. */
  readonly restored: boolean;
}

export type AbortErrorName = typeof ErrorName.AlarmFired | typeof ErrorName.RolloutAborted | typeof ErrorName.DeploymentFailed;

/**
 * Aborts the rollout holding `holder` (as read). Returns undefined when it no longer holds the lock (it ended
 * meanwhile). With `oneHop`, and once Prepare has recorded the rollout's fallback, the listener is put back
 * on the retained slot before this returns: the abort's write proves the generation (and leases this
 * invocation, so no later owner writes before it is done), the listener's actions are read beside it, and
 * the weights are set, then the task is failed. A failed listener write is logged, not thrown (its lease is
 * left to run out): the state machine's rollback writes the same weights again.
 */
export async function abortRollout(
  holder: Pick<LockRecord, 'service' | 'rolloutId' | 'generation' | 'role' | 'fallback'>,
  error: AbortErrorName,
  reason: string,
  deps: AbortDeps,
  oneHop?: OneHopDeps,
): Promise<Aborted | undefined> {
  const now = deps.clock.now();
  const abort = { error, reason, at: now.toISOString() };
  const fallback = (holder.role ?? 'rollout') === 'rollout' ? holder.fallback : undefined;
  if (!oneHop || !fallback) {
    const lock = await deps.store.markAborted(holder.service, holder.rolloutId, abort);
    if (!lock) return undefined;
    return { lock, resumed: await resume(lock, error, reason, deps), restored: false };
  }
  const writer = oneHop.writer ?? newWriter(holder.rolloutId, now);
  const leaseUntil = leaseEnd(now, oneHop);
  const fence = { generation: holder.generation, leaseUntil, writer: writer.id, holder: holderOf({ rolloutId: holder.rolloutId }), target: fallback.target };
  const [lock, read] = await Promise.all([
    deps.store.markAborted(holder.service, holder.rolloutId, abort, fence),
    // Only a read: if it fails, the write below reads again.
    oneHop.traffic.readActions(fallback.listenerArn).catch(() => undefined),
  ]);
  if (!lock) return undefined;
  return restoreAndResume(lock, fallback, read, writer, error, reason, deps, oneHop);
}

/**
 * The alarm path's one hop without reading the locks first: one write per service that watches the alarm
 * (see {@link LockStore.abortWatching}), the listener read beside it, then the listener written, then the
 * task failed: two calls one after the other before the traffic is back. A service whose lock the write
 * does not match (no rollout in flight, another alarm, a restore or recovery holding it, or a rollout before
 * Prepare recorded its fallback) goes through {@link abortRollout} with the lock as it is, when that lock
 * watches the alarm. Undefined: no rollout in flight on this service watches it.
 */
export async function abortWatching(
  watcher: Watcher,
  alarm: string,
  error: AbortErrorName,
  reason: string,
  deps: AbortDeps & { readonly store: Pick<RolloutStore, 'markAborted' | 'abortWatching'> },
  oneHop: OneHopDeps,
): Promise<Aborted | undefined> {
  const now = deps.clock.now();
  const writer = oneHop.writer ?? newWriter(watcher.name, now);
  const [out, read] = await Promise.all([
    deps.store.abortWatching(watcher.name, alarm, { error, reason, at: now.toISOString() }, { leaseUntil: leaseEnd(now, oneHop), writer: writer.id }),
    oneHop.traffic.readActions(watcher.listenerArn).catch(() => undefined),
  ]);
  if (!out.written) return out.lock?.alarms?.includes(alarm) ? abortRollout(out.lock, error, reason, deps, oneHop) : undefined;
  const lock = out.lock!;
  // The fallback's listener is the configured one unless the service was reconfigured during the rollout.
  return restoreAndResume(lock, lock.fallback!, lock.fallback!.listenerArn === watcher.listenerArn ? read : undefined, writer, error, reason, deps, oneHop);
}

const newWriter = (subject: string, now: Date) => new Writer(`abort-${subject}-${now.getTime()}-${Math.random().toString(36).slice(2, 10)}`);
const leaseEnd = (now: Date, oneHop: OneHopDeps) => new Date(now.getTime() + (oneHop.leaseMs ?? DEFAULT_LEASE_MS)).toISOString();

/** After the abort's fencing write: the listener back on the retained slot, then the task's failure. */
async function restoreAndResume(
  lock: LockRecord,
  fallback: Fallback,
  read: ListenerActions | undefined,
  writer: Writer,
  error: AbortErrorName,
  reason: string,
  deps: AbortDeps,
  oneHop: OneHopDeps,
): Promise<Aborted> {
  // The abort's write opened this invocation's lease: closed with the others when it ends cleanly.
  if (!writer.fenced.has(lock.service)) writer.fenced.set(lock.service, []);
  // The listener first, then the task: the rollback the state machine starts writes the same weights, and
  // it should find them written rather than race this write (on AWS it waits for a cold start anyway).
  const restored = await oneHop.traffic.setWeights(fallback.listenerArn, fallback.weights, read).then(
    () => true,
    (failure: unknown) => {
      // The write may still land: its lease stays open (it runs out) so no later owner writes before it.
      writer.fenced.delete(lock.service);
      oneHop.log.warn('abort: traffic not restored at once; the rollback restores it', { service: lock.service, rolloutId: lock.rolloutId, error: describeError(failure).message });
      return false;
    },
  );
  return { lock, resumed: await resume(lock, error, reason, deps), restored };
}

/** Fails the waiting task token, if any, with the first recorded reason. */
async function resume(lock: LockRecord, error: AbortErrorName, reason: string, deps: AbortDeps): Promise<boolean> {
  return lock.taskToken ? deps.executions.failTask(lock.taskToken, lock.abort?.error ?? error, lock.abort?.reason ?? reason) : false;
}
