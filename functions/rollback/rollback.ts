/**
 * Rollback: all traffic back to the retained revision's slot, the idle slot back on the retained revision
 * at zero tasks, the reason recorded, the lock released. Idempotent: every write is an absolute value, so
 * running it twice gives the same end state; the state machine retries it hard.
 */
import { describeError, ErrorName } from '../core/errors';
import { fenced, ownerOf, parkSlot } from '../core/ownership';
import { slackText } from '../core/slack-text';
import type { AnalysisAlarms, Clock, Ecs, Executions, Log, Notifier, Traffic, HistoryStore, LockStore, QueueStore } from '../core/ports';
import { wakeNextAfterRelease } from '../core/turns';
import { removeTestRules } from '../core/test-cohort';
import { endAnalysis } from '../core/canary-analysis';
import { newestPush, pushTimeOf, shortRevision, targetGroupWeights, weightsFor, type Outcome, type RolloutState, type Weights } from '../core/rollout';

export interface RollbackDeps {
  readonly ecs: Ecs;
  readonly traffic: Traffic;
  readonly store: LockStore & QueueStore & HistoryStore;
  /** To hand the lock to the next waiting rollout. */
  readonly executions: Executions;
  readonly clock: Clock;
  readonly log: Log;
  /** Rollout messages (best effort). @default none */
  readonly notifier?: Notifier;
  readonly leaseMs?: number;
  /** Deletes the canary analysis's alarms (services with `analysis`). @default none */
  readonly analysis?: AnalysisAlarms;
}

export interface RollbackResult {
  readonly outcome: Outcome;
  readonly weights?: Weights;
  readonly reason: string;
  /** When the abort that caused this rollback was recorded (the lock's `abort.at`), if one was. */
  readonly abortedAt?: string;
  /** When the listener had all the traffic back on the retained revision's slot. */
  readonly restoredAt?: string;
  readonly decision: string;
}

/**
 * A failed Lambda task's `Cause` is the Lambda error as JSON (`errorType`, `errorMessage`, `trace`): the
 * operator needs its message, not the stack. Any other cause (SendTaskFailure's) is plain text.
 */
function causeText(cause: string): string {
  try {
    const parsed: unknown = JSON.parse(cause);
    const message = (parsed as { errorMessage?: unknown } | null)?.errorMessage;
    if (typeof message === 'string') return message;
  } catch {
    // plain text
  }
  return cause;
}

/** The operator-facing reason from the failed state's error. */
export function rollbackReason(state: RolloutState): string {
  const error = state.error;
  if (!error) return 'rolled back (no reason recorded)';
  return error.Cause ? `${error.Error}: ${causeText(error.Cause)}` : error.Error;
}

/**
 * When this rollout's abort was recorded (by the alarm path or an operator), from its lock; undefined when
 * the rollback has another cause or the lock cannot be read. Best effort: a measurement never fails a rollback.
 */
async function abortTime(state: RolloutState, deps: RollbackDeps): Promise<string | undefined> {
  try {
    const lock = await deps.store.getLock(state.service.name);
    return lock?.rolloutId === state.rolloutId ? lock.abort?.at : undefined;
  } catch (error) {
    deps.log.warn('abort time not read', { rolloutId: state.rolloutId, service: state.service.name, error: String(error) });
    return undefined;
  }
}

/**
 * Runs the rollback. If any step fails, the history record says so (outcome FAILED, with the error) before
 * the error goes back to the state machine, which retries; when every retry fails the execution ends in
 * `Rollback failed` and this record is what the operator finds. A later attempt that succeeds overwrites it.
 */
export async function rollback(state: RolloutState, deps: RollbackDeps): Promise<RollbackResult> {
  try {
    return await restore(state, deps);
  } catch (error) {
    if ((error as Error)?.name === ErrorName.LockLost) {
      // A retry of a rollback that completed (its answer was lost), or one a recovery finished: the service
      // state says the retained revision is live again for this rollout. Otherwise the service is the next
      // owner's now, and so is its record.
      const done = await rolledBackAlready(state, deps);
      if (done) return done;
      throw error;
    }
    await recordIncomplete(state, deps, error);
    throw error;
  }
}

async function rolledBackAlready(state: RolloutState, deps: RollbackDeps): Promise<RollbackResult | undefined> {
  const live = state.live;
  if (!live) return undefined;
  const now = await deps.store.getServiceState(state.service.name);
  if (now?.rolloutId !== state.rolloutId || now.liveTaskDefinitionArn !== live.retainedTaskDefinitionArn || now.liveSlot !== live.liveSlot) return undefined;
  const reason = rollbackReason(state);
  return {
    outcome: 'ROLLED_BACK',
    weights: weightsFor(live.liveSlot, 100),
    reason,
    decision: `rolled back already (a retried call): ${live.liveSlot} 100% on ${shortRevision(live.retainedTaskDefinitionArn)}. Reason: ${reason}`,
  };
}

