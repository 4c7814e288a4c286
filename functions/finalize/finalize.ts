/** Finalize: the new slot is live. Record the result and release the lock; the old slot stays warm. */
import { requireLive, requireRevision } from '../core/input';
import { DEFAULT_KEEP_REVISIONS } from '../core/config';
import type { Clock, Ecs, Executions, Log, Notifier, RolloutStore } from '../core/ports';
import { wakeNextAfterRelease } from '../core/turns';
import { formatDuration } from '../core/plan';
import { shortRevision, weightsFor, type RolloutState, type Weights } from '../core/rollout';

export interface FinalizeDeps {
  readonly store: RolloutStore;
  readonly ecs: Ecs;
  /** To hand the lock to the next waiting rollout. */
  readonly executions: Executions;
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
  await deps.store.putServiceState({
    service: state.service.name,
    liveSlot: live.idleSlot,
    liveTaskDefinitionArn: revision.taskDefinitionArn,
    desiredCount: live.desiredCount,
    rolloutId: state.rolloutId,
    at: deps.clock.now().toISOString(),
  });
  const retired = await retireRevisions(state, deps);
  await deps.store.releaseLock(state.service.name, state.rolloutId);
  await wakeNextAfterRelease(state.service, deps);
  const decision =
    `${live.idleSlot} is live on ${shortRevision(revision.taskDefinitionArn)}; ` +
    `${live.liveSlot} stays warm on ${shortRevision(live.retainedTaskDefinitionArn)} for ${formatDuration(state.service.timings.rollbackWindowSeconds)}` +
    (retired.length ? `; deregistered ${retired.map(shortRevision).join(', ')}` : '');
  deps.log.info('rollout succeeded', { rolloutId: state.rolloutId, service: state.service.name, decision });
  await deps.notifier?.post(`Rollout of *${state.service.name}* succeeded: ${decision}`, live.thread);
  return { liveSlot: live.idleSlot, weights, decision };
}

/**
 * The revisions to deregister: all ACTIVE revisions of the family but the newest `keep`, and never one that
 * is protected (live, retained, or in use by either slot). Pure.
 */
export function revisionsToRetire(activeNewestFirst: readonly string[], protectedArns: ReadonlySet<string>, keep: number): string[] {
  const candidates = activeNewestFirst.filter((arn) => !protectedArns.has(arn));
  return candidates.slice(keep);
}

/** Deregisters old revisions after a success; the live, retained and in-use ones stay. */
async function retireRevisions(state: RolloutState, deps: FinalizeDeps): Promise<string[]> {
  const live = requireLive(state);
  const revision = requireRevision(state);
  const { service } = state;
  const family = shortRevision(revision.taskDefinitionArn).replace(/:\d+$/, '');
  const [blue, green, active] = await Promise.all([
    deps.ecs.describeService(service.cluster, service.slots.blue.serviceName),
    deps.ecs.describeService(service.cluster, service.slots.green.serviceName),
    deps.ecs.listRevisions(family),
  ]);
  const keep = new Set([revision.taskDefinitionArn, live.retainedTaskDefinitionArn, blue?.taskDefinition, green?.taskDefinition].filter((a): a is string => !!a));
  const retire = revisionsToRetire(active, keep, service.keepRevisions ?? DEFAULT_KEEP_REVISIONS);
  for (const arn of retire) await deps.ecs.deregisterTaskDefinition(arn);
  if (retire.length) deps.log.info('old revisions deregistered', { rolloutId: state.rolloutId, service: service.name, revisions: retire });
  return retire;
}
