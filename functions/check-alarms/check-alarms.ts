/**
 * Check alarms: on entering every step and after every bake. Aborts (throws) when the rollout was marked
 * aborted by the alarm event path or an operator, or when any watched alarm is in ALARM now. The second
 * check catches alarms that were already in ALARM when the step began (CloudWatch sends no event then).
 */
import { AlarmFiredError, LockLostError, RolloutAbortedError } from '../core/errors';
import { abortError } from '../core/abort';
import type { AlarmView, Alarms, Log, RolloutStore } from '../core/ports';
import type { RolloutState } from '../core/rollout';

export interface CheckAlarmsDeps {
  readonly alarms: Alarms;
  readonly store: RolloutStore;
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
  const lock = await deps.store.getLock(service.name);
  if (!lock || lock.rolloutId !== rolloutId) throw new LockLostError(service.name, rolloutId, lock?.rolloutId);
  if (lock.abort) {
    deps.log.warn('rollout aborted', { rolloutId, service: service.name, reason: lock.abort.reason });
    throw abortError(lock.abort);
  }
  const seen = await deps.alarms.describe(service.alarms);
  const missing = service.alarms.filter((name) => !seen.some((a) => a.name === name));
  if (missing.length) throw new RolloutAbortedError(`watched alarm ${missing.join(', ')} no longer exists`);
  const firing = seen.filter((a) => a.state === 'ALARM');
  if (firing.length) {
    deps.log.warn('alarm in ALARM', { rolloutId, service: service.name, alarms: firing.map((a) => a.name) });
    throw new AlarmFiredError(firing.map((a) => a.name), firing[0]?.reason);
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
