/**
 * The {@link RolloutStore} port in memory, with the conditional-write semantics of the DynamoDB store
 * (`functions/aws/store.ts`), which is its specification:
 *
 * - the lock item outlives its holders: releasing it removes the holder's fields and keeps `generation`
 *   and the last `leaseUntil`; acquiring a free lock sets the request's fields and adds one to `generation`;
 *   acquiring one's own lock answers it as it is;
 * - `fence` is conditional on holder and generation (and no abort when `unlessAborted`) and sets the lease,
 *   the writer's own lease attribute (and the target); `closeLeases` removes writers' lease attributes; `takeOverLock` is conditional on the stale holder and its generation, moves to a new
 *   generation and drops every holder field the new holder does not set;
 * - `markAborted` keeps the first reason; `recordTaskToken` refuses after an abort, and a hold without a
 *   pause; `updateLock` with nothing to write succeeds without looking;
 * - the queue is ordered by its sort key (push time, then rollout id); history is keyed by (startedAt,
 *   rolloutId) and written as an upsert, so a second write of the same record merges into it.
 *
 * Every value goes in and out as a JSON copy, as through DynamoDB: `undefined` fields vanish and no caller
 * holds a reference into the store.
 */
import type { AbortFence, CommandRecord, FenceRequest, HistoryRecord, LockRecord, OpenLease, QueuedRollout, ScanWait, RolloutStore, ServiceState, StepRecord } from '../../functions/core/ports';
import { HOLDER_FIELDS, stepKey } from '../../functions/core/table';

type Item = Record<string, unknown>;

/** An invocation's open lease: the lock item's attribute `lease#<writer>` = `{ generation, until }`. */
const LEASE_PREFIX = 'lease#';

const copy = <T>(value: T): T => (value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T));

/** The defined fields of a write (DynamoDB's document client drops undefined values). */
const defined = (fields: object): Item => Object.fromEntries(Object.entries(copy(fields) as Item).filter(([, v]) => v !== undefined));

const queueSk = (pushedAt: string, rolloutId: string) => {
  const time = new Date(pushedAt);
  return `queue#${Number.isNaN(time.getTime()) ? pushedAt : time.toISOString()}#${rolloutId}`;
};
const historySk = (startedAt: string, rolloutId: string) => `rollout#${startedAt}#${rolloutId}`;

/** One service's items, by sort key (the table's partition `service#<name>`). */
type Partition = Map<string, Item>;

/** Items in sort-key order (DynamoDB's Query order), optionally reversed and limited. */
function byPrefix<T>(partition: Partition | undefined, prefix: string, options: { descending?: boolean; limit?: number } = {}): T[] {
  const keys = [...(partition?.keys() ?? [])].filter((k) => k.startsWith(prefix)).sort();
  if (options.descending) keys.reverse();
  return keys.slice(0, options.limit ?? keys.length).map((k) => copy(partition!.get(k)) as T);
}

/** The lock as the port answers it: undefined while free, without the index key. */
function toLock(item: Item | undefined): LockRecord | undefined {
  if (!item || typeof item.rolloutId !== 'string') return undefined;
  const { activeKey: _active, ...rest } = copy(item);
  const leases: OpenLease[] = [];
  for (const [name, value] of Object.entries(rest)) {
    if (!name.startsWith(LEASE_PREFIX)) continue;
    delete rest[name];
    leases.push({ writer: name.slice(LEASE_PREFIX.length), ...(value as { generation: number; until: string }) });
  }
  return { ...rest, ...(leases.length ? { leases } : {}) } as unknown as LockRecord;
}

/** A {@link RolloutStore} in memory; `tables` is open for the invariant checks to read. */
export class MemoryStore implements RolloutStore {
  /** Partition per service name, items by sort key. */
  readonly tables = new Map<string, Partition>();

  private partition(service: string): Partition {
    const p = this.tables.get(service) ?? new Map();
    this.tables.set(service, p);
    return p;
  }

  private lockItem(service: string): Item | undefined {
    return this.tables.get(service)?.get('lock');
  }

  /** The lock item as stored, free or held (for the invariant checks). */
  rawLock(service: string): Readonly<Item> | undefined {
    return copy(this.lockItem(service));
  }

  /** Every history record of a service, oldest first (for the invariant checks). */
  allHistory(service: string): HistoryRecord[] {
    return byPrefix<HistoryRecord>(this.tables.get(service), 'rollout#');
  }

  /** Every command of a service, oldest first (for the invariant checks). */
  allCommands(service: string): CommandRecord[] {
    return byPrefix<CommandRecord>(this.tables.get(service), 'command#');
  }

