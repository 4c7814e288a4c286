/**
 * Leases: how long a write proven by a fence may still land, and who holds it. The ownership protocol
 * (`ownership.ts`) and the abort path (`abort.ts`) both open them.
 */
import type { LockRecord } from './ports';

/**
 * How long a write proven by a fence may still land: the functions' timeout (30 s) and a margin for a call
 * already on the wire. Whoever takes over from a dead holder waits this long after its last fence at most.
 */
export const DEFAULT_LEASE_MS = 35_000;

/** Who a lease belongs to across generations: a retried scale-down or restore of one rollout is the same holder. */
export const holderOf = (owner: { readonly rolloutId: string; readonly role?: LockRecord['role'] }) => `${owner.role ?? 'rollout'}:${owner.rolloutId}`;

/**
 * One function invocation as a writer: the services it fenced, so it can close its leases when it ends.
 * The Lambda adapter makes one per invocation (its request id) and closes its leases after a clean end.
 */
export class Writer {
  /** Service → the leases seen expired at its last fence (closed with this one's). */
  readonly fenced = new Map<string, readonly string[]>();
  constructor(readonly id: string) {}
}
