/**
 * The deterministic interleaving test of the ownership protocol (issue 10, "How to prove it").
 *
 * Each seed makes a schedule of pushes, alarms, commands, crashes, stopped executions and changes by hand
 * (`schedule.ts`), runs it against the real state machine and the real handlers over an in-memory AWS
 * (`world.ts`) in virtual time (`run.ts`), and checks the invariants at every write and once everything has
 * settled (`invariants.ts`). A failing seed prints its schedule, the violations, the journal of the run and
 * the command that replays it.
 *
 * Environment:
 * - `INTERLEAVING_SEEDS` (default 200) seeds from `INTERLEAVING_FIRST_SEED` (default 1), plus every known
 *   failing seed when no first seed is given;
 * - `INTERLEAVING_SEED=<n>[,<n>...]` replays those seeds and prints their journals;
 * - `INTERLEAVING_REPORT=<file>` writes the totals as JSON (for `scripts/interleavings.ts`).
 */
import { writeFileSync } from 'node:fs';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryStore } from './memory-store';
import { runSchedule, type VirtualTimers } from './run';
import { scheduleOf } from './schedule';
import { addOutcome, emptyTotals, failureReport, runSeed } from './seeds';
import { World } from './world';

/**
 * Seeds that broke an invariant when they were found, with the diagnosis of the bug each showed. The bugs
 * are fixed; the seeds run in every run as regressions (a change of the handlers can move the interleaving
 * a seed hits: then find another seed that shows the same race, and replace it).
 */
const FOUND: ReadonlyArray<{ readonly seed: number; readonly invariant: string; readonly diagnosis: string }> = [
  {
    seed: 2,
    invariant: 'prompt',
    diagnosis:
      'a lost wake-up: wakeNext wakes one waiter; when that waiter\'s prepare then refuses it without taking the lock (older than the image live now, or superseded on arrival), nobody wakes the next one, which sits in "Wait for turn" until its 24 h timeout',
  },
  {
    seed: 174,
    invariant: 'live',
    diagnosis:
      'the new slot scaled to 0 by hand after the last "Check alarms" (while Finalize runs) is not noticed: Finalize commits, and "Scale down old slot" scales the old slot to 0 too, leaving all traffic on a slot with no tasks',
  },
  {
    seed: 1139,
    invariant: 'newest',
    diagnosis:
      "Finalize's history write (SUCCEEDED) is unconditional: the sandbox dies with it on the wire, the Catch rolls back and writes ROLLED_BACK, then the late write lands within the lease and the record says SUCCEEDED while the retained revision is live",
  },
  {
    seed: 1154,
    invariant: 'records',
    diagnosis:
      'a crash of the bake function in "Wait for turn" (Lambda.Unknown, Sandbox.Timedout) ends the execution in "Rollout refused" with no history record; with supersede the push had already aborted the rollout in flight, so both pushes are lost',
  },
  {
    seed: 1370,
    invariant: 'newest',
    diagnosis:
      'the queue was ordered by the event time (one-second resolution: bake enqueued trigger.at): in the same second the lower digest won, and the push ECR recorded later was dropped as superseded while waiting',
  },
  {
    seed: 2485,
    invariant: 'records',
    diagnosis:
      "reconcile crashed after taking the lock over; Lambda's retry found the lock held by recover-<id>, not by the ended execution, and did nothing: the record stayed RUNNING, and a later recovery of the orphaned lock closed the recovery's record instead of the rollout's",
  },
  {
    seed: 1755,
    invariant: 'records',
    diagnosis:
      'a waiter dropped by wakeNext got its SUPERSEDED record keyed by the time it was dropped, and reconcile, seeing its execution end, a FAILED record keyed by its push time: two records for one push',
  },
  {
    seed: 1859,
    invariant: 'records',
    diagnosis:
      'an execution stopped while Prepare runs: reconcile handles the ABORTED event before the still-running prepare takes the lock, finds no lock and does nothing; the lock then stays held by the dead execution with its record RUNNING, and the older push that arrived meanwhile was dropped as superseded by the dead one',
  },
  {
    seed: 1814,
    invariant: 'owners',
    diagnosis:
      'only a recovery waited out the previous lease: a rollback attempt dies with ecs:UpdateService on the wire, the retried rollback completes and releases, the next push takes generation 3 and writes, then the generation-2 write lands (now each invocation closes its own lease, and a new owner writes nothing while an earlier one is open)',
  },
  {
    seed: 1281,
    invariant: 'records',
    diagnosis:
      'an execution stopped in Prepare, right after it took the lock: reconcile recovers it and keys the FAILED record by the time it took the lock, Prepare (seeing its execution ended) by the push time: two records for one push (the recovery now closes the record the rollout wrote, or the one keyed by its push time)',
  },
  {
    seed: 1137,
    invariant: 'records',
    diagnosis: 'the same race as 1281 with a waiter: two FAILED records for one push stopped around Prepare',
  },
  {
    seed: 1593,
    invariant: 'live',
    diagnosis:
      'the new slot scaled to 0 by hand right after Finalize checked it: the scale-down noticed and kept the old slot warm, but left all traffic on the empty slot (now the warm old slot takes the traffic back, a restore of its own)',
  },
  {
    seed: 1882,
    invariant: 'live',
    diagnosis: 'the same, with the execution then stopped in its rollback window: reconcile found no lock and did nothing (now it restores the warm old slot when the committed one cannot serve)',
  },
];

