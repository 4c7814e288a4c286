import { beforeEach, describe, expect, it } from 'vitest';
import type { ConcurrencyPolicy } from '../../functions/core/config';
import { ErrorName } from '../../functions/core/errors';
import type { Executions, LockRecord, Log, QueuedRollout, RolloutStore } from '../../functions/core/ports';
import { supersede, wakeNext, type TurnDeps } from '../../functions/core/turns';
import { isDead } from '../../functions/core/ownership';
import type { HistoryRecord } from '../../functions/core/ports';
import { ROLLOUT_ID, serviceConfig } from '../fixtures/state';

const NOW = '2026-11-24T10:20:00.000Z';

/**
 * An object of type T that implements only `impl`; calling anything else fails the test, naming it, so a
 * fake never answers a call it was not written for.
 */
function fake<T extends object>(name: string, impl: Partial<T>): T {
  return new Proxy(impl, {
    get(target, prop) {
      if (prop in target || typeof prop === 'symbol' || prop === 'then') return (target as Record<PropertyKey, unknown>)[prop];
      throw new Error(`${name}.${String(prop)} is not faked`);
    },
  }) as T;
}

/** The store's queue and locks, in memory. */
class MemoryStore {
  queue: QueuedRollout[] = [];
  locks = new Map<string, LockRecord>();
  history: HistoryRecord[] = [];

  readonly port = fake<RolloutStore>('store', {
    queued: async (service) => this.queue.filter((q) => q.service === service).sort((a, b) => a.pushedAt.localeCompare(b.pushedAt)),
    dequeue: async (service, rolloutId, pushedAt) => {
      this.queue = this.queue.filter((q) => !(q.service === service && q.rolloutId === rolloutId && q.pushedAt === pushedAt));
    },
    putHistory: async (record) => {
      this.history.push(record);
    },
    markAborted: async (service, rolloutId, abort) => {
      const lock = this.locks.get(service);
      if (!lock || lock.rolloutId !== rolloutId) return undefined;
      const marked = { ...lock, abort: lock.abort ?? abort };
      this.locks.set(service, marked);
      return marked;
    },
  });
}

type TokenState = { state: 'waiting' } | { state: 'gone' } | { state: 'succeeded'; output: unknown } | { state: 'failed'; error: string; cause: string };

/** Step Functions task tokens and execution statuses, in memory. */
class MemoryExecutions {
  tokens = new Map<string, TokenState>();
  statuses = new Map<string, Awaited<ReturnType<Executions['status']>>>();

  readonly port = fake<Executions>('executions', {
    succeedTask: async (token, output) => {
      if (this.tokens.get(token)?.state !== 'waiting') return false;
      this.tokens.set(token, { state: 'succeeded', output });
      return true;
    },
    failTask: async (token, error, cause) => {
      if (this.tokens.get(token)?.state !== 'waiting') return false;
      this.tokens.set(token, { state: 'failed', error, cause });
      return true;
    },
    status: async (rolloutId) => this.statuses.get(rolloutId) ?? 'UNKNOWN',
  });
}

const silent: Log = { info: () => {}, warn: () => {}, error: () => {} };

let store: MemoryStore;
let executions: MemoryExecutions;
let deps: TurnDeps;

/** Pushes A, B, C of checkout, one minute apart, each waiting for its turn on a token. */
const A: QueuedRollout = { service: 'checkout', rolloutId: 'checkout-a-20261124T100000Z', pushedAt: '2026-11-24T10:00:00Z', taskToken: 'token-a' };
const B: QueuedRollout = { service: 'checkout', rolloutId: 'checkout-b-20261124T100100Z', pushedAt: '2026-11-24T10:01:00Z', taskToken: 'token-b' };
const C: QueuedRollout = { service: 'checkout', rolloutId: 'checkout-c-20261124T100200Z', pushedAt: '2026-11-24T10:02:00Z', taskToken: 'token-c' };

