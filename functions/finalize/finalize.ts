/**
 * Finalize: the new slot is live. Commit it on the lock (unless an abort came first: then roll back), record
 * the result, deregister old revisions, release the lock (again unless an abort came meanwhile); the old
 * slot stays warm for the rollback window.
 */
import { requireLive, requireRevision } from '../core/input';
import { DEFAULT_KEEP_REVISIONS } from '../core/config';
import type { Clock, Ecs, Executions, Log, Notifier, HistoryStore, LockStore, QueueStore } from '../core/ports';
import { Tag } from '../register/register';
import { abortError } from '../core/errors';
import { ErrorName, LockLostError, RolloutAbortedError } from '../core/errors';
import { fenced, ownerOf } from '../core/ownership';
import { wakeNextAfterRelease } from '../core/turns';
import { formatDuration } from '../core/plan';
import { cannotServe, newestPush, shortRevision, weightsFor, type RolloutState, type Weights } from '../core/rollout';
import { slackText } from '../core/slack-text';
import { removeTestRules, type CohortCleanupDeps } from '../core/test-cohort';
import { endAnalysis } from '../core/canary-analysis';
import type { AnalysisAlarms } from '../core/ports';

export interface FinalizeDeps {
  readonly store: LockStore & QueueStore & HistoryStore;
  readonly ecs: Ecs;
  /** To hand the lock to the next waiting rollout. */
  readonly executions: Executions;
  readonly clock: Clock;
  readonly log: Log;
  /** Rollout messages (best effort). @default none */
  readonly notifier?: Notifier;
  readonly leaseMs?: number;
  /** Removes a test cohort's rule still there (services with `testTraffic`). @default none: nothing to remove */
  readonly traffic?: CohortCleanupDeps['traffic'];
  /** Deletes the canary analysis's alarms (services with `analysis`). @default none */
  readonly analysis?: AnalysisAlarms;
}

export async function finalize(state: RolloutState, deps: FinalizeDeps): Promise<{ liveSlot: string; weights: Weights; decision: string }> {
  try {
    return await commit(state, deps);
  } catch (error) {
    // A retry of a call that completed (its answer was lost): the lock is gone, and the service state says
    // this rollout's revision is live. Done, not lost.
    if ((error as Error)?.name !== ErrorName.LockLost) throw error;
    const now = await deps.store.getServiceState(state.service.name);
    const revision = requireRevision(state);
    if (now?.rolloutId !== state.rolloutId || now.liveTaskDefinitionArn !== revision.taskDefinitionArn) throw error;
    const live = requireLive(state);
    return {
      liveSlot: live.idleSlot,
      weights: weightsFor(live.idleSlot, 100),
      decision: `${live.idleSlot} is live on ${shortRevision(revision.taskDefinitionArn)} (finalized already: a retried call)`,
    };
  }
}

async function commit(state: RolloutState, deps: FinalizeDeps): Promise<{ liveSlot: string; weights: Weights; decision: string }> {
  const live = requireLive(state);
  const revision = requireRevision(state);
  const weights = weightsFor(live.idleSlot, 100);
  const owner = ownerOf(state);
  // Never commit a slot that cannot serve: scaled down or emptied outside Cutover since the last check.
  const newSlot = state.service.slots[live.idleSlot];
  const empty = cannotServe(live.idleSlot, newSlot.serviceName, await deps.ecs.describeService(state.service.cluster, newSlot.serviceName));
  if (empty) throw new RolloutAbortedError(`${empty}: it cannot take the traffic`);
  // The commit: from here on, recovery keeps the new revision live. An abort recorded before it wins.
  const lock = await fenced(owner, deps, { unlessAborted: true, target: { slot: live.idleSlot, taskDefinitionArn: revision.taskDefinitionArn, desiredCount: live.desiredCount, phase: 'committed' } });
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
  const previous = await deps.store.getServiceState(state.service.name);
  await deps.store.putServiceState({
    service: state.service.name,
    liveSlot: live.idleSlot,
    liveTaskDefinitionArn: revision.taskDefinitionArn,
    desiredCount: live.desiredCount,
    rolloutId: state.rolloutId,
    at: deps.clock.now().toISOString(),
    push: newestPush(previous?.push, lock.push),
    written: { generation: owner.generation, stage: 1 },
  });
  // Shift removed the test rule before its end step; one still there (a step skipped by hand) goes now.
  if (deps.traffic) await removeTestRules(state.service, lock, { rolloutId: state.rolloutId, now: deps.clock.now() }, { traffic: deps.traffic, store: deps.store });
  // The canary is over: its comparison alarms go (the service's own alarms watch the new revision now).
  await endAnalysis(state.service, deps);
  const retired = await retireRevisions(state, deps);
  // A rollback accepted while this ran is not dropped: the lock stays, and the rollback path restores.
  if (!(await deps.store.releaseLock(state.service.name, state.rolloutId, { unlessAborted: true }))) {
    const now = await deps.store.getLock(state.service.name);
    if (now?.rolloutId === state.rolloutId && now.abort) throw abortError(now.abort);
    throw new LockLostError(state.service.name, state.rolloutId, now?.rolloutId);
  }
  await wakeNextAfterRelease(state.service, deps);
  const decision =
    `${live.idleSlot} is live on ${shortRevision(revision.taskDefinitionArn)}; ` +
    `${live.liveSlot} stays warm on ${shortRevision(live.retainedTaskDefinitionArn)} for ${formatDuration(state.service.timings.rollbackWindowSeconds)}` +
    (retired.length ? `; deregistered ${retired.map(shortRevision).join(', ')}` : '');
  deps.log.info('rollout succeeded', { rolloutId: state.rolloutId, service: state.service.name, decision });
  await deps.notifier?.post(`Rollout of *${state.service.name}* succeeded: ${slackText(decision)}`, live.thread);
  return { liveSlot: live.idleSlot, weights, decision };
}

/**
 * The revisions to deregister: of the revisions Cutover registered for this service (newest first), all
 * but the newest `keep`, and never one that is protected (live, retained, or in use by either slot). Pure.
 */
export function revisionsToRetire(ownNewestFirst: readonly string[], protectedArns: ReadonlySet<string>, keep: number): string[] {
  const candidates = ownNewestFirst.filter((arn) => !protectedArns.has(arn));
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
  const keepCount = service.keepRevisions ?? DEFAULT_KEEP_REVISIONS;
  // Only revisions Cutover registered for this very service: a family may be shared with other services
  // or hold revisions someone registered by hand. Described only as far as the count needs.
  const own: string[] = [];
  for (const arn of active.filter((a) => !keep.has(a))) {
    const described = await deps.ecs.describeTaskDefinition(arn);
    if (described?.tags[Tag.SERVICE] === service.name) own.push(arn);
  }
  const retire = revisionsToRetire(own, keep, keepCount);
  for (const arn of retire) {
    await fenced(ownerOf(state), deps);
    await deps.ecs.deregisterTaskDefinition(arn);
  }
  if (retire.length) deps.log.info('old revisions deregistered', { rolloutId: state.rolloutId, service: service.name, revisions: retire });
  return retire;
}
