/**
 * The ownership protocol's core: the fence before a mutation, and the recovery of a service from a dead
 * owner (take over, wait out the lease, restore the lock's target, close the record, release).
 */
import { describe, expect, it } from 'vitest';
import { ErrorName } from '../../functions/core/errors';
import { closeLeases, fenced, recoverService, recoveryId, Writer, type RecoveryDeps } from '../../functions/core/ownership';
import type { FenceRequest, HistoryRecord, LockRecord, LockTarget, RolloutStore, ServiceState } from '../../functions/core/ports';
import { BLUE_TG, GREEN_TG, NEW_TD, RETAINED_TD, ROLLOUT_ID, serviceConfig } from '../fixtures/state';

const NOW = Date.parse('2026-11-24T10:20:00.000Z');
const service = serviceConfig();

/** One service's lock, history and state, with the store's conditions on holder and generation. */
class World {
  lock: (Omit<LockRecord, 'rolloutId'> & { rolloutId?: string }) | undefined;
  history: HistoryRecord[] = [];
  state: ServiceState | undefined;
  weights: Record<string, number> = { [BLUE_TG]: 75, [GREEN_TG]: 25 };
  services: Record<string, { taskDefinition: string; desiredCount: number }> = {
    'checkout-blue': { taskDefinition: RETAINED_TD, desiredCount: 3 },
    'checkout-green': { taskDefinition: NEW_TD, desiredCount: 3 },
  };
  slept: number[] = [];
  /** Revisions deregistered (ECS refuses to point a service at one). */
  inactive = new Set<string>();
  /** The writers named by each closeLeases call. */
  closed: string[][] = [];
  now = NOW;

  held = () => (this.lock?.rolloutId ? (this.lock as LockRecord) : undefined);

  readonly store = {
    fence: async (_s: string, rolloutId: string, generation: number, request: FenceRequest) => {
      const lock = this.held();
      if (!lock || lock.rolloutId !== rolloutId || lock.generation !== generation || (request.unlessAborted && lock.abort)) return { ok: false as const, lock };
      const leases = [...(lock.leases ?? []).filter((l) => l.writer !== request.writer), { writer: request.writer, generation, until: request.leaseUntil }];
      this.lock = { ...lock, leaseUntil: request.leaseUntil, leases, ...(request.target ? { target: request.target } : {}) };
      return { ok: true as const, lock: this.lock as LockRecord };
    },
    closeLeases: async (_s: string, writers: readonly string[]) => {
      this.closed.push([...writers]);
      if (this.lock) this.lock = { ...this.lock, leases: (this.lock.leases ?? []).filter((l) => !writers.includes(l.writer)) };
    },
    takeOverLock: async (stale: Pick<LockRecord, 'rolloutId' | 'generation'>, request: Omit<LockRecord, 'generation'>) => {
      const lock = this.held();
      if (!lock || lock.rolloutId !== stale.rolloutId || lock.generation !== stale.generation) return undefined;
      this.lock = { ...request, generation: lock.generation + 1 };
      return this.lock as LockRecord;
    },
    releaseLock: async (_s: string, rolloutId: string) => {
      if (this.lock?.rolloutId !== rolloutId) return false;
      this.lock = { service: 'checkout', generation: this.lock.generation, startedAt: '', alarms: [] };
      return true;
    },
    putHistory: async (record: HistoryRecord) => {
      this.history.push(record);
    },
    getServiceState: async () => this.state,
    putServiceState: async (state: ServiceState) => {
      this.state = state;
    },
    queued: async () => [],
    listHistory: async () => this.history,
  } as unknown as RolloutStore;

  deps(): RecoveryDeps {
    return {
      store: this.store,
      ecs: {
        describeService: async (_c, name) => ({ serviceName: name, status: 'ACTIVE', runningCount: this.services[name]!.desiredCount, deployments: [], ...this.services[name]! }),
        updateService: async (_c, name, change) => {
          if (change.taskDefinition && this.inactive.has(change.taskDefinition)) throw Object.assign(new Error('TaskDefinition is inactive'), { name: 'InvalidParameterException' });
          this.services[name] = { ...this.services[name]!, ...change };
        },
        describeTaskDefinition: async (arn) => ({ definition: { family: 'checkout', containerDefinitions: [], status: this.inactive.has(arn) ? 'INACTIVE' : 'ACTIVE' }, tags: {} }),
      },
      traffic: {
        setWeights: async (_l, weights) => {
          for (const w of weights) this.weights[w.targetGroupArn] = w.weight;
        },
        // No test cohort here: listeners without rules.
        describeRules: async () => [],
        ruleTags: async () => ({}),
        deleteRule: async () => {},
      },
      executions: { succeedTask: async () => false, failTask: async () => false, start: async () => ({ executionArn: '', alreadyStarted: false }), status: async () => 'ABORTED' },
      clock: { now: () => new Date(this.now) },
      sleep: async (ms) => {
        this.slept.push(ms);
        this.now += ms;
      },
      log: { info: () => {}, warn: () => {}, error: () => {} },
      leaseMs: 1000,
    };
  }
}