/** The queue holds these (given in any order), each token waiting unless listed in `gone`. */
function givenQueue(items: QueuedRollout[], gone: QueuedRollout[] = []): void {
  store.queue = [...items];
  for (const item of items) executions.tokens.set(item.taskToken, { state: gone.includes(item) ? 'gone' : 'waiting' });
}

const tokenOf = (item: QueuedRollout) => executions.tokens.get(item.taskToken);
const queuedIds = () => store.queue.map((q) => q.rolloutId);
const service = (concurrency?: ConcurrencyPolicy) => serviceConfig(concurrency ? { concurrency } : {});

beforeEach(() => {
  store = new MemoryStore();
  executions = new MemoryExecutions();
  deps = { store: store.port, executions: executions.port, clock: { now: () => new Date(NOW) }, log: silent };
});

describe('wakeNext', () => {
  it('under queue wakes the oldest waiting push only, leaving it queued until its prepare takes the lock', async () => {
    givenQueue([C, A, B]);

    const woken = await wakeNext(service('queue'), deps);

    expect(woken).toBe(A.rolloutId);
    expect([tokenOf(A), tokenOf(B), tokenOf(C)]).toEqual([{ state: 'succeeded', output: { turn: true } }, { state: 'waiting' }, { state: 'waiting' }]);
    expect(queuedIds()).toEqual([C.rolloutId, A.rolloutId, B.rolloutId]);
  });

  it.each<[string, ConcurrencyPolicy | undefined]>([
    ['supersede', 'supersede'],
    ['the default policy (supersede)', undefined],
  ])('under %s wakes the newest push and fails and dequeues every older one as Superseded', async (_name, policy) => {
    givenQueue([A, B, C]);

    const woken = await wakeNext(service(policy), deps);

    expect(woken).toBe(C.rolloutId);
    expect(tokenOf(C)).toEqual({ state: 'succeeded', output: { turn: true } });
    const cause = `superseded while waiting by the newer push ${C.rolloutId}`;
    expect([tokenOf(B), tokenOf(A)]).toEqual([
      { state: 'failed', error: ErrorName.Superseded, cause },
      { state: 'failed', error: ErrorName.Superseded, cause },
    ]);
    expect(queuedIds()).toEqual([C.rolloutId]);
    expect(store.history.map((h) => [h.rolloutId, h.outcome, h.reason])).toEqual([
      [B.rolloutId, 'SUPERSEDED', cause],
      [A.rolloutId, 'SUPERSEDED', cause],
    ]);
  });

  it('under queue dequeues a waiter whose execution ended and wakes the next one', async () => {
    givenQueue([A, B, C], [A]);

    const woken = await wakeNext(service('queue'), deps);

    expect(woken).toBe(B.rolloutId);
    expect([tokenOf(B), tokenOf(C)]).toEqual([{ state: 'succeeded', output: { turn: true } }, { state: 'waiting' }]);
    expect(queuedIds()).toEqual([B.rolloutId, C.rolloutId]);
  });

  it('under supersede dequeues a newest waiter whose execution ended, wakes the next newest and supersedes the rest', async () => {
    givenQueue([A, B, C], [C]);

    const woken = await wakeNext(service('supersede'), deps);

    expect(woken).toBe(B.rolloutId);
    expect(tokenOf(B)).toEqual({ state: 'succeeded', output: { turn: true } });
    expect(tokenOf(A)).toEqual({ state: 'failed', error: ErrorName.Superseded, cause: `superseded while waiting by the newer push ${B.rolloutId}` });
    expect(queuedIds()).toEqual([B.rolloutId]);
  });

  it.each<[ConcurrencyPolicy]>([['queue'], ['supersede']])('under %s wakes nobody and empties the queue when every waiter has ended', async (policy) => {
    givenQueue([A, B], [A, B]);

    const woken = await wakeNext(service(policy), deps);

    expect(woken).toBeUndefined();
    expect(queuedIds()).toEqual([]);
  });

  it('orders waiters by ECR push time, not by when they were queued or their names', async () => {
    const late: QueuedRollout = { ...A, rolloutId: 'checkout-z', pushedAt: '2026-11-24T10:00:00.001Z', taskToken: 'token-z' };
    const early: QueuedRollout = { ...A, rolloutId: 'checkout-y', pushedAt: '2026-11-24T10:00:00.000Z', taskToken: 'token-y' };
    givenQueue([late, early]);

    const woken = await wakeNext(service('queue'), deps);

    expect(woken).toBe(early.rolloutId);
  });

  it('wakes nobody when no push waits', async () => {
    givenQueue([]);

    const woken = await wakeNext(service('queue'), deps);

    expect(woken).toBeUndefined();
    expect(executions.tokens.size).toBe(0);
  });

  it("leaves another service's queue alone", async () => {
    const payments: QueuedRollout = { ...A, service: 'payments', rolloutId: 'payments-a-20261124T100000Z', taskToken: 'token-payments' };
    givenQueue([payments, B]);

    const woken = await wakeNext(service('queue'), deps);

    expect(woken).toBe(B.rolloutId);
    expect(tokenOf(payments)).toEqual({ state: 'waiting' });
  });
});