/**
 * Bugs the interleavings found that are still open: each test asserts the seed still breaks its invariant,
 * so it fails the day the bug is fixed, and the seed then moves to {@link FOUND}.
 */
const OPEN: ReadonlyArray<{ readonly seed: number; readonly invariant: string; readonly diagnosis: string }> = [];

const first = Number(process.env.INTERLEAVING_FIRST_SEED ?? 1);
const budget = Number(process.env.INTERLEAVING_SEEDS ?? 200);
const only = process.env.INTERLEAVING_SEED?.split(',').map(Number);
// A shard of the long run (INTERLEAVING_FIRST_SEED set) runs its range only; the default run adds the known ones.
const known = process.env.INTERLEAVING_FIRST_SEED === undefined ? FOUND.map((k) => k.seed) : [];
const open = new Set(OPEN.map((o) => o.seed));
const seeds = only ?? [...new Set([...Array.from({ length: budget }, (_, i) => first + i), ...known])].filter((seed) => !open.has(seed));

/** The virtual clock: fire the next timer, then let every promise it set off run (setImmediate stays real). */
const timers: VirtualTimers = {
  next: async () => {
    await vi.advanceTimersToNextTimerAsync();
    await new Promise((resolve) => setImmediate(resolve));
  },
  pending: () => vi.getTimerCount(),
};

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'], now: new Date('2026-03-02T09:00:00.000Z') });
});
afterEach(() => {
  vi.useRealTimers();
});

const totals = emptyTotals();
afterAll(() => {
  if (process.env.INTERLEAVING_REPORT) writeFileSync(process.env.INTERLEAVING_REPORT, JSON.stringify(totals));
});

/** Runs `work` to its end in virtual time. */
async function settle<T>(work: Promise<T>): Promise<T> {
  await vi.runAllTimersAsync();
  return work;
}

