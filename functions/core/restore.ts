/**
 * Restore after completion: put the retained revision's slot back to 100% once a rollout has succeeded,
 * while its old slot is still warm (the rollback window). No canary: the old slot never stopped serving.
 *
 * Used by `/cutover rollback` after completion, and by Cutover itself when the slot it committed can no
 * longer serve (scaled to 0 or emptied outside Cutover) while the old slot still could: at the end of the
 * rollback window, or when the execution ends early inside it. The restore is an owner of its own: it takes
 * the lock (role `restore`), reads again under it, fences every write, records and releases.
 */
import type { ServiceConfig, Slot } from './config';
import { otherSlot } from './config';
import { LeaseOpenError } from './errors';
import type { Clock, Ecs, Executions, HistoryRecord, HistoryStore, LockStore, Log, QueueStore, Sleep, Traffic } from './ports';
import { cannotServe, shortRevision, targetGroupWeights, weightsFor } from './rollout';
import { DEFAULT_LEASE_MS, fenced, type FenceDeps, type Owner, type Writer } from './ownership';
import { wakeNextAfterRelease } from './turns';

export interface RestoreDeps {
  readonly store: LockStore & QueueStore & HistoryStore;
  readonly ecs: Pick<Ecs, 'describeService' | 'updateService'>;
  readonly traffic: Pick<Traffic, 'setWeights'>;
  readonly executions: Executions;
  readonly clock: Clock;
  readonly log: Log;
  readonly leaseMs?: number;
  readonly writer?: Writer;
  /** How long a fence may wait for an earlier owner's lease (see {@link FenceDeps}). */
  readonly leaseWaitMs?: number;
  readonly sleep?: Sleep;
}

/** What a restore may undo: the last rollout, if it succeeded and its old slot is still warm. */
export interface Restorable {
  readonly last: HistoryRecord;
  readonly oldSlot: Slot;
  readonly desiredCount: number;
}

export interface RestoreOptions {
  /** Only this rollout (undefined: the last one, whichever it is). */
  readonly rolloutId?: string;
  /** Refuse once the rollback window has closed. @default true (Cutover's own restores check the slot itself) */
  readonly withinWindow?: boolean;
}

/** The last successful rollout, if the old slot is still warm for a rollback after completion; else why not. */
export async function restorable(service: ServiceConfig, deps: Pick<RestoreDeps, 'store' | 'ecs' | 'clock'>, options: RestoreOptions = {}): Promise<Restorable | { reason: string }> {
  const [last] = (await deps.store.listHistory(service.name, 10)).filter((h) => h.outcome !== 'REFUSED');
  if (!last) return { reason: `nothing to roll back: ${service.name} has no rollout yet` };
  if (options.rolloutId !== undefined && last.rolloutId !== options.rolloutId) return { reason: `${service.name} changed since ${options.rolloutId} (its last rollout is ${last.rolloutId})` };
  if (last.outcome !== 'SUCCEEDED' || !last.liveSlot || !last.retainedTaskDefinitionArn || !last.endedAt) {
    return { reason: `nothing to roll back: the last rollout of ${service.name} (${last.rolloutId}) ended ${last.outcome}` };
  }
  const closes = Date.parse(last.endedAt) + service.timings.rollbackWindowSeconds * 1000;
  if ((options.withinWindow ?? true) && deps.clock.now().getTime() > closes) {
    return { reason: `the rollback window of ${last.rolloutId} closed at ${new Date(closes).toISOString()}; the old slot is scaled down. Roll forward with a new push (a rebuild of the version you want): a push older than the live image, or one already rolled out, does not start again.` };
  }
  const oldSlot = otherSlot(last.liveSlot);
  const old = await deps.ecs.describeService(service.cluster, service.slots[oldSlot].serviceName);
  if (!old || old.taskDefinition !== last.retainedTaskDefinitionArn || old.desiredCount === 0) {
    return { reason: `the ${oldSlot} slot no longer runs ${shortRevision(last.retainedTaskDefinitionArn)} warm; cannot restore it instantly` };
  }
  return { last, oldSlot, desiredCount: old.desiredCount };
}

/** A restore after completion holds the lock under this prefix + the rollout it undoes. */
const RESTORE_PREFIX = 'restore-';

export type RestoreResult =
  | { readonly status: 'restored'; readonly rolloutId: string; readonly decision: string }
  /** Nothing was changed; `busy`: another owner holds the service for now; `waitMs`: try again after that. */
  | { readonly status: 'refused'; readonly reason: string; readonly busy?: boolean; readonly waitMs?: number; readonly rolloutId?: string };

