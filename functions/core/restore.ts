/**
 * Restore after completion: put the retained revision's slot back to 100% once a rollout has succeeded,
 * while its old slot is still warm (the rollback window). No canary: the old slot never stopped serving.
 *
 * Used by `/cutover rollback` after completion, and by Cutover itself when the slot it committed can no
 * longer serve (scaled to 0 or emptied outside Cutover) while the old slot still could: at the end of the
 * rollback window, or when the execution ends early inside it. The restore is an owner of its own: it takes
 * the lock (role `restore`), reads again under it, fences every write, records and releases.
 *
 * After the rollback window (the old slot scaled to 0 by the scale-down), `/cutover rollback` asks for
 * `scaleUp`: the old slot is scaled back up to the live slot's desired count first, the restore waits (bounded,
 * its lease renewed by a fence at every look) until the slot runs its tasks and its target group has that many
 * healthy targets, and only then moves the traffic. Traffic never moves onto an empty or unhealthy target
 * group: a warm slot is looked at the same way before the flip.
 */
import type { ServiceConfig, Slot } from './config';
import { otherSlot } from './config';
import { LeaseOpenError } from './errors';
import { realSleep, type Clock, type Ecs, type Executions, type HistoryRecord, type HistoryStore, type LockStore, type Log, type QueueStore, type Sleep, type Traffic } from './ports';
import { restoreWaitEstimateSeconds, slotHealthy } from './rollback-target';
import { formatDuration } from './plan';
import { cannotServe, shortRevision, targetGroupWeights, weightsFor } from './rollout';
import { DEFAULT_LEASE_MS, fenced, type FenceDeps, type Owner, type Writer } from './ownership';
import { wakeNextAfterRelease } from './turns';

export interface RestoreDeps {
  readonly store: LockStore & QueueStore & HistoryStore;
  readonly ecs: Pick<Ecs, 'describeService' | 'updateService'>;
  /** With `scaleUp`, the old slot's target health is looked at before the traffic moves onto it. */
  readonly traffic: Pick<Traffic, 'setWeights'> & Partial<Pick<Traffic, 'targetHealth'>>;
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
  /** The old slot is scaled to 0 (the window is over): it is scaled up to `desiredCount` first. */
  readonly cold?: boolean;
}

export interface RestoreOptions {
  /** Only this rollout (undefined: the last one, whichever it is). */
  readonly rolloutId?: string;
  /** Refuse once the rollback window has closed. @default true (Cutover's own restores check the slot itself) */
  readonly withinWindow?: boolean;
  /**
   * Also restore a cold old slot (scaled to 0 after the window, still on the retained revision): scale it up,
   * wait for its targets, then move the traffic. The window is not looked at then. @default false
   */
  readonly scaleUp?: boolean;
  /** The longest wait for the old slot's targets to be healthy. @default the steady checks' budget (steadyPollSeconds × steadyMaxChecks) */
  readonly maxWaitMs?: number;
  /** Time between two looks at the old slot while waiting. @default steadyPollSeconds */
  readonly pollMs?: number;
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
  if (!options.scaleUp && (options.withinWindow ?? true) && deps.clock.now().getTime() > closes) {
    return {
      reason: `the rollback window of ${last.rolloutId} closed at ${new Date(closes).toISOString()}; the old slot is scaled down. Roll forward with a new push (a rebuild of the version you want): a push older than the live image, or one already rolled out, does not start again.`,
    };
  }
  const oldSlot = otherSlot(last.liveSlot);
  const old = await deps.ecs.describeService(service.cluster, service.slots[oldSlot].serviceName);
  if (options.scaleUp && old && old.taskDefinition === last.retainedTaskDefinitionArn && old.desiredCount === 0) {
    // Cold after the window: it comes back at the count the live slot runs now.
    const live = await deps.ecs.describeService(service.cluster, service.slots[last.liveSlot].serviceName);
    return { last, oldSlot, desiredCount: Math.max(1, live?.desiredCount ?? 1), cold: true };
  }
  if (!old || old.taskDefinition !== last.retainedTaskDefinitionArn || old.desiredCount === 0) {
    return { reason: `the ${oldSlot} slot no longer runs ${shortRevision(last.retainedTaskDefinitionArn)} warm; cannot restore it instantly` };
  }
  return { last, oldSlot, desiredCount: old.desiredCount };
}

/** What waiting for the old slot found: ready (every task running, as many healthy targets), or why not. */
interface SlotWait {
  readonly ready: boolean;
  readonly waitedMs: number;
  readonly problem?: string;
}

/**
 * Looks at the old slot until it runs `desiredCount` tasks and its target group has as many healthy targets,
 * for at most `maxWaitMs`. Each look is preceded by a fence: the restore proves it still owns the service and
 * renews its lease, so nobody takes it for dead while it waits.
 */
async function waitUntilReady(service: ServiceConfig, slot: Slot, desiredCount: number, owner: Owner, deps: RestoreDeps, maxWaitMs: number, pollMs: number): Promise<SlotWait> {
  const targetHealth = deps.traffic.targetHealth;
  if (!targetHealth) throw new Error("a restore with scaleUp needs the traffic port's targetHealth");
  const start = deps.clock.now().getTime();
  for (;;) {
    await fenced(owner, deps);
    const [svc, health] = await Promise.all([deps.ecs.describeService(service.cluster, service.slots[slot].serviceName), targetHealth(service.slots[slot].targetGroupArn)]);
    const waitedMs = deps.clock.now().getTime() - start;
    if (svc && svc.runningCount >= desiredCount && slotHealthy(desiredCount, health)) return { ready: true, waitedMs };
    const problem = !svc
      ? `its service ${service.slots[slot].serviceName} no longer exists`
      : !health
        ? 'its target group no longer exists'
        : `${svc.runningCount}/${desiredCount} tasks running, ${health.healthy}/${desiredCount} healthy targets`;
    if (waitedMs + pollMs > maxWaitMs) return { ready: false, waitedMs, problem };
    await (deps.sleep ?? realSleep)(pollMs);
  }
}

