/** Deploy: point the idle slot's ECS service at the new revision with the live slot's desired count. */
import { requireLive, requireRevision } from '../core/input';
import type { Clock, Ecs, Log, RolloutStore } from '../core/ports';
import { fenced, ownerOf } from '../core/ownership';
import { shortRevision, type RolloutState } from '../core/rollout';

export interface DeployDeps {
  readonly ecs: Ecs;
  /** The fence before the update. */
  readonly store: Pick<RolloutStore, 'fence' | 'closeLeases'>;
  readonly clock: Clock;
  readonly log: Log;
  readonly leaseMs?: number;
}

export interface DeployResult {
  readonly slot: string;
  readonly serviceName: string;
  readonly taskDefinitionArn: string;
  readonly desiredCount: number;
  readonly decision: string;
}

export async function deploy(state: RolloutState, deps: DeployDeps): Promise<DeployResult> {
  const live = requireLive(state);
  const revision = requireRevision(state);
  const slot = state.service.slots[live.idleSlot];
  await fenced(ownerOf(state), deps, { unlessAborted: true });
  // Idempotent: the same absolute values on a retry.
  await deps.ecs.updateService(state.service.cluster, slot.serviceName, { taskDefinition: revision.taskDefinitionArn, desiredCount: live.desiredCount });
  const decision = `${live.idleSlot} slot (${slot.serviceName}) now runs ${shortRevision(revision.taskDefinitionArn)} with ${live.desiredCount} tasks`;
  deps.log.info('new revision deployed to idle slot', { rolloutId: state.rolloutId, service: state.service.name, decision });
  return { slot: live.idleSlot, serviceName: slot.serviceName, taskDefinitionArn: revision.taskDefinitionArn, desiredCount: live.desiredCount, decision };
}