/** Puts the retained revision's warm slot back to 100% and the new slot to 0; `why` goes into the record as given. */
export async function restoreAfterCompletion(service: ServiceConfig, why: string, deps: RestoreDeps, options: RestoreOptions = {}): Promise<RestoreResult> {
  const target = await restorable(service, deps, options);
  if ('reason' in target) return { status: 'refused', reason: target.reason };
  const { last, oldSlot, desiredCount } = target;
  const restoreId = `${RESTORE_PREFIX}${last.rolloutId}`.slice(0, 80);
  const now = deps.clock.now();
  const retained = last.retainedTaskDefinitionArn!;
  const taken = await deps.store.acquireLock({
    service: service.name, rolloutId: restoreId, role: 'restore', startedAt: now.toISOString(), alarms: [], image: last.image,
    leaseUntil: new Date(now.getTime() + (deps.leaseMs ?? DEFAULT_LEASE_MS)).toISOString(),
    target: { slot: oldSlot, taskDefinitionArn: retained, desiredCount, phase: 'retained' },
  });
  if (!taken.acquired) return { status: 'refused', busy: true, reason: `${service.name} is busy: ${taken.holder.rolloutId} holds its lock; the rollback after completion was not applied` };
  const owner: Owner = { service: service.name, rolloutId: restoreId, generation: taken.lock.generation, role: 'restore' };
  const weights = weightsFor(oldSlot, 100);
  try {
    // Under the lock, read again: a push or another restore may have changed the service since.
    const again = await restorable(service, deps, options);
    if ('reason' in again || again.last.rolloutId !== last.rolloutId) return { status: 'refused', reason: 'reason' in again ? again.reason : `${service.name} changed meanwhile` };
    await fenced(owner, deps);
    await deps.traffic.setWeights(service.listenerArn, targetGroupWeights(service.slots, weights));
    // The new revision's slot is idle again: scale it down (its revision stays registered).
    await fenced(owner, deps);
    await deps.ecs.updateService(service.cluster, service.slots[last.liveSlot!].serviceName, { desiredCount: 0 });
    await deps.store.putHistory({ ...last, outcome: 'ROLLED_BACK', liveSlot: oldSlot, weights, reason: `rolled back after completion: ${why}` });
    const previous = await deps.store.getServiceState(service.name);
    await deps.store.putServiceState({ service: service.name, liveSlot: oldSlot, liveTaskDefinitionArn: retained, desiredCount, rolloutId: last.rolloutId, at: now.toISOString(), push: previous?.push, written: { generation: owner.generation, stage: 2 } });
  } catch (error) {
    // The previous owner's last write may still land: nothing was changed.
    if (error instanceof LeaseOpenError) {
      return { status: 'refused', rolloutId: last.rolloutId, waitMs: error.waitMs, reason: `${service.name} was not changed: a write of its previous owner may still land for ${Math.ceil(error.waitMs / 1000)} s` };
    }
    throw error;
  } finally {
    await deps.store.releaseLock(service.name, restoreId);
    await wakeNextAfterRelease(service, deps);
  }
  deps.log.warn('restored the retained revision after completion', { service: service.name, rolloutId: last.rolloutId, why });
  return { status: 'restored', rolloutId: last.rolloutId, decision: `${oldSlot} takes 100% again on ${shortRevision(retained)} (${last.rolloutId} rolled back after completion)` };
}

/**
 * After a rollout committed its new slot: if that slot can no longer serve (scaled to 0 or emptied outside
 * Cutover) while the old one is still warm on the retained revision, restore it. Returns what was done, or
 * undefined when the committed slot serves (or the rollout is no longer the service's last).
 */
export async function restoreIfCommittedCannotServe(service: ServiceConfig, rolloutId: string, deps: RestoreDeps): Promise<RestoreResult | undefined> {
  const found = await restorable(service, deps, { rolloutId, withinWindow: false });
  if ('reason' in found) return undefined;
  const slot = service.slots[found.last.liveSlot!];
  const empty = cannotServe(found.last.liveSlot!, slot.serviceName, await deps.ecs.describeService(service.cluster, slot.serviceName));
  if (!empty) return undefined;
  return restoreAfterCompletion(service, `${empty}; Cutover moved the traffic back to the warm ${found.oldSlot} slot`, deps, { rolloutId, withinWindow: false });
}
