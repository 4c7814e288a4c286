/**
 * The ownership protocol: who may change a service, proven at the moment of the change.
 *
 * - The lock item of a service carries a fencing `generation` that grows by one at every change of holder
 *   (a rollout taking it, a restore from chat, the old slot's scale-down, a recovery).
 * - Before every mutation (listener weights, either slot's ECS service, registering or deregistering a
 *   revision), the writer calls {@link fenced}: a conditional write that succeeds only while the writer holds
 *   the lock at its generation, and that sets `leaseUntil` to the end of the writer's own run time (a Lambda
 *   function cannot outlive its timeout, so no write proven by that fence can land later).
 * - A holder whose execution has ended (stopped, timed out, failed outside a Catch) is dead. Whoever takes
 *   over from it ({@link recoverService}) first moves the lock to a new generation, so no further fence of the
 *   dead holder succeeds, then waits until its lease has run out, then puts the service back to the lock's
 *   `target` (the retained revision, or the new one once Finalize committed it).
 */
import type { ServiceConfig } from './config';
import { otherSlot } from './config';
import { abortError, LeaseOpenError, LockLostError } from './errors';
import { ENDED_STATUSES } from './events';
import {
  realSleep,
  type Clock,
  type Ecs,
  type Executions,
  type LockRecord,
  type FenceRequest,
  type LockTarget,
  type Log,
  type Notifier,
  type OpenLease,
  type RolloutStore,
  type Sleep,
  type Traffic,
  type HistoryStore,
  type LockStore,
  type QueueStore,
  type AnalysisAlarms,
} from './ports';
import { newestPush, shortRevision, targetGroupWeights, weightsFor, type RolloutState } from './rollout';
import { requireLive } from './input';
import { wakeNextAfterRelease } from './turns';
import { slackText } from './slack-text';
import { DEFAULT_LEASE_MS, holderOf, Writer } from './lease';
import { removeTestRules } from './test-cohort';
import { endAnalysis } from './canary-analysis';

export { DEFAULT_LEASE_MS, holderOf, Writer };

/**
 * The reconcile function's timeout: it may wait out a dead owner's whole lease and then restore. Its own
 * fences lease this long, so nobody takes over from a recovery that is still writing.
 */
export const RECONCILE_TIMEOUT_MS = 2 * DEFAULT_LEASE_MS;

/** Who writes: a holder of the lock at a generation. */
export interface Owner {
  readonly service: string;
  readonly rolloutId: string;
  readonly generation: number;
  /** What the holder is (the lock's `role`). @default 'rollout' */
  readonly role?: NonNullable<LockRecord['role']>;
}

/** The owner a rollout's execution state stands for (prepare put its generation in `$.live`). */
export function ownerOf(state: RolloutState): Owner {
  const live = requireLive(state);
  return { service: state.service.name, rolloutId: state.rolloutId, generation: live.generation };
}

export interface FenceDeps {
  readonly store: Pick<RolloutStore, 'fence' | 'closeLeases'>;
  readonly clock: Clock;
  /** The writer's lease. @default {@link DEFAULT_LEASE_MS} */
  readonly leaseMs?: number;
  /** This invocation. @default a writer of this fence alone, whose lease is never closed (it runs out) */
  readonly writer?: Writer;
  /** How long a fence may wait itself for an earlier owner's lease to run out; longer: LeaseOpen. @default {@link LEASE_WAIT_MS} */
  readonly leaseWaitMs?: number;
  /** @default real time */
  readonly sleep?: Sleep;
}

/** What a fence waits itself for an earlier owner's open lease (a third of a function's run time). */
export const LEASE_WAIT_MS = 10_000;

/**
 * The latest end of the leases still open at `now` (undefined: none), leaving out those of `owner`: its own
 * generation, or the same holder at an earlier generation (a scale-down or restore retried after a failure
 * takes the lock anew; a late write of its failed attempt is the write its retry makes again).
 */
export function openLeaseUntil(leases: readonly OpenLease[] | undefined, now: Date, owner?: Pick<Owner, 'generation' | 'rolloutId' | 'role'>): string | undefined {
  const mine = (l: OpenLease) => owner !== undefined && (l.generation === owner.generation || (owner.role !== undefined && owner.role !== 'rollout' && l.holder === holderOf(owner)));
  const open = (leases ?? []).filter((l) => !mine(l) && Date.parse(l.until) > now.getTime());
  return open.length
    ? open
        .map((l) => l.until)
        .sort()
        .at(-1)
    : undefined;
}

