/**
 * Reconcile: an execution ended. If it still owns a service (stopped by hand, timed out, failed outside a
 * Catch, the history limit, or `Rollback failed`), that service is put back in a safe state under the
 * ownership protocol: the lock moves to a new generation, the dead execution's last write is waited out,
 * all traffic goes to the lock's target (the retained revision, or the committed new one), the record is
 * closed with the reason, the lock released and the next waiting push woken; a notification says so.
 *
 * An execution that ended through its own end states released its lock already: nothing to do.
 */
import type { ServiceConfig } from '../core/config';
import { parseExecutionEnded, type ExecutionEnded } from '../core/events';
import { pushTimeOf, type RolloutState } from '../core/rollout';
import { RecoveryPendingError } from '../core/errors';
import type { ScanWaitStore } from '../core/ports';
import { isDead, recoverService, type RecoveryDeps } from '../core/ownership';
import { restoreIfCommittedCannotServe } from '../core/restore';
import { slackText } from '../core/slack-text';

export interface ReconcileDeps extends RecoveryDeps {
  readonly services: readonly ServiceConfig[];
  /** Also forgets a stopped push's wait for its image scan. */
  readonly store: RecoveryDeps['store'] & ScanWaitStore;
}

export interface ReconcileResult {
  readonly recovered: ReadonlyArray<{ service: string; decision: string }>;
  readonly ignored?: string;
}

/**
 * An execution that ended before it took a service (stopped while it waited for its turn or in Prepare)
 * still gets its push's one record, keyed as Prepare keys a refusal (by the push time), and leaves the queue
 * and the wait for its image scan.
 */
async function closeUnrecorded(ended: ExecutionEnded, deps: ReconcileDeps): Promise<void> {
  const input = ended.input as Partial<RolloutState> | undefined;
  const service = deps.services.find((s) => s.name === input?.service?.name);
  const startedAt = input && pushTimeOf(input);
  if (service?.imageScan && input?.image?.digest) await deps.store.deleteScanWait(service.name, input.image.digest);
  if (!service || !startedAt) return;
  await deps.store.dequeue(service.name, ended.name, startedAt);
  const recorded = (await deps.store.listHistory(service.name, 50)).some((h) => h.rolloutId === ended.name);
  if (recorded) return;
  const now = deps.clock.now().toISOString();
  await deps.store.putHistory({
    service: service.name,
    rolloutId: ended.name,
    startedAt,
    endedAt: now,
    outcome: 'FAILED',
    image: input?.image?.uri,
    pushedAt: input?.image?.pushedAt,
    reason: `the execution ended ${ended.status}${ended.error ? ` (${ended.error})` : ''} before it changed anything`,
  });
}

/** The restore after completion of an execution that ended in its rollback window, if its committed slot cannot serve. */
async function restoreCommitted(ended: ExecutionEnded, deps: ReconcileDeps): Promise<{ service: string; decision: string } | undefined> {
  const service = deps.services.find((s) => s.name === (ended.input as Partial<RolloutState> | undefined)?.service?.name);
  if (!service) return undefined;
  const out = await restoreIfCommittedCannotServe(service, ended.name, deps);
  if (out?.status !== 'restored') return undefined;
  const decision = `execution ${ended.name} ended ${ended.status} in its rollback window; ${out.decision}`;
  await deps.notifier?.post(`:warning: *${service.name}*: ${slackText(decision)}`);
  return { service: service.name, decision };
}

export async function reconcile(event: unknown, deps: ReconcileDeps): Promise<ReconcileResult> {
  const ended = parseExecutionEnded(event);
  if (ended.kind === 'ignore') {
    deps.log.info('event ignored', { reason: ended.reason });
    return { recovered: [], ignored: ended.reason };
  }
  // The execution's own lock, or a recovery of it that died half-way (a crashed earlier attempt of this one).
  const held = (await deps.store.activeLocks()).filter((l) => l.rolloutId === ended.name || l.recovers?.rolloutId === ended.name);
  if (held.length === 0) {
    const reason = `execution ${ended.name} ended ${ended.status} owning no service`;
    if (ended.status === 'SUCCEEDED') {
      deps.log.info('execution ended owning no service', { reason });
      return { recovered: [], ignored: reason };
    }
    await closeUnrecorded(ended, deps);
    // Ended early in its rollback window: nothing will watch the slot it committed any more. If that slot
    // was emptied outside Cutover while the old one is still warm, the old one takes the traffic back.
    const restored = await restoreCommitted(ended, deps);
    if (restored) return { recovered: [restored] };
    deps.log.info('execution ended owning no service', { reason });
    return { recovered: [], ignored: reason };
  }
  const recovered: { service: string; decision: string }[] = [];
  for (const lock of held) {
    const service = deps.services.find((s) => s.name === lock.service);
    if (!service) {
      deps.log.error('a dead execution holds the lock of a service this orchestrator does not manage', { service: lock.service, rolloutId: lock.rolloutId });
      continue;
    }
    if (lock.role === 'recovery' && !(await isDead(lock, deps))) {
      // Lambda retries this event later; by then the earlier recovery has finished or its lease has run out.
      throw new RecoveryPendingError(`a recovery of ${ended.name} holds ${service.name} until ${lock.leaseUntil}; trying again later`);
    }
    const how = ended.error ? ` (${ended.error}${ended.cause ? `: ${ended.cause.slice(0, 300)}` : ''})` : '';
    const out = await recoverService(service, lock, `execution ${ended.name} ended ${ended.status}${how} while it owned ${service.name}`, deps);
    recovered.push({ service: service.name, decision: out.decision });
  }
  return { recovered };
}