describe('isDead', () => {
  const holder: LockRecord = { service: 'checkout', rolloutId: ROLLOUT_ID, generation: 3, startedAt: '2026-11-24T10:15:03.000Z', alarms: ['checkout-5xx'] };

  it.each<[Awaited<ReturnType<Executions['status']>>, boolean]>([
    ['SUCCEEDED', true],
    ['FAILED', true],
    ['TIMED_OUT', true],
    ['ABORTED', true],
    ['RUNNING', false],
    ['PENDING_REDRIVE', false],
  ])('calls a holder whose execution is %s dead: %s', async (status, expected) => {
    executions.statuses.set(ROLLOUT_ID, status);

    expect(await isDead(holder, deps)).toBe(expected);
  });

  it.each([
    ['has 1 ms left', 1, false],
    ['ran out 1 ms ago', -1, true],
  ])('calls a holder with no execution behind it dead only once its lease has run out (lease %s)', async (_name, leftMs, expected) => {
    executions.statuses.set(ROLLOUT_ID, 'UNKNOWN');
    const now = Date.parse(NOW);
    const leased = { ...holder, leaseUntil: new Date(now + leftMs).toISOString() };

    expect(await isDead(leased, { executions: executions.port, clock: { now: () => new Date(now) } })).toBe(expected);
  });
});

describe('supersede', () => {
  const NEWER = 'checkout-df0042b9a5d5-20261124T101900Z';
  const REASON = `superseded by the newer push ${NEWER}`;
  const holder: LockRecord = { service: 'checkout', rolloutId: ROLLOUT_ID, generation: 2, startedAt: '2026-11-24T10:15:03.000Z', alarms: ['checkout-5xx'], taskToken: 'bake-token' };

  it('marks the holder aborted with RolloutAborted naming the newer push and fails its wait', async () => {
    store.locks.set('checkout', holder);
    executions.tokens.set('bake-token', { state: 'waiting' });

    await supersede(holder, NEWER, deps);

    expect(store.locks.get('checkout')?.abort).toEqual({ error: ErrorName.RolloutAborted, reason: REASON, at: NOW });
    expect(executions.tokens.get('bake-token')).toEqual({ state: 'failed', error: ErrorName.RolloutAborted, cause: REASON });
  });

  it('only marks a holder that is between two states (no token to fail)', async () => {
    const { taskToken: _none, ...between } = holder;
    store.locks.set('checkout', between);

    await supersede(between, NEWER, deps);

    expect(store.locks.get('checkout')?.abort).toEqual({ error: ErrorName.RolloutAborted, reason: REASON, at: NOW });
    expect(executions.tokens.size).toBe(0);
  });

  it('changes nothing when the holder released the lock meanwhile', async () => {
    executions.tokens.set('bake-token', { state: 'waiting' });

    await supersede(holder, NEWER, deps);

    expect(store.locks.size).toBe(0);
    expect(executions.tokens.get('bake-token')).toEqual({ state: 'waiting' });
  });
});
