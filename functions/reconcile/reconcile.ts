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
import { parseExecutionEnded } from '../core/events';
import { recoverService, type RecoveryDeps } from '../core/ownership';

export interface ReconcileDeps extends RecoveryDeps {
  readonly services: readonly ServiceConfig[];
}

export interface ReconcileResult {
  readonly recovered: ReadonlyArray<{ service: string; decision: string }>;
  readonly ignored?: string;
}

export async function reconcile(event: unknown, deps: ReconcileDeps): Promise<ReconcileResult> {
  const ended = parseExecutionEnded(event);
  if (ended.kind === 'ignore') {
    deps.log.info('event ignored', { reason: ended.reason });
    return { recovered: [], ignored: ended.reason };
  }
  const held = (await deps.store.activeLocks()).filter((l) => l.rolloutId === ended.name);
  if (held.length === 0) {
    const reason = `execution ${ended.name} ended ${ended.status} owning no service`;
    deps.log.info('execution ended cleanly', { reason });
    return { recovered: [], ignored: reason };
  }
  const recovered: { service: string; decision: string }[] = [];
  for (const lock of held) {
    const service = deps.services.find((s) => s.name === lock.service);
    if (!service) {
      deps.log.error('a dead execution holds the lock of a service this orchestrator does not manage', { service: lock.service, rolloutId: lock.rolloutId });
      continue;
    }
    const how = ended.error ? ` (${ended.error}${ended.cause ? `: ${ended.cause.slice(0, 300)}` : ''})` : '';
    const out = await recoverService(service, lock, `execution ${ended.name} ended ${ended.status}${how} while it owned ${service.name}`, deps);
    recovered.push({ service: service.name, decision: out.decision });
  }
  return { recovered };
}