describe('the world the interleavings run in', () => {
  const service = scheduleOf(1).services[0]!;
  const weights = (blue: number) => [
    { targetGroupArn: service.slots.blue.targetGroupArn, weight: blue },
    { targetGroupArn: service.slots.green.targetGroupArn, weight: 100 - blue },
  ];
  const lease = () => new Date(Date.now() + 2000).toISOString();
  const request = (rolloutId: string) => ({ service: service.name, rolloutId, startedAt: new Date().toISOString(), alarms: service.alarms });

  it('flags a change of weights made without a fence of the lock', async () => {
    const world = new World({ seed: 1, services: [service] });

    await settle(world.invoke('shift', 'r1', () => world.traffic.setWeights(service.listenerArn, weights(100))));

    expect(world.violations.map((v) => v.invariant)).toEqual(['owners']);
  });

  it('flags a write of an older generation after a newer one has written', async () => {
    const world = new World({ seed: 1, services: [service] });
    const older = await settle(world.rolloutStore.acquireLock(request('r1')));
    const asOlder = (write: () => Promise<void>) =>
      world.invoke('rollback', 'r1', async () => {
        await world.rolloutStore.fence(service.name, 'r1', older.acquired ? older.lock.generation : 0, { leaseUntil: lease(), writer: 'w' });
        await write();
      });
    // The older write is held on the wire until the newer generation has written: released by the test.
    let land!: () => void;
    const onTheWire = new Promise<void>((resolve) => (land = resolve));
    const fencedEarly = asOlder(() => onTheWire.then(() => world.traffic.setWeights(service.listenerArn, weights(100))));
    await vi.advanceTimersByTimeAsync(100);
    await world.store.takeOverLock({ rolloutId: 'r1', generation: 1 }, { ...request('recover-r1'), leaseUntil: lease() });

    await settle(
      world.invoke('reconcile', 'r1', async () => {
        await world.rolloutStore.fence(service.name, 'recover-r1', 2, { leaseUntil: lease(), writer: 'w' });
        await world.traffic.setWeights(service.listenerArn, weights(100));
      }),
    );
    land();
    await settle(fencedEarly);

    expect(world.violations.map((v) => v.detail)).toEqual([expect.stringContaining('at generation 1 after generation 2')]);
  });

  it('flags deregistering the revision that carries the traffic', async () => {
    const world = new World({ seed: 1, services: [service] });
    const live = world.slotOf(service, 'blue').taskDefinition;
    await settle(world.rolloutStore.acquireLock(request('r1')));

    await settle(
      world.invoke('finalize', 'r1', async () => {
        await world.rolloutStore.fence(service.name, 'r1', 1, { leaseUntil: lease(), writer: 'w' });
        await world.ecs.deregisterTaskDefinition(live);
      }),
    );

    expect(world.violations.map((v) => v.invariant)).toEqual(['traffic']);
  });

  it('keeps the generation across holders and refuses the fence of a holder taken over', async () => {
    const store = new MemoryStore();
    const first = await store.acquireLock(request('r1'));
    const again = await store.acquireLock(request('r1'));
    await store.fence(service.name, 'r1', 1, { leaseUntil: '2026-03-02T09:00:02.000Z', writer: 'w' });
    await store.releaseLock(service.name, 'r1');
    const second = await store.acquireLock(request('r2'));
    const taken = await store.takeOverLock({ rolloutId: 'r2', generation: 2 }, request('recover-r2'));
    const lateFence = await store.fence(service.name, 'r2', 2, { leaseUntil: lease(), writer: 'w' });

    expect([first.acquired && first.lock.generation, again.acquired && again.lock.generation, second.acquired && second.lock.generation, taken?.generation]).toEqual([1, 1, 2, 3]);
    expect(second.acquired && second.lock.leaseUntil).toBe('2026-03-02T09:00:02.000Z');
    expect(lateFence).toEqual({ ok: false, lock: expect.objectContaining({ rolloutId: 'recover-r2', generation: 3 }) });
  });

  it('keeps the first abort, refuses a token after it, and a fence that asks for no abort', async () => {
    const store = new MemoryStore();
    await store.acquireLock(request('r1'));
    await store.markAborted(service.name, 'r1', { error: 'AlarmFired', reason: 'first', at: '2026-03-02T09:00:01.000Z' });
    const second = await store.markAborted(service.name, 'r1', { error: 'RolloutAborted', reason: 'second', at: '2026-03-02T09:00:02.000Z' });

    expect(second?.abort?.reason).toBe('first');
    expect((await store.recordTaskToken(service.name, 'r1', 'token', { kind: 'bake', since: '2026-03-02T09:00:03.000Z' })).recorded).toBe(false);
    expect((await store.fence(service.name, 'r1', 1, { leaseUntil: lease(), writer: 'w', unlessAborted: true })).ok).toBe(false);
    expect(await store.releaseLock(service.name, 'r1', { unlessAborted: true })).toBe(false);
  });

  it('orders the queue by push time, then rollout id', async () => {
    const store = new MemoryStore();
    for (const [rolloutId, pushedAt] of [
      ['b', '2026-03-02T09:00:01.500Z'],
      ['c', '2026-03-02T09:00:01.000Z'],
      ['a', '2026-03-02T09:00:01.500Z'],
    ] as const) {
      await store.enqueue({ service: service.name, rolloutId, pushedAt, taskToken: `token-${rolloutId}` });
    }

    expect((await store.queued(service.name)).map((q) => q.rolloutId)).toEqual(['c', 'a', 'b']);
  });

  it('replays a seed identically', async () => {
    const once = await runSchedule(scheduleOf(7), timers);
    vi.setSystemTime(new Date('2026-03-02T09:00:00.000Z'));
    const twice = await runSchedule(scheduleOf(7), timers);

    expect(twice.journal).toEqual(once.journal);
    expect(once.calls).toBeGreaterThan(0);
  });
});

describe('interleavings of pushes, alarms, commands, crashes, stopped executions and changes by hand', () => {
  it.each(seeds)('seed %i keeps every invariant', async (seed) => {
    const { outcome, summary } = await runSeed(seed, timers);
    addOutcome(totals, outcome);
    if (only !== undefined) console.log(failureReport(summary, outcome));

    if (outcome.violations.length > 0) expect.fail(failureReport(summary, outcome));
    expect(outcome.injected).toBeLessThanOrEqual(outcome.scheduled);
  });

  it.each(OPEN)('seed $seed still breaks "$invariant" (an open bug: $diagnosis)', async ({ seed, invariant }) => {
    const { outcome } = await runSeed(seed, timers);

    expect(outcome.violations.map((v) => v.invariant)).toContain(invariant);
  });
});