  async acquireLock(lock: Parameters<RolloutStore['acquireLock']>[0]): ReturnType<RolloutStore['acquireLock']> {
    const p = this.partition(lock.service);
    const item = p.get('lock') ?? {};
    if (typeof item.rolloutId !== 'string') {
      const next = { ...item, ...defined(lock), activeKey: 'active', generation: ((item.generation as number | undefined) ?? 0) + 1 };
      p.set('lock', next);
      return { acquired: true, lock: toLock(next)! };
    }
    const holder = toLock(item)!;
    if (holder.rolloutId === lock.rolloutId) return { acquired: true, lock: holder };
    return { acquired: false, holder };
  }

  async fence(service: string, rolloutId: string, generation: number, request: Parameters<RolloutStore['fence']>[3]): ReturnType<RolloutStore['fence']> {
    const item = this.lockItem(service);
    if (!item || item.rolloutId !== rolloutId || item.generation !== generation || (request.unlessAborted && item.abort !== undefined)) {
      return { ok: false, lock: toLock(item) };
    }
    item.leaseUntil = request.leaseUntil;
    item[`${LEASE_PREFIX}${request.writer}`] = { generation, until: request.leaseUntil, ...(request.holder ? { holder: request.holder } : {}) };
    if (request.target) item.target = copy(request.target);
    if (request.fallback) item.fallback = copy(request.fallback);
    return { ok: true, lock: toLock(item)! };
  }

  async closeLeases(service: string, writers: readonly string[]): Promise<void> {
    const item = this.lockItem(service);
    for (const writer of writers) if (item) delete item[`${LEASE_PREFIX}${writer}`];
  }

  async putScanWait(wait: ScanWait): Promise<void> {
    this.partition(wait.service).set(`scan#${wait.digest}`, copy(wait) as unknown as Item);
  }

  async scanWait(service: string, digest: string): Promise<ScanWait | undefined> {
    return copy(this.tables.get(service)?.get(`scan#${digest}`)) as ScanWait | undefined;
  }

  async deleteScanWait(service: string, digest: string): Promise<void> {
    this.tables.get(service)?.delete(`scan#${digest}`);
  }

  async getLock(service: string): Promise<LockRecord | undefined> {
    return toLock(this.lockItem(service));
  }

  async releaseLock(service: string, rolloutId: string, options: { readonly unlessAborted?: boolean } = {}): Promise<boolean> {
    const item = this.lockItem(service);
    if (!item || item.rolloutId !== rolloutId || (options.unlessAborted && item.abort !== undefined)) return false;
    for (const field of HOLDER_FIELDS) delete item[field];
    return true;
  }

  async updateLock(service: string, rolloutId: string, fields: Parameters<RolloutStore['updateLock']>[2]): Promise<boolean> {
    const values = defined(fields);
    if (Object.keys(values).length === 0) return true;
    const item = this.lockItem(service);
    if (!item || item.rolloutId !== rolloutId) return false;
    Object.assign(item, values);
    return true;
  }

  async recordTaskToken(service: string, rolloutId: string, taskToken: string, wait?: Parameters<RolloutStore['recordTaskToken']>[3]): ReturnType<RolloutStore['recordTaskToken']> {
    const item = this.lockItem(service);
    if (!item || item.rolloutId !== rolloutId || item.abort !== undefined || (wait?.kind === 'hold' && item.pause === undefined)) {
      return { recorded: false, lock: toLock(item) };
    }
    item.taskToken = taskToken;
    if (wait) item.wait = copy(wait);
    return { recorded: true, lock: toLock(item) };
  }

  async clearWait(service: string, rolloutId: string): Promise<void> {
    const item = this.lockItem(service);
    if (!item || item.rolloutId !== rolloutId) return;
    delete item.taskToken;
    delete item.wait;
  }

  async setPause(service: string, rolloutId: string, pause: LockRecord['pause'] | undefined): Promise<boolean> {
    const item = this.lockItem(service);
    if (!item || item.rolloutId !== rolloutId) return false;
    if (pause) item.pause = copy(pause);
    else delete item.pause;
    return true;
  }

  async takeOverLock(stale: Pick<LockRecord, 'rolloutId' | 'generation'>, lock: Parameters<RolloutStore['takeOverLock']>[1]): Promise<LockRecord | undefined> {
    const item = this.lockItem(lock.service);
    if (!item || item.rolloutId !== stale.rolloutId || item.generation !== stale.generation) return undefined;
    const given = defined(lock);
    for (const field of HOLDER_FIELDS) if (field !== 'rolloutId' && field !== 'activeKey' && given[field] === undefined) delete item[field];
    Object.assign(item, given, { activeKey: 'active', generation: (item.generation as number) + 1 });
    return toLock(item);
  }

