/**
 * Alarm: a watched alarm went into ALARM → abort every rollout in flight that watches it, now.
 *
 * The abort is recorded on the lock first (atomically, returning the current bake token), then the token
 * is failed. A rollout between two states sees the recorded abort at its next state; a bake that starts
 * after the abort refuses to wait. No alarm is lost in the gap.
 */
import { ErrorName } from '../core/errors';
import { parseAlarmChange, parseEcsFailure } from '../core/events';
import type { Clock, Executions, Log, LockStore } from '../core/ports';

export interface AlarmDeps {
  readonly store: LockStore;
  readonly executions: Executions;
  readonly clock: Clock;
  readonly log: Log;
}

export interface AlarmResult {
  readonly aborted: ReadonlyArray<{ service: string; rolloutId: string; resumedBake: boolean }>;
  readonly ignored?: string;
}

export async function onAlarm(event: unknown, deps: AlarmDeps): Promise<AlarmResult> {
  if ((event as { source?: unknown } | null)?.source === 'aws.ecs') return onEcsFailure(event, deps);
  const change = parseAlarmChange(event);
  if (change.kind === 'ignore') {
    deps.log.info('event ignored', { reason: change.reason });
    return { aborted: [], ignored: change.reason };
  }
  if (change.state !== 'ALARM') {
    const reason = `alarm ${change.alarmName} went to ${change.state}, not ALARM`;
    deps.log.info('alarm change ignored', { reason });
    return { aborted: [], ignored: reason };
  }
  const locks = await deps.store.activeLocksWatching(change.alarmName);
  if (locks.length === 0) {
    const reason = `no rollout in flight watches alarm ${change.alarmName}`;
    deps.log.info('alarm change ignored', { reason });
    return { aborted: [], ignored: reason };
  }
  const reason = `alarm ${change.alarmName} in ALARM${change.reason ? `: ${change.reason}` : ''}`;
  const aborted: { service: string; rolloutId: string; resumedBake: boolean }[] = [];
  for (const lock of locks) {
    const marked = await deps.store.markAborted(lock.service, lock.rolloutId, { error: ErrorName.AlarmFired, reason, at: deps.clock.now().toISOString() });
    if (!marked) continue; // finished meanwhile
    const resumedBake = marked.taskToken ? await deps.executions.failTask(marked.taskToken, ErrorName.AlarmFired, reason) : false;
    aborted.push({ service: lock.service, rolloutId: lock.rolloutId, resumedBake });
    deps.log.warn('rollout aborted by alarm', { service: lock.service, rolloutId: lock.rolloutId, alarm: change.alarmName, resumedBake });
  }
  return { aborted };
}

/** The last part of a cluster name or ARN. */
const clusterName = (cluster: string) => cluster.split('/').pop() ?? cluster;

/**
 * ECS says the new slot's deployment failed (circuit breaker) or its tasks cannot start or be placed:
 * abort the rollout deploying to that service now, instead of waiting for the steady-state checks to run out.
 */
async function onEcsFailure(event: unknown, deps: AlarmDeps): Promise<AlarmResult> {
  const failure = parseEcsFailure(event);
  if (failure.kind === 'ignore') {
    deps.log.info('event ignored', { reason: failure.reason });
    return { aborted: [], ignored: failure.reason };
  }
  const locks = (await deps.store.activeLocks()).filter(
    (l) => l.idleService?.serviceName === failure.serviceName && clusterName(l.idleService.cluster) === failure.cluster,
  );
  if (locks.length === 0) {
    const reason = `no rollout in flight deploys to ${failure.cluster}/${failure.serviceName}`;
    deps.log.info('ECS event ignored', { reason, eventName: failure.eventName });
    return { aborted: [], ignored: reason };
  }
  const reason = `ECS ${failure.eventName} on ${failure.serviceName}: ${failure.reason}`;
  const aborted: { service: string; rolloutId: string; resumedBake: boolean }[] = [];
  for (const lock of locks) {
    const marked = await deps.store.markAborted(lock.service, lock.rolloutId, { error: ErrorName.DeploymentFailed, reason, at: deps.clock.now().toISOString() });
    if (!marked) continue;
    const resumedBake = marked.taskToken ? await deps.executions.failTask(marked.taskToken, ErrorName.DeploymentFailed, reason) : false;
    aborted.push({ service: lock.service, rolloutId: lock.rolloutId, resumedBake });
    deps.log.warn('rollout aborted by ECS', { service: lock.service, rolloutId: lock.rolloutId, eventName: failure.eventName, resumedBake });
  }
  return { aborted };
}
