/**
 * Retire: at the end of the rollback window, scale the old slot to zero. Its revision stays registered.
 * Skipped when a newer rollout holds the service or traffic went back to the old slot meanwhile.
 */
import { requireLive } from '../core/input';
import type { Ecs, Log, RolloutStore, Traffic } from '../core/ports';
import type { RolloutState } from '../core/rollout';

export interface RetireDeps {
  readonly ecs: Ecs;
  readonly traffic: Traffic;
  readonly store: RolloutStore;
  readonly log: Log;
}

export async function retire(state: RolloutState, deps: RetireDeps): Promise<{ scaledDown: boolean; decision: string }> {
  const live = requireLive(state);
  const { service } = state;
  const oldSlot = service.slots[live.liveSlot];
  const lock = await deps.store.getLock(service.name);
  if (lock && lock.rolloutId !== state.rolloutId) {
    return { scaledDown: false, decision: `rollout ${lock.rolloutId} is using ${service.name} now; the ${live.liveSlot} slot is left to it` };
  }
  const forward = await deps.traffic.readForward(service.listenerArn);
  const oldWeight = forward?.weights[oldSlot.targetGroupArn] ?? 0;
  if (oldWeight > 0) {
    return { scaledDown: false, decision: `the ${live.liveSlot} slot has ${oldWeight}% of the traffic again; left running` };
  }
  await deps.ecs.updateService(service.cluster, oldSlot.serviceName, { desiredCount: 0 });
  const decision = `rollback window over: ${live.liveSlot} slot (${oldSlot.serviceName}) scaled to 0; its revision stays registered`;
  deps.log.info('old slot retired', { rolloutId: state.rolloutId, service: service.name, decision });
  return { scaledDown: true, decision };
}
