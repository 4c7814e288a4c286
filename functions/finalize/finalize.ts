/** Finalize: the new slot is live. Record the result and release the lock; the old slot stays warm. */
import { requireLive, requireRevision } from '../core/input';
import type { Clock, Log, Notifier, RolloutStore } from '../core/ports';
import { formatDuration } from '../core/plan';
import { shortRevision, weightsFor, type RolloutState, type Weights } from '../core/rollout';

export interface FinalizeDeps {
  readonly store: RolloutStore;
  readonly clock: Clock;
  readonly log: Log;
  /** Rollout messages (best effort). @default none */
  readonly notifier?: Notifier;
}

export async function finalize(state: RolloutState, deps: FinalizeDeps): Promise<{ liveSlot: string; weights: Weights; decision: string }> {
  const live = requireLive(state);
  const revision = requireRevision(state);
  const weights = weightsFor(live.idleSlot, 100);
  await deps.store.putHistory({
    service: state.service.name,
    rolloutId: state.rolloutId,
    startedAt: live.startedAt,
    endedAt: deps.clock.now().toISOString(),
    outcome: 'SUCCEEDED',
    image: state.image.uri,
    liveSlot: live.idleSlot,
    newTaskDefinitionArn: revision.taskDefinitionArn,
    retainedTaskDefinitionArn: live.retainedTaskDefinitionArn,
    weights,
    reason: 'all steps passed with every watched alarm OK',
  });
  await deps.store.releaseLock(state.service.name, state.rolloutId);
  const decision =
    `${live.idleSlot} is live on ${shortRevision(revision.taskDefinitionArn)}; ` +
    `${live.liveSlot} stays warm on ${shortRevision(live.retainedTaskDefinitionArn)} for ${formatDuration(state.service.timings.rollbackWindowSeconds)}`;
  deps.log.info('rollout succeeded', { rolloutId: state.rolloutId, service: state.service.name, decision });
  await deps.notifier?.post(`Rollout of *${state.service.name}* succeeded: ${decision}`, live.thread);
  return { liveSlot: live.idleSlot, weights, decision };
}
