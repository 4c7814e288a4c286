/**
 * The invariants checked once the world has settled (no execution running, no delivery or invocation under
 * way). The ones that must hold at every moment are checked by the world itself, at each write.
 *
 * - live: the listener is exactly 100/0 on one slot whose ECS service runs, at a desired count > 0, the
 *   revision the store's service state says is live, and that revision is ACTIVE;
 * - newest: the live image is the newest (by ECR push time, then digest) of the pushes whose record says
 *   SUCCEEDED, or the initial image when none did; and on a service nothing disturbed (no alarm, command,
 *   crash, stop, broken or never-steady image, or change by hand; concurrency supersede or queue; no gate that rolls back
 *   when nobody promotes it), the newest push ECR holds;
 * - records: every push has exactly one history record per service it targets, and none says RUNNING;
 * - locks: no lock is held;
 * - commands: a rollback the operator was told was accepted (200/202), and an abort the alarm function
 *   reported, took effect: the rollout it named did not end SUCCEEDED with its image live.
 *
 * (`run.ts` adds `prompt`: no execution waited for a safety timeout, and `settles`.)
 */
import type { ServiceConfig } from '../../functions/core/config';
import type { HistoryRecord } from '../../functions/core/ports';
import { executionName, isNewerPush } from '../../functions/core/rollout';
import type { Schedule } from './schedule';
import { World, type Violation } from './world';

/** One push as it happened: ECR's push time, and what it was. */
export interface PushRecord {
  readonly repository: string;
  readonly digest: string;
  readonly pushedAt: string;
  readonly inEcr: boolean;
  readonly broken: boolean;
  /** Steady checks its tasks take to start. */
  readonly slowChecks: number;
}

/** An abort that was reported as done: by a command's answer (200/202) or by the alarm function's result. */
export interface AcceptedAbort {
  readonly service: string;
  readonly rolloutId: string;
  readonly by: string;
}

export interface Observed {
  readonly pushes: readonly PushRecord[];
  readonly aborts: readonly AcceptedAbort[];
}

const digestOfImage = (image: string | undefined) => image?.split('@')[1];
const short = (digest: string | undefined) => digest?.slice(7, 13) ?? '?';

/** The record of each rollout id: the last one written when there are several (a violation of its own). */
function outcomes(history: readonly HistoryRecord[]): Map<string, HistoryRecord> {
  const byId = new Map<string, HistoryRecord>();
  for (const h of history) byId.set(h.rolloutId, h);
  return byId;
}

/** Whether nothing but pushes (good or refused) touched this service in the schedule. */
function undisturbed(schedule: Schedule, service: ServiceConfig, pushes: readonly PushRecord[]): boolean {
  if ((service.concurrency ?? 'supersede') === 'reject') return false;
  if (pushes.some((p) => p.broken || p.slowChecks >= service.timings.steadyMaxChecks)) return false;
  // A manual gate nobody promotes rolls back by design when its onTimeout says so.
  if (service.plan.steps.some((step) => step.kind === 'pause' && step.onTimeout === 'rollback')) return false;
  return schedule.events.every(({ action: a }) => {
    if (a.kind === 'push') return true;
    if (a.kind === 'alarm') return !service.alarms.includes(a.alarm);
    if (a.kind === 'crash') return false;
    return a.service !== service.name;
  });
}