/** How long a restore of a cold slot is expected to take at most, for the reply (the steady checks' budget). */
export const restoreEstimateText = (service: ServiceConfig) => formatDuration(restoreWaitEstimateSeconds(service.timings));

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
  const { last, oldSlot, desiredCount, cold } = target;
  const restoreId = `${RESTORE_PREFIX}${last.rolloutId}`.slice(0, 80);
  const now = deps.clock.now();
  const retained = last.retainedTaskDefinitionArn!;
  const taken = await deps.store.acquireLock({
    service: service.name,
    rolloutId: restoreId,
    role: 'restore',
    startedAt: now.toISOString(),
    alarms: [],
    image: last.image,
    leaseUntil: new Date(now.getTime() + (deps.leaseMs ?? DEFAULT_LEASE_MS)).toISOString(),
    target: { slot: oldSlot, taskDefinitionArn: retained, desiredCount, phase: 'retained' },
  });
  if (!taken.acquired) return { status: 'refused', busy: true, reason: `${service.name} is busy: ${taken.holder.rolloutId} holds its lock; the rollback after completion was not applied` };
  const owner: Owner = { service: service.name, rolloutId: restoreId, generation: taken.lock.generation, role: 'restore' };
  const weights = weightsFor(oldSlot, 100);
  let readied = '';
  try {
    // Under the lock, read again: a push or another restore may have changed the service since.
    const again = await restorable(service, deps, options);
    if ('reason' in again || again.last.rolloutId !== last.rolloutId) return { status: 'refused', reason: 'reason' in again ? again.reason : `${service.name} changed meanwhile` };
    const slotName = service.slots[oldSlot].serviceName;
    if (cold) {
      await fenced(owner, deps);
      await deps.ecs.updateService(service.cluster, slotName, { desiredCount });
      deps.log.info('scaled the old slot up for a restore after the rollback window', { service: service.name, slot: oldSlot, desiredCount });
    }
    // Never move the traffic onto an empty or unhealthy target group: wait (bounded) until it can serve.
    // (Cutover's own restores, from retire and reconcile, move it onto a warm slot that served until then.)
    const estimateMs = restoreWaitEstimateSeconds(service.timings) * 1000;
    const ready = options.scaleUp
      ? await waitUntilReady(service, oldSlot, desiredCount, owner, deps, options.maxWaitMs ?? estimateMs, options.pollMs ?? service.timings.steadyPollSeconds * 1000)
      : { ready: true, waitedMs: 0 };
    if (!ready.ready) {
      const left = cold ? `; ${oldSlot} stays scaled up at ${desiredCount} tasks: run the rollback again once it is healthy (expected within ${restoreEstimateText(service)})` : '';
      return {
        status: 'refused',
        rolloutId: last.rolloutId,
        reason: `${service.name} was not rolled back: the ${oldSlot} slot was not ready after ${formatDuration(Math.round(ready.waitedMs / 1000))} (${ready.problem}); traffic stays on ${last.liveSlot}${left}`,
      };
    }
    if (cold) readied = `${oldSlot} scaled up from 0 to ${desiredCount} tasks and healthy after ${formatDuration(Math.round(ready.waitedMs / 1000))}; `;
    await fenced(owner, deps);
    await deps.traffic.setWeights(service.listenerArn, targetGroupWeights(service.slots, weights));
    // The new revision's slot is idle again: scale it down (its revision stays registered).
    await fenced(owner, deps);
    await deps.ecs.updateService(service.cluster, service.slots[last.liveSlot!].serviceName, { desiredCount: 0 });
    await deps.store.putHistory({ ...last, outcome: 'ROLLED_BACK', liveSlot: oldSlot, weights, reason: `rolled back after completion: ${why}` });
    const previous = await deps.store.getServiceState(service.name);
    await deps.store.putServiceState({
      service: service.name,
      liveSlot: oldSlot,
      liveTaskDefinitionArn: retained,
      desiredCount,
      rolloutId: last.rolloutId,
      at: now.toISOString(),
      push: previous?.push,
      written: { generation: owner.generation, stage: 2 },
    });
  } catch (error) {
    // The previous owner's last write may still land: nothing was changed.
    if (error instanceof LeaseOpenError) {
      return {
        status: 'refused',
        rolloutId: last.rolloutId,
        waitMs: error.waitMs,
        reason: `${service.name} was not changed: a write of its previous owner may still land for ${Math.ceil(error.waitMs / 1000)} s`,
      };
    }
    throw error;
  } finally {
    await deps.store.releaseLock(service.name, restoreId);
    await wakeNextAfterRelease(service, deps);
  }
  deps.log.warn('restored the retained revision after completion', { service: service.name, rolloutId: last.rolloutId, why });
  return { status: 'restored', rolloutId: last.rolloutId, decision: `${readied}${oldSlot} takes 100% again on ${shortRevision(retained)} (${last.rolloutId} rolled back after completion)` };
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