  async enqueue(queued: QueuedRollout): Promise<void> {
    this.partition(queued.service).set(queueSk(queued.pushedAt, queued.rolloutId), defined(queued));
  }

  async queued(service: string): Promise<QueuedRollout[]> {
    return byPrefix<QueuedRollout>(this.tables.get(service), 'queue#');
  }

  async dequeue(service: string, rolloutId: string, pushedAt: string): Promise<void> {
    this.tables.get(service)?.delete(queueSk(pushedAt, rolloutId));
  }

  async getServiceState(service: string): Promise<ServiceState | undefined> {
    return copy(this.tables.get(service)?.get('state')) as ServiceState | undefined;
  }

  async putServiceState(state: ServiceState): Promise<void> {
    // A later owner, or a later stage of the same owner, wrote it already: this write is dropped.
    const was = (this.tables.get(state.service)?.get('state') as ServiceState | undefined)?.written;
    const w = state.written;
    if (w && was && !(was.generation < w.generation || (was.generation === w.generation && was.stage <= w.stage))) return;
    this.partition(state.service).set('state', defined(state));
  }

  async putStep(record: StepRecord): Promise<void> {
    this.partition(record.service).set(stepKey(record), defined(record));
  }

  async listSteps(service: string, rolloutId: string): Promise<StepRecord[]> {
    return byPrefix<StepRecord>(this.tables.get(service), `step#${rolloutId}#`);
  }

  async recordCommand(record: CommandRecord): Promise<void> {
    const p = this.partition(record.service);
    const sk = `command#${record.at}#${record.user}`;
    p.set(sk, { ...(p.get(sk) ?? {}), ...defined(record) });
  }

  async listCommands(service: string, limit: number): Promise<CommandRecord[]> {
    return byPrefix<CommandRecord>(this.tables.get(service), 'command#', { descending: true, limit });
  }

  async markAborted(service: string, rolloutId: string, abort: NonNullable<LockRecord['abort']>, fence?: AbortFence): Promise<LockRecord | undefined> {
    const item = this.lockItem(service);
    if (!item || item.rolloutId !== rolloutId || (fence && item.generation !== fence.generation)) return undefined;
    item.abort ??= copy(abort);
    if (fence) {
      item.leaseUntil = fence.leaseUntil;
      item[`${LEASE_PREFIX}${fence.writer}`] = { generation: fence.generation, until: fence.leaseUntil, ...(fence.holder ? { holder: fence.holder } : {}) };
      item.target = copy(fence.target);
    }
    return toLock(item);
  }

  async abortWatching(service: string, alarm: string, abort: NonNullable<LockRecord['abort']>, lease: Pick<FenceRequest, 'leaseUntil' | 'writer'>): Promise<{ written: boolean; lock?: LockRecord }> {
    const item = this.lockItem(service);
    const lock = item?.activeKey === 'active' ? toLock(item) : undefined;
    if (!item || !lock?.alarms?.includes(alarm) || !lock.fallback || (lock.role ?? 'rollout') !== 'rollout') return { written: false, lock };
    item.abort ??= copy(abort);
    item.leaseUntil = lease.leaseUntil;
    item[`${LEASE_PREFIX}${lease.writer}`] = { generation: lock.generation, until: lease.leaseUntil };
    item.target = copy(lock.fallback.target);
    return { written: true, lock: toLock(item) };
  }

  async activeLocks(): Promise<LockRecord[]> {
    return [...this.tables.keys()]
      .sort()
      .map((service) => this.lockItem(service))
      .filter((item) => item?.activeKey === 'active')
      .map((item) => toLock(item)!);
  }

  async activeLocksWatching(alarm: string): Promise<LockRecord[]> {
    return (await this.activeLocks()).filter((lock) => lock.alarms?.includes(alarm));
  }

  async putHistory(record: HistoryRecord): Promise<void> {
    const p = this.partition(record.service);
    const sk = historySk(record.startedAt, record.rolloutId);
    // Outcomes only move forward: RUNNING only over RUNNING, SUCCEEDED only over RUNNING or SUCCEEDED.
    const was = (p.get(sk) as HistoryRecord | undefined)?.outcome;
    const earlier = record.outcome === 'RUNNING' ? ['RUNNING'] : record.outcome === 'SUCCEEDED' ? ['RUNNING', 'SUCCEEDED'] : undefined;
    if (earlier && was !== undefined && !earlier.includes(was)) return;
    p.set(sk, { ...(p.get(sk) ?? {}), ...defined(record) });
  }

  async listHistory(service: string, limit: number): Promise<HistoryRecord[]> {
    return byPrefix<HistoryRecord>(this.tables.get(service), 'rollout#', { descending: true, limit });
  }
}