/** Best effort: the store may be what is failing. The lock stays held: traffic may still be split. */
async function recordIncomplete(state: RolloutState, deps: RollbackDeps, error: unknown): Promise<void> {
  const { service, rolloutId } = state;
  const now = deps.clock.now().toISOString();
  const failure = describeError(error);
  const reason = `rollback did not complete: ${failure.name}: ${failure.message} (rolling back because ${rollbackReason(state)}); the lock is kept and traffic may still be split: check the listener weights`;
  try {
    await deps.store.putHistory({
      service: service.name,
      rolloutId,
      startedAt: state.live?.startedAt ?? pushTimeOf(state) ?? now,
      endedAt: now,
      outcome: 'FAILED',
      image: state.image?.uri,
      liveSlot: state.live?.liveSlot,
      retainedTaskDefinitionArn: state.live?.retainedTaskDefinitionArn,
      newTaskDefinitionArn: state.revision?.taskDefinitionArn,
      reason,
    });
  } catch (recordError) {
    deps.log.error('rollback failure not recorded', { rolloutId, service: service?.name, error: describeError(recordError).message });
  }
  deps.log.error('rollback did not complete', { rolloutId, service: service?.name, error: failure.name, reason });
}

async function restore(state: RolloutState, deps: RollbackDeps): Promise<RollbackResult> {
  const { service, rolloutId } = state;
  const reason = rollbackReason(state);
  const now = deps.clock.now().toISOString();

  if (!state.live) {
    // Prepare did not finish: nothing was changed but possibly the lock.
    await deps.store.releaseLock(service.name, rolloutId);
    await deps.store.putHistory({ service: service.name, rolloutId, startedAt: pushTimeOf(state) ?? now, endedAt: now, outcome: 'FAILED', image: state.image?.uri, reason });
    await wakeNextAfterRelease(service, deps);
    return { outcome: 'FAILED', reason, decision: `failed before any change: ${reason}` };
  }

  const live = state.live;
  const weights = weightsFor(live.liveSlot, 100);
  // Proven owner, and the target recovery restores if this dies half-way: the retained revision (Finalize
  // may have committed the new one before an abort reached it).
  const lock = await fenced(ownerOf(state), deps, { target: { slot: live.liveSlot, taskDefinitionArn: live.retainedTaskDefinitionArn, desiredCount: live.desiredCount, phase: 'retained' } });
  // The abort's time is read beside the weights change, not before it: the measurement must not slow the
  // reaction it measures.
  const [abortedAt] = await Promise.all([abortTime(state, deps), deps.traffic.setWeights(service.listenerArn, targetGroupWeights(service.slots, weights))]);
  const restoredAt = deps.clock.now().toISOString();
  // The test cohort's rule goes too, after the production traffic (whose restore is the reaction that counts).
  const cohort = await removeTestRules(service, lock, { rolloutId, now: deps.clock.now() }, deps);
  await endAnalysis(service, deps);
  const idle = service.slots[live.idleSlot];
  const parked = await parkSlot(service.cluster, idle.serviceName, live.retainedTaskDefinitionArn, deps);
  await deps.store.putHistory({
    service: service.name,
    rolloutId,
    startedAt: live.startedAt,
    endedAt: now,
    outcome: 'ROLLED_BACK',
    image: state.image.uri,
    liveSlot: live.liveSlot,
    retainedTaskDefinitionArn: live.retainedTaskDefinitionArn,
    newTaskDefinitionArn: state.revision?.taskDefinitionArn,
    weights,
    reason,
  });
  const previous = await deps.store.getServiceState(service.name);
  await deps.store.putServiceState({
    service: service.name,
    liveSlot: live.liveSlot,
    liveTaskDefinitionArn: live.retainedTaskDefinitionArn,
    desiredCount: live.desiredCount,
    rolloutId,
    at: now,
    push: newestPush(previous?.push, lock.push),
    written: { generation: lock.generation, stage: 2 },
  });
  await deps.store.releaseLock(service.name, rolloutId);
  await wakeNextAfterRelease(service, deps);
  const decision =
    `rolled back: ${live.liveSlot} 100% on ${shortRevision(live.retainedTaskDefinitionArn)}; ` + `${live.idleSlot} ${parked}${cohort.length ? '; test cohort rule removed' : ''}. Reason: ${reason}`;
  deps.log.warn('rollout rolled back', { rolloutId, service: service.name, reason, weights });
  await deps.notifier?.post(`Rollout of *${service.name}* rolled back: ${slackText(decision)}`, live.thread);
  return { outcome: 'ROLLED_BACK', weights, reason, abortedAt, restoredAt, decision };
}