/**
 * Proves ownership right before a mutation. Throws LockLost when another holder or generation owns the
 * service now, the recorded abort's error when `unlessAborted` and the rollout was aborted meanwhile, and
 * LeaseOpen (having changed nothing) while a lease of an earlier owner stays open longer than it may wait.
 */
export async function fenced(owner: Owner, deps: FenceDeps, options: Pick<FenceRequest, 'target' | 'fallback' | 'unlessAborted'> = {}): Promise<LockRecord> {
  for (;;) {
    const out = await fenceOnce(owner, deps, options);
    if (!('waitMs' in out)) return out.lock;
    // A short wait is waited here (then the fence is made again); a long one goes back to the caller's retry.
    if (out.waitMs > (deps.leaseWaitMs ?? LEASE_WAIT_MS)) throw new LeaseOpenError(owner.service, out.until, out.waitMs);
    await (deps.sleep ?? realSleep)(out.waitMs);
  }
}

async function fenceOnce(owner: Owner, deps: FenceDeps, options: Pick<FenceRequest, 'target' | 'fallback' | 'unlessAborted'>): Promise<{ lock: LockRecord } | { until: string; waitMs: number }> {
  const now = deps.clock.now();
  const leaseUntil = new Date(now.getTime() + (deps.leaseMs ?? DEFAULT_LEASE_MS)).toISOString();
  const writer = deps.writer ?? new Writer(`fence-${owner.rolloutId}-${now.getTime()}-${Math.random().toString(36).slice(2, 10)}`);
  const out = await deps.store.fence(owner.service, owner.rolloutId, owner.generation, { leaseUntil, writer: writer.id, holder: holderOf(owner), ...options });
  if (!out.ok) {
    const lock = out.lock;
    if (options.unlessAborted && lock?.rolloutId === owner.rolloutId && lock.generation === owner.generation && lock.abort) throw abortError(lock.abort);
    throw new LockLostError(owner.service, owner.rolloutId, lock ? `${lock.rolloutId} at generation ${lock.generation}` : undefined);
  }
  const until = openLeaseUntil(out.lock.leases, now, owner);
  if (until) {
    // Nothing written under this fence yet: its lease closes again, unless an earlier fence of this invocation wrote.
    if (!writer.fenced.has(owner.service)) await deps.store.closeLeases(owner.service, [writer.id]);
    return { until, waitMs: Date.parse(until) - now.getTime() };
  }
  const expired = (out.lock.leases ?? []).filter((l) => l.writer !== writer.id && !(Date.parse(l.until) > now.getTime())).map((l) => l.writer);
  writer.fenced.set(owner.service, expired);
  return { lock: out.lock };
}

/** Closes the leases of an invocation that ended cleanly (and the expired ones its fences saw). */
export async function closeLeases(writer: Writer, store: Pick<LockStore, 'closeLeases'>): Promise<void> {
  for (const [service, expired] of writer.fenced) await store.closeLeases(service, [writer.id, ...expired]);
  writer.fenced.clear();
}

/** Milliseconds until the holder's lease runs out (0 when it has). */
export function leaseLeftMs(holder: Pick<LockRecord, 'leaseUntil'>, now: Date): number {
  const until = holder.leaseUntil ? Date.parse(holder.leaseUntil) : Number.NaN;
  return Number.isFinite(until) ? Math.max(0, until - now.getTime()) : 0;
}

/** The end states of an execution. */
export const ENDED: ReadonlySet<string> = new Set(ENDED_STATUSES);

/**
 * Whether the holder is dead: its execution has ended, or no execution stands behind it (a restore from
 * chat, a scale-down, a recovery: one function call each) and its lease has run out.
 */
export async function isDead(holder: LockRecord, deps: { readonly executions: Pick<Executions, 'status'>; readonly clock: Clock }): Promise<boolean> {
  const status = await deps.executions.status(holder.rolloutId);
  if (ENDED.has(status)) return true;
  if (status !== 'UNKNOWN') return false;
  // A holder that never fenced (it died right after taking the lock) is leased from when it took it.
  const until = holder.leaseUntil ? Date.parse(holder.leaseUntil) : Date.parse(holder.startedAt) + DEFAULT_LEASE_MS;
  return !(until > deps.clock.now().getTime()); // an unreadable time counts as run out
}