const retained: LockTarget = { slot: 'blue', taskDefinitionArn: RETAINED_TD, desiredCount: 3, phase: 'retained' };
const committed: LockTarget = { slot: 'green', taskDefinitionArn: NEW_TD, desiredCount: 3, phase: 'committed' };
const deadOwner = (overrides: Partial<LockRecord> = {}): LockRecord => ({
  service: 'checkout',
  rolloutId: ROLLOUT_ID,
  generation: 4,
  startedAt: '2026-11-24T10:15:03.000Z',
  alarms: [],
  target: retained,
  ...overrides,
});

describe('fenced', () => {
  it('proves the holder at its generation and extends its lease by the writer’s run time', async () => {
    const world = new World();
    world.lock = deadOwner();

    const lock = await fenced({ service: 'checkout', rolloutId: ROLLOUT_ID, generation: 4 }, { ...world.deps(), leaseMs: 30_000 });

    expect(lock.leaseUntil).toBe(new Date(NOW + 30_000).toISOString());
  });

  it.each([
    ['another generation holds the lock', deadOwner({ generation: 5 })],
    ['another rollout holds the lock', deadOwner({ rolloutId: 'checkout-other' })],
    ['the lock is free', undefined],
  ])('refuses with LockLost when %s', async (_name, lock) => {
    const world = new World();
    world.lock = lock;

    await expect(fenced({ service: 'checkout', rolloutId: ROLLOUT_ID, generation: 4 }, world.deps())).rejects.toMatchObject({ name: ErrorName.LockLost });
  });

  it('refuses a forward step with the recorded abort’s error when asked to, and lets the rollback through', async () => {
    const world = new World();
    world.lock = deadOwner({ abort: { error: ErrorName.AlarmFired, reason: 'alarm checkout-5xx in ALARM', at: '' } });
    const owner = { service: 'checkout', rolloutId: ROLLOUT_ID, generation: 4 };

    await expect(fenced(owner, world.deps(), { unlessAborted: true })).rejects.toMatchObject({ name: ErrorName.AlarmFired });
    await expect(fenced(owner, world.deps())).resolves.toMatchObject({ generation: 4 });
  });

  it('opens a lease of its invocation, which the invocation closes when it ends cleanly, with the expired ones it saw', async () => {
    const world = new World();
    world.lock = deadOwner({ leases: [{ writer: 'crashed-long-ago', generation: 3, until: new Date(NOW - 1).toISOString() }] });
    const writer = new Writer('request-7');

    await fenced({ service: 'checkout', rolloutId: ROLLOUT_ID, generation: 4 }, { ...world.deps(), writer });
    const open = world.lock.leases;
    await closeLeases(writer, world.store);

    expect(open).toContainEqual({ writer: 'request-7', generation: 4, until: new Date(NOW + 1000).toISOString() });
    expect(world.closed).toEqual([['request-7', 'crashed-long-ago']]);
    expect(world.lock.leases).toEqual([]);
  });

  it("waits itself for an earlier owner's lease that runs out soon, then proves ownership again and writes", async () => {
    const world = new World();
    world.lock = deadOwner({ leases: [{ writer: 'died-mid-call', generation: 3, until: new Date(NOW + 800).toISOString() }] });

    const lock = await fenced({ service: 'checkout', rolloutId: ROLLOUT_ID, generation: 4 }, { ...world.deps(), writer: new Writer('request-9') });

    expect(world.slept).toEqual([800]);
    expect(lock.leaseUntil).toBe(new Date(NOW + 800 + 1000).toISOString());
  });

  it('writes nothing while an invocation of an earlier owner may still land a write, and closes its own lease again', async () => {
    const world = new World();
    const until = new Date(NOW + 12_000).toISOString();
    world.lock = deadOwner({
      leases: [
        { writer: 'died-mid-call', generation: 3, until },
        { writer: 'same-owner-earlier', generation: 4, until: new Date(NOW + 30_000).toISOString() },
      ],
    });
    const writer = new Writer('request-8');

    const refused = fenced({ service: 'checkout', rolloutId: ROLLOUT_ID, generation: 4 }, { ...world.deps(), writer });

    await expect(refused).rejects.toMatchObject({ name: ErrorName.LeaseOpen, until, waitMs: 12_000 });
    expect(world.closed).toEqual([['request-8']]);
    expect(world.lock.leases?.map((l) => l.writer)).toEqual(['died-mid-call', 'same-owner-earlier']);
    // Once that lease has run out, the same owner writes (its own generation's open lease is no obstacle).
    world.now = Date.parse(until);
    await expect(fenced({ service: 'checkout', rolloutId: ROLLOUT_ID, generation: 4 }, { ...world.deps(), writer })).resolves.toMatchObject({ generation: 4 });
  });
});