/** Checks the settled world; returns what is broken. */
export function checkSettled(world: World, schedule: Schedule, observed: Observed): Violation[] {
  const violations: Violation[] = [];
  const atMs = world.now();
  const violate = (invariant: string, detail: string) => violations.push({ invariant, atMs, detail });

  for (const service of schedule.services) {
    const name = service.name;
    const history = world.store.allHistory(name);
    const records = outcomes(history);
    const state = world.store.tables.get(name)?.get('state') as { liveSlot?: string; liveTaskDefinitionArn?: string } | undefined;

    // live
    const weights = world.weightsOf(service);
    const liveSlot = weights.blue === 100 && weights.green === 0 ? 'blue' : weights.green === 100 && weights.blue === 0 ? 'green' : undefined;
    let liveDigest: string | undefined;
    if (!liveSlot) {
      violate('live', `${name}: the listener is blue ${weights.blue} / green ${weights.green}, not 100/0`);
    } else {
      const slot = world.slotOf(service, liveSlot);
      const revision = world.revisionOf(slot.taskDefinition, service.containerName);
      liveDigest = digestOfImage(revision?.image);
      const expected = state?.liveTaskDefinitionArn ?? world.slotOf(service, 'blue').taskDefinition;
      if (slot.desiredCount <= 0) violate('live', `${name}: the live ${liveSlot} slot wants ${slot.desiredCount} tasks`);
      if (revision?.status !== 'ACTIVE') violate('live', `${name}: the live ${liveSlot} slot runs ${slot.taskDefinition}, which is ${revision?.status ?? 'missing'}`);
      if (state && state.liveSlot !== liveSlot) violate('live', `${name}: traffic is on ${liveSlot}, the service state says ${state.liveSlot}`);
      if (state && slot.taskDefinition !== expected) violate('live', `${name}: the live ${liveSlot} slot runs ${slot.taskDefinition}, the service state says ${expected}`);
    }

    // newest
    const pushes = observed.pushes.filter((p) => p.repository === service.repository);
    const idOf = (p: PushRecord) => executionName(name, p.digest);
    const succeeded = pushes.filter((p) => records.get(idOf(p))?.outcome === 'SUCCEEDED');
    const ref = (p: PushRecord) => ({ pushedAt: p.pushedAt, digest: p.digest });
    const newestSucceeded = succeeded.reduce<PushRecord | undefined>((best, p) => (!best || isNewerPush(ref(p), ref(best)) ? p : best), undefined);
    const expectedDigest = newestSucceeded?.digest ?? World.initialDigest(name);
    if (liveDigest && liveDigest !== expectedDigest) {
      violate('newest', `${name}: ${short(liveDigest)} is live, but the newest push whose record says SUCCEEDED is ${newestSucceeded ? short(newestSucceeded.digest) : 'none (the initial image)'}`);
    }
    if (liveDigest && undisturbed(schedule, service, pushes)) {
      const valid = pushes.filter((p) => p.inEcr && !p.broken);
      const newest = valid.reduce<PushRecord | undefined>((best, p) => (!best || isNewerPush(ref(p), ref(best)) ? p : best), undefined);
      if (newest && liveDigest !== newest.digest) {
        violate(
          'newest',
          `${name}: nothing disturbed it, yet ${short(liveDigest)} is live and not the newest push ${short(newest.digest)} (${records.get(idOf(newest))?.outcome ?? 'no record'}: ${records.get(idOf(newest))?.reason ?? ''})`,
        );
      }
    }

    // records
    for (const p of pushes) {
      const id = idOf(p);
      const mine = history.filter((h) => h.rolloutId === id);
      if (mine.length !== 1) violate('records', `${name}: push ${short(p.digest)} has ${mine.length} history records (${mine.map((h) => `${h.outcome}: ${h.reason ?? ''}`).join(' | ')})`);
      for (const h of mine) if (!h.outcome || h.outcome === 'RUNNING') violate('records', `${name}: the record of push ${short(p.digest)} says ${h.outcome ?? 'nothing'}`);
    }

    // locks
    const lock = world.store.rawLock(name) as { rolloutId?: string; role?: string; generation?: number } | undefined;
    if (lock?.rolloutId) violate('locks', `${name}: the lock is still held by ${lock.rolloutId} (${lock.role ?? 'rollout'}, generation ${lock.generation})`);

    // commands
    for (const abort of observed.aborts.filter((a) => a.service === name)) {
      const push = pushes.find((p) => idOf(p) === abort.rolloutId);
      if (!push) continue;
      if (records.get(abort.rolloutId)?.outcome === 'SUCCEEDED' && liveDigest === push.digest) {
        violate('commands', `${name}: ${abort.by} was accepted for ${short(push.digest)}, which ended SUCCEEDED and is live`);
      }
    }
  }
  return violations;
}