export interface RecoveryDeps {
  readonly ecs: Pick<Ecs, 'describeService' | 'updateService' | 'describeTaskDefinition'>;
  /** Weights, and the test cohort's rule of the dead owner (`core/test-cohort.ts`). */
  readonly traffic: Pick<Traffic, 'setWeights' | 'describeRules' | 'ruleTags' | 'deleteRule'>;
  readonly store: LockStore & QueueStore & HistoryStore;
  readonly executions: Executions;
  readonly clock: Clock;
  readonly log: Log;
  readonly sleep: Sleep;
  readonly notifier?: Notifier;
  readonly leaseMs?: number;
  readonly writer?: Writer;
  /** Deletes a dead owner's canary analysis alarms (services with `analysis`). @default none */
  readonly analysis?: AnalysisAlarms;
}

export interface RecoveryResult {
  /** `recovered`: this call restored the service; `gone`: someone else took over first; `wait`: the dead holder's lease has not run out and this caller may not wait that long. */
  readonly status: 'recovered' | 'gone' | 'wait';
  readonly waitMs?: number;
  readonly decision: string;
}

/**
 * The id a recovery holds the lock under: not the dead holder's, so none of its late writes passes. A
 * recovery of a recovery that died also names the generation it takes, so the two never share an id.
 */
export const recoveryId = (deadRolloutId: string, generation?: number) => `recover-${generation === undefined ? '' : `g${generation}-`}${deadRolloutId}`.slice(0, 80);

/**
 * Puts a service whose owner died back in a safe state: the lock moves to a new generation, the dead
 * owner's lease is waited out (up to `maxWaitMs`; beyond that nothing is taken and `wait` is returned),
 * then all traffic goes to the lock's target slot on its revision (scaled up if it was scaled down), the
 * other slot back to the target revision at zero when the target is the retained revision, the dead
 * rollout's record is closed with `cause`, the lock released and the next waiting push woken.
 */
export async function recoverService(service: ServiceConfig, dead: LockRecord, cause: string, deps: RecoveryDeps, maxWaitMs = Number.POSITIVE_INFINITY): Promise<RecoveryResult> {
  const now = deps.clock.now();
  // The dead holder's lease, and any lease an earlier invocation left open: their writes may still land.
  const open = openLeaseUntil(dead.leases, now);
  const left = Math.max(leaseLeftMs(dead, now), open ? Date.parse(open) - now.getTime() : 0);
  if (left > maxWaitMs) return { status: 'wait', waitMs: left, decision: `the last step of ${dead.rolloutId} may still be running for ${Math.ceil(left / 1000)} s` };
  // The rollout whose record this recovery closes: the dead holder, or the one a dead recovery was recovering.
  const subject = dead.recovers ?? { rolloutId: dead.rolloutId, startedAt: dead.startedAt };
  const id = dead.recovers ? recoveryId(subject.rolloutId, dead.generation + 1) : recoveryId(dead.rolloutId);
  const took = await deps.store.takeOverLock(dead, {
    service: service.name,
    rolloutId: id,
    role: 'recovery',
    recovers: subject,
    startedAt: now.toISOString(),
    alarms: [],
    target: dead.target,
    push: dead.push,
    image: dead.image,
    thread: dead.thread,
    leaseUntil: new Date(now.getTime() + left + (deps.leaseMs ?? DEFAULT_LEASE_MS)).toISOString(),
  });
  if (!took) return { status: 'gone', decision: `${dead.rolloutId} no longer holds ${service.name}: someone else took over` };
  deps.log.warn('recovering a service from a dead owner', { service: service.name, rolloutId: dead.rolloutId, generation: took.generation, cause, waitMs: left });
  if (left > 0) await deps.sleep(left);
  const owner: Owner = { service: service.name, rolloutId: id, generation: took.generation, role: 'recovery' };
  const target = dead.target;
  let restored = 'nothing had been changed yet';
  if (target) {
    await fenced(owner, deps);
    restored = await restoreTarget(service, target, deps);
    // A dead owner's test cohort rule (recorded on its lock, or only tagged if it died right after CreateRule).
    const removed = await removeTestRules(service, dead, { now: deps.clock.now() }, deps);
    if (removed.length) restored += `; test cohort rule removed`;
    if ((await endAnalysis(service, deps)).length) restored += '; canary analysis alarms deleted';
  }
  const ended = deps.clock.now().toISOString();
  const outcome = target?.phase === 'committed' ? 'SUCCEEDED' : target ? 'ROLLED_BACK' : 'FAILED';
  // The rollout's record as it wrote it (its lease has run out: nothing of it is still on the wire). One that
  // died before it wrote one is keyed by its push time, as every other record of a push that did not start.
  const recorded = (await deps.store.listHistory(service.name, 50)).find((h) => h.rolloutId === subject.rolloutId);
  // A rollout that had succeeded keeps the reason it succeeded for; what recovery did is added to it.
  const closed = target?.phase === 'committed' && recorded?.outcome === 'SUCCEEDED' ? recorded : undefined;
  await deps.store.putHistory({
    service: service.name,
    rolloutId: subject.rolloutId,
    startedAt: recorded?.startedAt ?? dead.push?.pushedAt ?? subject.startedAt,
    ...(dead.push ? { pushedAt: dead.push.pushedAt } : {}),
    endedAt: ended,
    outcome,
    image: dead.image,
    ...(target ? { liveSlot: target.slot, weights: weightsFor(target.slot, 100) } : {}),
    reason: `${closed?.reason ? `${closed.reason}; then ` : ''}${cause}; Cutover recovered the service: ${restored}`,
  });
  if (target) {
    const previous = await deps.store.getServiceState(service.name);
    await deps.store.putServiceState({
      service: service.name,
      liveSlot: target.slot,
      liveTaskDefinitionArn: target.taskDefinitionArn,
      desiredCount: target.desiredCount,
      rolloutId: subject.rolloutId,
      at: ended,
      push: newestPush(previous?.push, dead.push),
      written: { generation: took.generation, stage: 2 },
    });
  }
  await deps.store.releaseLock(service.name, id);
  await wakeNextAfterRelease(service, deps);
  const decision = `recovered ${service.name} after ${subject.rolloutId} died (${cause}): ${restored}`;
  // The cause is outside text (an operator's reason, an execution's error): escaped, as rollback's message is.
  await deps.notifier?.post(`:warning: *${service.name}*: ${slackText(decision)}`, dead.thread);
  return { status: 'recovered', decision };
}