describe('recoverService', () => {
  it('takes over, waits out the dead owner’s lease, puts all traffic back on the retained revision and closes its record', async () => {
    const world = new World();
    world.lock = deadOwner({ leaseUntil: new Date(NOW + 800).toISOString(), image: 'repo@sha256:x' });

    const out = await recoverService(service, world.lock as LockRecord, 'execution ended ABORTED', world.deps());

    expect(out.status).toBe('recovered');
    expect(world.slept).toEqual([800]);
    expect(world.weights).toEqual({ [BLUE_TG]: 100, [GREEN_TG]: 0 });
    expect(world.services['checkout-green']).toEqual({ taskDefinition: RETAINED_TD, desiredCount: 0 });
    expect(world.services['checkout-blue']).toEqual({ taskDefinition: RETAINED_TD, desiredCount: 3 });
    expect(world.history).toEqual([expect.objectContaining({ rolloutId: ROLLOUT_ID, outcome: 'ROLLED_BACK', liveSlot: 'blue', startedAt: '2026-11-24T10:15:03.000Z' })]);
    expect(world.history[0]!.reason).toContain('execution ended ABORTED');
    expect(world.state).toMatchObject({ liveSlot: 'blue', liveTaskDefinitionArn: RETAINED_TD, desiredCount: 3 });
    expect(world.held()).toBeUndefined();
    expect(world.lock!.generation).toBe(5);
  });

  it('only scales the other slot to zero when the retained revision was deregistered by hand (ECS refuses to point a service at it)', async () => {
    const world = new World();
    world.inactive.add(RETAINED_TD);
    world.lock = deadOwner();

    const out = await recoverService(service, world.lock as LockRecord, 'stopped', world.deps());

    expect(out.status).toBe('recovered');
    expect(world.weights).toEqual({ [BLUE_TG]: 100, [GREEN_TG]: 0 });
    expect(world.services['checkout-green']).toEqual({ taskDefinition: NEW_TD, desiredCount: 0 });
    expect(out.decision).toContain('is no longer registered');
  });

  it('keeps a committed new revision live and leaves the warm old slot alone', async () => {
    const world = new World();
    world.weights = { [BLUE_TG]: 0, [GREEN_TG]: 100 };
    world.lock = deadOwner({ target: committed });

    await recoverService(service, world.lock as LockRecord, 'died in Finalize', world.deps());

    expect(world.weights).toEqual({ [BLUE_TG]: 0, [GREEN_TG]: 100 });
    expect(world.services['checkout-blue']).toEqual({ taskDefinition: RETAINED_TD, desiredCount: 3 });
    expect(world.history[0]).toMatchObject({ outcome: 'SUCCEEDED', liveSlot: 'green' });
  });

  it('scales the target slot back up before it gets the traffic when someone scaled it to zero', async () => {
    const world = new World();
    world.services['checkout-blue'] = { taskDefinition: RETAINED_TD, desiredCount: 0 };
    world.lock = deadOwner();

    await recoverService(service, world.lock as LockRecord, 'stopped', world.deps());

    expect(world.services['checkout-blue']).toEqual({ taskDefinition: RETAINED_TD, desiredCount: 3 });
    expect(world.weights[BLUE_TG]).toBe(100);
  });

  it('changes only the lock and the record when the dead owner had changed nothing (no target yet)', async () => {
    const world = new World();
    world.lock = deadOwner({ target: undefined });

    const out = await recoverService(service, world.lock as LockRecord, 'died in Prepare', world.deps());

    expect(out.decision).toContain('nothing had been changed yet');
    expect(world.weights).toEqual({ [BLUE_TG]: 75, [GREEN_TG]: 25 });
    expect(world.history[0]).toMatchObject({ outcome: 'FAILED' });
    expect(world.state).toBeUndefined();
  });

  it('closes the record the dead rollout wrote, or, when it died before writing one, the record keyed by its push time', async () => {
    const push = { pushedAt: '2026-11-24T10:14:58.250Z', digest: 'sha256:x' };
    const early = new World();
    early.lock = deadOwner({ target: undefined, push });
    const later = new World();
    later.lock = deadOwner({ push });
    later.history = [{ service: 'checkout', rolloutId: ROLLOUT_ID, startedAt: '2026-11-24T10:15:03.000Z', outcome: 'RUNNING', pushedAt: push.pushedAt }];

    await recoverService(service, early.lock as LockRecord, 'stopped in Prepare', early.deps());
    await recoverService(service, later.lock as LockRecord, 'stopped in Bake', later.deps());

    expect(early.history).toEqual([expect.objectContaining({ rolloutId: ROLLOUT_ID, startedAt: push.pushedAt, pushedAt: push.pushedAt, outcome: 'FAILED' })]);
    expect(later.history.at(-1)).toMatchObject({ rolloutId: ROLLOUT_ID, startedAt: '2026-11-24T10:15:03.000Z', outcome: 'ROLLED_BACK' });
  });

  it('touches nothing when another recovery took over first', async () => {
    const world = new World();
    const dead = deadOwner();
    world.lock = { ...dead, rolloutId: recoveryId(dead.rolloutId), generation: 5 };

    const out = await recoverService(service, dead, 'stopped', world.deps());

    expect(out.status).toBe('gone');
    expect(world.weights).toEqual({ [BLUE_TG]: 75, [GREEN_TG]: 25 });
    expect(world.history).toEqual([]);
  });

  it('also waits out a lease an earlier invocation left open, when it ends after the dead owner’s own', async () => {
    const world = new World();
    world.lock = deadOwner({ leaseUntil: new Date(NOW + 800).toISOString(), leases: [{ writer: 'died-mid-call', generation: 3, until: new Date(NOW + 2500).toISOString() }] });

    const out = await recoverService(service, world.lock as LockRecord, 'stopped', world.deps());

    expect(out.status).toBe('recovered');
    expect(world.slept).toEqual([2500]);
    expect(world.weights).toEqual({ [BLUE_TG]: 100, [GREEN_TG]: 0 });
  });

  it('takes nothing when the dead owner’s lease outlasts what the caller may wait, and says how long', async () => {
    const world = new World();
    world.lock = deadOwner({ leaseUntil: new Date(NOW + 20_000).toISOString() });

    const out = await recoverService(service, world.lock as LockRecord, 'stopped', world.deps(), 1500);

    expect(out).toMatchObject({ status: 'wait', waitMs: 20_000 });
    expect(world.lock!.generation).toBe(4);
    expect(world.weights).toEqual({ [BLUE_TG]: 75, [GREEN_TG]: 25 });
  });
});

describe('leases across generations', () => {
  it("lets a retried scale-down or restore pass its own failed attempt's lease, and nobody else", async () => {
    const until = new Date(NOW + 20_000).toISOString();
    const failedRetire = { writer: 'retire-attempt-1', generation: 6, until, holder: `retire:${ROLLOUT_ID}` };
    const retry = { service: 'checkout', rolloutId: ROLLOUT_ID, generation: 7, role: 'retire' as const };
    const world = new World();
    world.lock = deadOwner({ generation: 7, role: 'retire', leases: [failedRetire] });

    await expect(fenced(retry, world.deps())).resolves.toMatchObject({ generation: 7 });
    // The same rollout id as a rollout (another holder) waits the lease out.
    world.lock = deadOwner({ generation: 7, leases: [failedRetire] });
    await expect(fenced({ ...retry, role: undefined }, world.deps())).rejects.toMatchObject({ name: ErrorName.LeaseOpen });
  });
});
