/**
 * Retire: at the end of the rollback window, scale the old slot to zero. Its revision stays registered.
 *
 * The scale-down is a change to the service like any other: it takes the lock (a new generation), checks
 * under it that this rollout's revision is still the live one and the old slot has no traffic, proves
 * ownership right before the write, and releases. Skipped when another owner holds the service, a later
 * rollout or a restore changed it, or traffic went back to the old slot.
 */
import { requireLive, requireRevision } from '../core/input';
import { fenced, type Owner } from '../core/ownership';
import type { Clock, Ecs, Executions, Log, Notifier, Traffic, HistoryStore, LockStore, QueueStore } from '../core/ports';
import { restoreIfCommittedCannotServe } from '../core/restore';
import { slackText } from '../core/slack-text';
import { wakeNextAfterRelease } from '../core/turns';
import { cannotServe, liveSlotFromWeights, percentText, slotWeights, weightsText, type RolloutState } from '../core/rollout';

export interface RetireDeps {
  readonly ecs: Ecs;
  readonly traffic: Traffic;
  readonly store: LockStore & QueueStore & HistoryStore;
  /** To hand the lock to a push that came while the scale-down held it. */
  readonly executions: Executions;
  readonly clock: Clock;
  readonly log: Log;
  readonly leaseMs?: number;
  /** Rollout messages (a restore posts one). @default none */
  readonly notifier?: Notifier;
}

export interface RetireResult {
  readonly scaledDown: boolean;
  /** The committed slot could not serve: the old slot took the traffic back (a restore after completion). */
  readonly restored?: boolean;
  readonly decision: string;
}

export async function retire(state: RolloutState, deps: RetireDeps): Promise<RetireResult> {
  const live = requireLive(state);
  const revision = requireRevision(state);
  const { service, rolloutId } = state;
  const oldSlot = service.slots[live.liveSlot];
  const taken = await deps.store.acquireLock({
    service: service.name,
    rolloutId,
    role: 'retire',
    startedAt: live.startedAt,
    alarms: [],
    // If this dies half-way, recovery keeps this rollout's revision live.
    target: { slot: live.idleSlot, taskDefinitionArn: revision.taskDefinitionArn, desiredCount: live.desiredCount, phase: 'committed' },
  });
  if (!taken.acquired) {
    return { scaledDown: false, decision: `${taken.holder.rolloutId} owns ${service.name} now; the ${live.liveSlot} slot is left to it` };
  }
  let kept: Kept | undefined;
  try {
    kept = await reasonToKeep(state, deps);
    if (!kept) {
      const owner: Owner = { service: service.name, rolloutId, generation: taken.lock.generation, role: 'retire' };
      await fenced(owner, deps);
      await deps.ecs.updateService(service.cluster, oldSlot.serviceName, { desiredCount: 0 });
    }
  } finally {
    await deps.store.releaseLock(service.name, rolloutId);
    // A push that came while the scale-down held the lock waits for its turn: it is its turn now.
    await wakeNextAfterRelease(service, deps);
  }
  if (kept?.newSlotCannotServe) {
    // The committed slot was emptied outside Cutover: the warm old slot takes the traffic back, as an owner of its own.
    const restored = await restoreIfCommittedCannotServe(service, rolloutId, deps);
    if (restored?.status === 'restored') {
      const decision = `${kept.newSlotCannotServe}: ${restored.decision}`;
      await deps.notifier?.post(`:warning: *${service.name}*: ${slackText(decision)}`, live.thread);
      return { scaledDown: false, restored: true, decision };
    }
    if (restored) return { scaledDown: false, decision: `${kept.reason}; not restored: ${restored.reason}` };
  }
  if (kept) return { scaledDown: false, decision: kept.reason };
  const decision = `rollback window over: ${live.liveSlot} slot (${oldSlot.serviceName}) scaled to 0; its revision stays registered`;
  deps.log.info('old slot retired', { rolloutId, service: service.name, decision });
  return { scaledDown: true, decision };
}

/** Why the old slot stays up; `newSlotCannotServe` when the committed slot was emptied outside Cutover. */
interface Kept {
  readonly reason: string;
  readonly newSlotCannotServe?: string;
}

/** Why the old slot must stay up, read under the lock; undefined when it may be scaled down. */
async function reasonToKeep(state: RolloutState, deps: RetireDeps): Promise<Kept | undefined> {
  const live = requireLive(state);
  const { service, rolloutId } = state;
  const [current, forward] = await Promise.all([deps.store.getServiceState(service.name), deps.traffic.readForward(service.listenerArn)]);
  if (current && (current.rolloutId !== rolloutId || current.liveSlot !== live.idleSlot)) {
    return { reason: `${service.name} changed since this rollout (now ${current.liveSlot} live, by ${current.rolloutId}); the ${live.liveSlot} slot is left running` };
  }
  if (!forward) return { reason: `the listener cannot be read; the ${live.liveSlot} slot is left running` };
  // Never take the fallback away from a new slot that cannot serve (scaled down or emptied outside Cutover).
  const newSlot = service.slots[live.idleSlot];
  const empty = cannotServe(live.idleSlot, newSlot.serviceName, await deps.ecs.describeService(service.cluster, newSlot.serviceName));
  if (empty) return { reason: `${empty}; the ${live.liveSlot} slot is left running for a rollback`, newSlotCannotServe: empty };
  // Only all of the traffic on the new slot, exactly, lets the old one go: 99.9 / 0.1 still serves from it.
  const weights = slotWeights(forward.weights, service.slots);
  if (liveSlotFromWeights(weights) !== live.idleSlot) {
    const oldWeight = weights[live.liveSlot];
    if (oldWeight > 0) return { reason: `the ${live.liveSlot} slot has ${percentText(oldWeight)}% of the traffic again; left running` };
    return { reason: `the ${live.idleSlot} slot does not hold all of the traffic (${weightsText(weights)}); the ${live.liveSlot} slot is left running` };
  }
  return undefined;
}
