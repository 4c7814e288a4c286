/**
 * The one abort path, used by the alarm, ECS-event, chat and supersede paths: mark the rollout aborted on
 * its lock (first reason wins), then fail the waiting task token so a bake, gate or hold ends at once. A
 * rollout between two states sees the mark at its next fence or check.
 */
import { AlarmFiredError, DeploymentFailedError, ErrorName, RolloutAbortedError } from './errors';
import type { Clock, Executions, LockRecord, RolloutStore } from './ports';

/** The error an abort recorded on the lock stands for. */
export function abortError(abort: { error: string; reason: string }): Error {
  if (abort.error === ErrorName.AlarmFired) return new AlarmFiredError([], abort.reason);
  if (abort.error === ErrorName.DeploymentFailed) return new DeploymentFailedError(abort.reason);
  return new RolloutAbortedError(abort.reason);
}

export interface AbortDeps {
  readonly store: Pick<RolloutStore, 'markAborted'>;
  readonly executions: Pick<Executions, 'failTask'>;
  readonly clock: Clock;
}

/**
 * Aborts `rolloutId` on `service`. Returns undefined when it no longer holds the lock (it ended meanwhile);
 * otherwise the lock as marked and whether a waiting task was resumed now.
 */
export async function abortRollout(
  service: string,
  rolloutId: string,
  error: typeof ErrorName.AlarmFired | typeof ErrorName.RolloutAborted | typeof ErrorName.DeploymentFailed,
  reason: string,
  deps: AbortDeps,
): Promise<{ lock: LockRecord; resumed: boolean } | undefined> {
  const lock = await deps.store.markAborted(service, rolloutId, { error, reason, at: deps.clock.now().toISOString() });
  if (!lock) return undefined;
  const resumed = lock.taskToken ? await deps.executions.failTask(lock.taskToken, lock.abort?.error ?? error, lock.abort?.reason ?? reason) : false;
  return { lock, resumed };
}