/** Absolute writes that put the service on `target` (idempotent). Returns what was done, for people. */
export async function restoreTarget(service: ServiceConfig, target: LockTarget, deps: Pick<RecoveryDeps, 'ecs' | 'traffic'>): Promise<string> {
  const live = service.slots[target.slot];
  const other = service.slots[otherSlot(target.slot)];
  const done: string[] = [];
  const current = await deps.ecs.describeService(service.cluster, live.serviceName);
  if (!current || current.taskDefinition !== target.taskDefinitionArn || current.desiredCount === 0) {
    await deps.ecs.updateService(service.cluster, live.serviceName, { taskDefinition: target.taskDefinitionArn, desiredCount: Math.max(1, target.desiredCount) });
    done.push(`${target.slot} put back on ${shortRevision(target.taskDefinitionArn)} at ${Math.max(1, target.desiredCount)} tasks`);
  }
  const weights = weightsFor(target.slot, 100);
  await deps.traffic.setWeights(service.listenerArn, targetGroupWeights(service.slots, weights));
  done.unshift(`${target.slot} 100% on ${shortRevision(target.taskDefinitionArn)}`);
  if (target.phase === 'retained') {
    // The other slot held the new revision: back to the retained one, at zero tasks.
    done.push(`${otherSlot(target.slot)} ${await parkSlot(service.cluster, other.serviceName, target.taskDefinitionArn, deps)}`);
  }
  return done.join('; ');
}

/**
 * Scales a slot that no longer takes traffic to zero, pointed back at `revision` so the image it ran cannot
 * come back by a scale-up. ECS refuses a service update to an INACTIVE revision (one deregistered by hand):
 * then the slot is only scaled to zero. Returns what was done, for people.
 */
export async function parkSlot(cluster: string, serviceName: string, revision: string, deps: { readonly ecs: Pick<Ecs, 'describeTaskDefinition' | 'updateService'> }): Promise<string> {
  const described = await deps.ecs.describeTaskDefinition(revision);
  if (described?.definition.status === 'ACTIVE') {
    await deps.ecs.updateService(cluster, serviceName, { taskDefinition: revision, desiredCount: 0 });
    return `back on ${shortRevision(revision)} at 0 tasks`;
  }
  await deps.ecs.updateService(cluster, serviceName, { desiredCount: 0 });
  return `scaled to 0 tasks (${shortRevision(revision)} is no longer registered, so it keeps its revision)`;
}
