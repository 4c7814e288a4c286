/**
 * Check alarms: on entering every step and after every bake. Aborts (throws) when the rollout was marked
 * aborted by the alarm event path or an operator, or when any watched alarm is in ALARM now. The second
 * check catches alarms that were already in ALARM when the step began (CloudWatch sends no event then).
 *
 * It also notices changes made outside Cutover that no event reports, rather than trusting what Prepare
 * read: the new slot's service scaled to 0 or with no task running once it was steady (traffic on it would
 * find nothing to serve it), and the retained revision deregistered (the last known good is gone).
 */
import { AlarmFiredError, InvalidInputError, LockLostError, RolloutAbortedError } from '../core/errors';
import { abortError } from '../core/errors';
import type { AlarmView, Alarms, Ecs, Log, LockStore } from '../core/ports';
import { cannotServe, inactiveRevision, type LiveState, type RolloutState } from '../core/rollout';

export interface CheckAlarmsDeps {
  readonly alarms: Alarms;
  /** The new slot's service and the retained revision, read at every check. */
  readonly ecs: Pick<Ecs, 'describeService' | 'describeTaskDefinition'>;
  readonly store: LockStore;
  readonly log: Log;
}

export interface AlarmCheck {
  readonly alarms: readonly AlarmView[];
  /** An operator paused the rollout: the state machine holds before the next step. */
  readonly paused: boolean;
  readonly decision: string;
}

export { abortError };

export async function checkAlarms(state: RolloutState, deps: CheckAlarmsDeps): Promise<AlarmCheck> {
  const { service, rolloutId } = state;
  // Only the slots and the retained revision are read here (no write needs the lock's generation).
  const live = state.live;
  if (!live) throw new InvalidInputError('invalid rollout state', ['live: missing (prepare has not run)']);
  const lock = await deps.store.getLock(service.name);
  if (!lock || lock.rolloutId !== rolloutId) throw new LockLostError(service.name, rolloutId, lock?.rolloutId);
  if (lock.abort) {
    deps.log.warn('rollout aborted', { rolloutId, service: service.name, reason: lock.abort.reason });
    throw abortError(lock.abort);
  }
  const newSlot = service.slots[live.idleSlot];
  // The new slot is only held to its count once it was steady; before that, check-steady waits for it.
  const steady = state.steady?.status === 'STEADY';
  const [seen, newService, retained] = await Promise.all([
    deps.alarms.describe(service.alarms),
    steady ? deps.ecs.describeService(service.cluster, newSlot.serviceName) : undefined,
    deps.ecs.describeTaskDefinition(live.retainedTaskDefinitionArn),
  ]);
  const missing = service.alarms.filter((name) => !seen.some((a) => a.name === name));
  if (missing.length) throw new RolloutAbortedError(`watched alarm ${missing.join(', ')} no longer exists`);
  const firing = seen.filter((a) => a.state === 'ALARM');
  if (firing.length) {
    deps.log.warn('alarm in ALARM', { rolloutId, service: service.name, alarms: firing.map((a) => a.name) });
    throw new AlarmFiredError(firing.map((a) => a.name), firing[0]?.reason);
  }
  const changed = outOfBand(live, newSlot.serviceName, { steady, newService, retained });
  if (changed.length) {
    deps.log.warn('service changed outside Cutover', { rolloutId, service: service.name, changes: changed });
    throw new RolloutAbortedError(changed.join('; '));
  }
  if (state.cursor) await deps.store.updateLock(service.name, rolloutId, { stepIndex: state.cursor.index });
  // Whatever waited before this check is over: its token is spent.
  if (lock.taskToken || lock.wait) await deps.store.clearWait(service.name, rolloutId);
  const paused = lock.pause !== undefined;
  const index = state.cursor?.index ?? 0;
  const total = state.cursor?.total ?? 0;
  const where = index < total ? `before step ${index + 1}/${total}` : 'before finalizing';
  const states = seen.map((a) => `${a.name} ${a.state}`).join(', ');
  return { alarms: seen, paused, decision: paused ? `${where}: ${states}; paused by ${lock.pause!.by}, holding` : `${where}: ${states}` };
}

/** What changed outside Cutover that the rollout cannot go on with, each as a reason; empty when nothing did. */
function outOfBand(
  live: LiveState,
  serviceName: string,
  read: {
    readonly steady: boolean;
    readonly newService: Awaited<ReturnType<Ecs['describeService']>>;
    readonly retained: Awaited<ReturnType<Ecs['describeTaskDefinition']>>;
  },
): string[] {
  const reasons: string[] = [];
  const empty = read.steady ? cannotServe(live.idleSlot, serviceName, read.newService) : undefined;
  if (empty) reasons.push(empty);
  const inactive = inactiveRevision(live.retainedTaskDefinitionArn, read.retained);
  if (inactive) reasons.push(`the retained revision ${inactive}: the last known good revision is gone`);
  return reasons;
}
