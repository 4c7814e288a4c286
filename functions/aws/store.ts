/**
 * The {@link RolloutStore} port over one DynamoDB table (`pk`, `sk` strings; a sparse GSI `active` on
 * `activeKey` holding only the locks of rollouts in flight).
 *
 * Items:
 * - lock:    pk `service#<name>`, sk `lock`; kept when free (its `generation` only grows); `rolloutId` and
 *            activeKey `active` only while held
 * - history: pk `service#<name>`, sk `rollout#<startedAt>#<rolloutId>`
 */
import { ConditionalCheckFailedException, DynamoDBClient, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { CommandRecord, HistoryRecord, LockRecord, OpenLease, QueuedRollout, ScanWait, RolloutStore, ServiceState, StepRecord } from '../core/ports';
import { sdkOptions } from './clients';
import { edge } from './edge';
import { ACTIVE_INDEX, HOLDER_FIELDS, stepKey } from '../core/table';

export { ACTIVE_INDEX };
const LOCK_SK = 'lock';
const pkOf = (service: string) => `service#${service}`;
const historySk = (startedAt: string, rolloutId: string) => `rollout#${startedAt}#${rolloutId}`;
const scanSk = (digest: string) => `scan#${digest}`;
/** ISO times sort as text; the rollout id (service + digest) breaks ties the same way as {@link isNewerPush}. */
const queueSk = (pushedAt: string, rolloutId: string) => {
  const time = new Date(pushedAt);
  return `queue#${Number.isNaN(time.getTime()) ? pushedAt : time.toISOString()}#${rolloutId}`;
};

/** Builds `SET a = :a, b = :b` for the defined fields; `if_not_exists` for those named. */
function setExpression(fields: Record<string, unknown>, keepFirst: readonly string[] = []) {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const parts: string[] = [];
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    names[`#${key}`] = key;
    values[`:${key}`] = value;
    parts.push(keepFirst.includes(key) ? `#${key} = if_not_exists(#${key}, :${key})` : `#${key} = :${key}`);
  }
  return { expression: `SET ${parts.join(', ')}`, names, values };
}

const conditionFailed = (error: unknown) => error instanceof ConditionalCheckFailedException || (error as { name?: string })?.name === 'ConditionalCheckFailedException';

/** The outcomes a history record may still have when one of these is written (others overwrite anything). */
const EARLIER_OUTCOMES: Readonly<Record<string, readonly string[]>> = {
  RUNNING: ['RUNNING'],
  SUCCEEDED: ['RUNNING', 'SUCCEEDED'],
};

/**
 * An invocation's open lease is an attribute of the lock item: `lease#<writer>` = `{ generation, until }`.
 * A lease opened by a write that did not know the generation (`abortWatching`) keeps it beside, copied by the
 * same write: `leasegen#<writer>`.
 */
const LEASE_PREFIX = 'lease#';
const LEASE_GENERATION_PREFIX = 'leasegen#';

function toLock(item: Record<string, unknown> | undefined): LockRecord | undefined {
  if (!item || typeof item.rolloutId !== 'string') return undefined;
  const { pk: _pk, sk: _sk, activeKey: _a, ...rest } = item;
  const leases: OpenLease[] = [];
  for (const [name, value] of Object.entries(rest)) {
    if (!name.startsWith(LEASE_PREFIX)) continue;
    const writer = name.slice(LEASE_PREFIX.length);
    const copied = rest[`${LEASE_GENERATION_PREFIX}${writer}`];
    delete rest[name];
    const { generation, until, holder } = value as { generation?: number; until: string; holder?: string };
    leases.push({ writer, generation: generation ?? (copied as number), until, ...(holder ? { holder } : {}) });
  }
  for (const name of Object.keys(rest)) if (name.startsWith(LEASE_GENERATION_PREFIX)) delete rest[name];
  return { ...rest, ...(leases.length ? { leases } : {}) } as unknown as LockRecord;
}

export function awsStore(tableName: string, client: DynamoDBClient = new DynamoDBClient(sdkOptions)): RolloutStore {
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  const key = (service: string) => ({ pk: pkOf(service), sk: LOCK_SK });

  /** Sends a conditional write: its output, or undefined when its condition failed (the lock is gone or someone else's). */
  async function conditional<T>(operation: string, write: () => Promise<T>): Promise<{ out: T } | undefined> {
    try {
      return { out: await edge(operation, write) };
    } catch (error) {
      if (conditionFailed(error)) return undefined;
      throw error;
    }
  }

  /** A service's items of one kind (their sort keys share a prefix), without the key attributes. */
  async function byPrefix<T>(service: string, prefix: string, options: { ConsistentRead?: boolean; ScanIndexForward?: boolean; Limit?: number } = {}): Promise<T[]> {
    const out = await edge('dynamodb:Query', () =>
      doc.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': pkOf(service), ':prefix': prefix },
          ...options,
        }),
      ),
    );
    return (out.Items ?? []).map(({ pk: _pk, sk: _sk, ...rest }) => rest as T);
  }

  return {
    async acquireLock(lock) {
      const { expression, names, values } = setExpression({ ...lock, alarms: [...lock.alarms], activeKey: 'active' });
      // Free: a new holder, a new generation.
      const taken = await conditional('dynamodb:UpdateItem', () =>
        doc.send(
          new UpdateCommand({
            TableName: tableName,
            Key: key(lock.service),
            UpdateExpression: `${expression}, #gen = if_not_exists(#gen, :zero) + :one`,
            ConditionExpression: 'attribute_not_exists(#rolloutId)',
            ExpressionAttributeNames: { ...names, '#gen': 'generation' },
            ExpressionAttributeValues: { ...values, ':zero': 0, ':one': 1 },
            ReturnValues: 'ALL_NEW',
          }),
        ),
      );
      if (taken) return { acquired: true, lock: toLock(taken.out.Attributes)! };
      const holder = await this.getLock(lock.service);
      if (!holder) return this.acquireLock(lock); // released in between: try again
      // Already ours (a retried prepare): the same generation, the first start time and any abort kept.
      if (holder.rolloutId === lock.rolloutId) return { acquired: true, lock: holder };
      return { acquired: false, holder };
    },

    async fence(service, rolloutId, generation, request) {
      const names: Record<string, string> = { '#rid': 'rolloutId', '#gen': 'generation', '#lease': 'leaseUntil', '#writer': `${LEASE_PREFIX}${request.writer}` };
      const values: Record<string, unknown> = {
        ':rid': rolloutId,
        ':gen': generation,
        ':lease': request.leaseUntil,
        ':writer': { generation, until: request.leaseUntil, ...(request.holder ? { holder: request.holder } : {}) },
      };
      let update = 'SET #lease = :lease, #writer = :writer';
      if (request.target) {
        names['#target'] = 'target';
        values[':target'] = request.target;
        update += ', #target = :target';
      }
      if (request.fallback) {
        names['#fallback'] = 'fallback';
        values[':fallback'] = request.fallback;
        update += ', #fallback = :fallback';
      }
      let condition = '#rid = :rid AND #gen = :gen';
      if (request.unlessAborted) {
        names['#abort'] = 'abort';
        condition += ' AND attribute_not_exists(#abort)';
      }
      const written = await conditional('dynamodb:UpdateItem', () =>
        doc.send(
          new UpdateCommand({
            TableName: tableName,
            Key: key(service),
            UpdateExpression: update,
            ConditionExpression: condition,
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
            ReturnValues: 'ALL_NEW',
          }),
        ),
      );
      if (written) return { ok: true, lock: toLock(written.out.Attributes)! };
      return { ok: false, lock: await this.getLock(service) };
    },

    async getLock(service) {
      const out = await edge('dynamodb:GetItem', () => doc.send(new GetCommand({ TableName: tableName, Key: key(service), ConsistentRead: true })));
      return toLock(out.Item);
    },

    async releaseLock(service, rolloutId, options = {}) {
      const names: Record<string, string> = Object.fromEntries(HOLDER_FIELDS.map((f, i) => [`#h${i}`, f]));
      // Gone already, or not ours: nothing to release.
      const written = await conditional('dynamodb:UpdateItem', () =>
        doc.send(
          new UpdateCommand({
            TableName: tableName,
            Key: key(service),
            UpdateExpression: `REMOVE ${Object.keys(names).join(', ')}`,
            ConditionExpression: `#h${HOLDER_FIELDS.indexOf('rolloutId')} = :id${options.unlessAborted ? ` AND attribute_not_exists(#h${HOLDER_FIELDS.indexOf('abort')})` : ''}`,
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: { ':id': rolloutId },
          }),
        ),
      );
      return written !== undefined;
    },

    async closeLeases(service, writers) {
      if (writers.length === 0) return;
      const names = Object.fromEntries(
        writers.flatMap((w, i) => [
          [`#w${i}`, `${LEASE_PREFIX}${w}`],
          [`#g${i}`, `${LEASE_GENERATION_PREFIX}${w}`],
        ]),
      );
      // On the lock item only if it exists (an update would otherwise create an empty one).
      await conditional('dynamodb:UpdateItem', () =>
        doc.send(
          new UpdateCommand({
            TableName: tableName,
            Key: key(service),
            UpdateExpression: `REMOVE ${Object.keys(names).join(', ')}`,
            ConditionExpression: 'attribute_exists(#gen)',
            ExpressionAttributeNames: { ...names, '#gen': 'generation' },
          }),
        ),
      );
    },

    async updateLock(service, rolloutId, fields) {
      const { expression, names, values } = setExpression(fields);
      if (Object.keys(values).length === 0) return true;
      const written = await conditional('dynamodb:UpdateItem', () =>
        doc.send(
          new UpdateCommand({
            TableName: tableName,
            Key: key(service),
            UpdateExpression: expression,
            ConditionExpression: '#rid = :rid',
            ExpressionAttributeNames: { ...names, '#rid': 'rolloutId' },
            ExpressionAttributeValues: { ...values, ':rid': rolloutId },
          }),
        ),
      );
      return written !== undefined;
    },

    async recordTaskToken(service, rolloutId, taskToken, wait) {
      try {
        const out = await edge('dynamodb:UpdateItem', () =>
          doc.send(
            new UpdateCommand({
              TableName: tableName,
              Key: key(service),
              UpdateExpression: wait ? 'SET #token = :t, #wait = :w' : 'SET #token = :t',
              // Not if aborted meanwhile: the abort path already looked for a token and found none.
              // A hold only while the pause stands: a resume that came first must not be lost.
              ConditionExpression: `#rid = :id AND attribute_not_exists(#abort)${wait?.kind === 'hold' ? ' AND attribute_exists(#pause)' : ''}`,
              ExpressionAttributeNames: {
                '#token': 'taskToken',
                '#rid': 'rolloutId',
                '#abort': 'abort',
                ...(wait ? { '#wait': 'wait' } : {}),
                ...(wait?.kind === 'hold' ? { '#pause': 'pause' } : {}),
              },
              ExpressionAttributeValues: { ':t': taskToken, ':id': rolloutId, ...(wait ? { ':w': wait } : {}) },
              ReturnValues: 'ALL_NEW',
            }),
          ),
        );
        return { recorded: true, lock: toLock(out.Attributes) };
      } catch (error) {
        if (!conditionFailed(error)) throw error;
        return { recorded: false, lock: await this.getLock(service) };
      }
    },

    async clearWait(service, rolloutId) {
      await conditional('dynamodb:UpdateItem', () =>
        doc.send(
          new UpdateCommand({
            TableName: tableName,
            Key: key(service),
            UpdateExpression: 'REMOVE #token, #wait',
            ConditionExpression: '#rid = :id',
            ExpressionAttributeNames: { '#token': 'taskToken', '#wait': 'wait', '#rid': 'rolloutId' },
            ExpressionAttributeValues: { ':id': rolloutId },
          }),
        ),
      );
    },

    async setPause(service, rolloutId, pause) {
      const written = await conditional('dynamodb:UpdateItem', () =>
        doc.send(
          new UpdateCommand({
            TableName: tableName,
            Key: key(service),
            UpdateExpression: pause ? 'SET #pause = :p' : 'REMOVE #pause',
            ConditionExpression: '#rid = :id',
            ExpressionAttributeNames: { '#pause': 'pause', '#rid': 'rolloutId' },
            ExpressionAttributeValues: { ':id': rolloutId, ...(pause ? { ':p': pause } : {}) },
          }),
        ),
      );
      return written !== undefined;
    },

    async takeOverLock(stale, lock) {
      const { expression, names, values } = setExpression({ ...lock, alarms: [...lock.alarms], activeKey: 'active' });
      const given = lock as unknown as Record<string, unknown>;
      const dropped = HOLDER_FIELDS.filter((f) => f !== 'rolloutId' && f !== 'activeKey' && given[f] === undefined);
      const removeNames = Object.fromEntries(dropped.map((f, i) => [`#x${i}`, f]));
      const written = await conditional('dynamodb:UpdateItem', () =>
        doc.send(
          new UpdateCommand({
            TableName: tableName,
            Key: key(lock.service),
            // Whatever the dead holder left on the lock (abort, token, pause, target...) goes with it.
            UpdateExpression: `${expression}, #gen = #gen + :one${dropped.length ? ` REMOVE ${Object.keys(removeNames).join(', ')}` : ''}`,
            ConditionExpression: '#rolloutId = :stale AND #gen = :staleGen',
            ExpressionAttributeNames: { ...names, ...removeNames, '#gen': 'generation' },
            ExpressionAttributeValues: { ...values, ':stale': stale.rolloutId, ':staleGen': stale.generation, ':one': 1 },
            ReturnValues: 'ALL_NEW',
          }),
        ),
      );
      return written && toLock(written.out?.Attributes);
    },

    async enqueue(item) {
      await edge('dynamodb:PutItem', () => doc.send(new PutCommand({ TableName: tableName, Item: { pk: pkOf(item.service), sk: queueSk(item.pushedAt, item.rolloutId), ...item } })));
    },

    async queued(service) {
      return byPrefix<QueuedRollout>(service, 'queue#', { ConsistentRead: true });
    },

    async dequeue(service, rolloutId, pushedAt) {
      await edge('dynamodb:DeleteItem', () => doc.send(new DeleteCommand({ TableName: tableName, Key: { pk: pkOf(service), sk: queueSk(pushedAt, rolloutId) } })));
    },

    async putScanWait(wait) {
      await edge('dynamodb:PutItem', () => doc.send(new PutCommand({ TableName: tableName, Item: { pk: pkOf(wait.service), sk: scanSk(wait.digest), ...wait } })));
    },

    async scanWait(service, digest) {
      const out = await edge('dynamodb:GetItem', () => doc.send(new GetCommand({ TableName: tableName, Key: { pk: pkOf(service), sk: scanSk(digest) }, ConsistentRead: true })));
      if (!out.Item) return undefined;
      const { pk: _pk, sk: _sk, ...rest } = out.Item;
      return rest as unknown as ScanWait;
    },

    async deleteScanWait(service, digest) {
      await edge('dynamodb:DeleteItem', () => doc.send(new DeleteCommand({ TableName: tableName, Key: { pk: pkOf(service), sk: scanSk(digest) } })));
    },

    async getServiceState(service) {
      const out = await edge('dynamodb:GetItem', () => doc.send(new GetCommand({ TableName: tableName, Key: { pk: pkOf(service), sk: 'state' }, ConsistentRead: true })));
      if (!out.Item) return undefined;
      const { pk: _pk, sk: _sk, ...rest } = out.Item;
      return rest as unknown as ServiceState;
    },

    async putServiceState(state) {
      const w = state.written;
      // Refused (and dropped) when a later owner, or a later stage of the same owner, wrote it already.
      const order = w
        ? {
            ConditionExpression: 'attribute_not_exists(#w) OR #w.#g < :g OR (#w.#g = :g AND #w.#s <= :s)',
            ExpressionAttributeNames: { '#w': 'written', '#g': 'generation', '#s': 'stage' },
            ExpressionAttributeValues: { ':g': w.generation, ':s': w.stage },
          }
        : {};
      await conditional('dynamodb:PutItem', () => doc.send(new PutCommand({ TableName: tableName, Item: { pk: pkOf(state.service), sk: 'state', ...state }, ...order })));
    },

    async putStep(record) {
      await edge('dynamodb:PutItem', () =>
        // Keyed by the step (and its note): a retried shift rewrites its record instead of adding a second one.
        doc.send(new PutCommand({ TableName: tableName, Item: { pk: pkOf(record.service), sk: stepKey(record), ...record } })),
      );
    },

    async listSteps(service, rolloutId) {
      return byPrefix<StepRecord>(service, `step#${rolloutId}#`);
    },

    async recordCommand(record) {
      const { expression, names, values } = setExpression({ ...record });
      await edge('dynamodb:UpdateItem', () =>
        doc.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { pk: pkOf(record.service), sk: `command#${record.at}#${record.user}` },
            UpdateExpression: expression,
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
          }),
        ),
      );
    },

    async listCommands(service, limit) {
      return byPrefix<CommandRecord>(service, 'command#', { ScanIndexForward: false, Limit: limit });
    },

    async markAborted(service, rolloutId, abort, fence) {
      const names: Record<string, string> = { '#abort': 'abort', '#rid': 'rolloutId' };
      const values: Record<string, unknown> = { ':abort': abort, ':id': rolloutId };
      let update = 'SET #abort = if_not_exists(#abort, :abort)';
      let condition = '#rid = :id';
      if (fence) {
        // One write: the abort, a fence at the generation read, the writer's lease and the retained target.
        Object.assign(names, { '#gen': 'generation', '#lease': 'leaseUntil', '#writer': `${LEASE_PREFIX}${fence.writer}`, '#target': 'target' });
        Object.assign(values, {
          ':gen': fence.generation,
          ':lease': fence.leaseUntil,
          ':writer': { generation: fence.generation, until: fence.leaseUntil, ...(fence.holder ? { holder: fence.holder } : {}) },
          ':target': fence.target,
        });
        update += ', #lease = :lease, #writer = :writer, #target = :target';
        condition += ' AND #gen = :gen';
      }
      const written = await conditional('dynamodb:UpdateItem', () =>
        doc.send(
          new UpdateCommand({
            TableName: tableName,
            Key: key(service),
            UpdateExpression: update,
            ConditionExpression: condition,
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
            ReturnValues: 'ALL_NEW',
          }),
        ),
      );
      return written && toLock(written.out?.Attributes);
    },

    async abortWatching(service, alarm, abort, lease) {
      const names = {
        '#active': 'activeKey',
        '#alarms': 'alarms',
        '#role': 'role',
        '#fallback': 'fallback',
        '#abort': 'abort',
        '#gen': 'generation',
        '#lease': 'leaseUntil',
        '#writer': `${LEASE_PREFIX}${lease.writer}`,
        '#writerGen': `${LEASE_GENERATION_PREFIX}${lease.writer}`,
        '#target': 'target',
      };
      const values = { ':active': 'active', ':alarm': alarm, ':rollout': 'rollout', ':abort': abort, ':lease': lease.leaseUntil, ':writer': { until: lease.leaseUntil } };
      try {
        const out = await edge('dynamodb:UpdateItem', () =>
          doc.send(
            new UpdateCommand({
              TableName: tableName,
              Key: key(service),
              // The generation and the target are copied from the item itself: the write is its own read.
              UpdateExpression: 'SET #abort = if_not_exists(#abort, :abort), #lease = :lease, #writer = :writer, #writerGen = #gen, #target = #fallback.#target',
              ConditionExpression: '#active = :active AND contains(#alarms, :alarm) AND attribute_exists(#fallback) AND (attribute_not_exists(#role) OR #role = :rollout)',
              ExpressionAttributeNames: names,
              ExpressionAttributeValues: values,
              ReturnValues: 'ALL_NEW',
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            }),
          ),
        );
        return { written: true, lock: toLock(out.Attributes) };
      } catch (error) {
        if (!conditionFailed(error)) throw error;
        const item = (error as { Item?: Record<string, AttributeValue> }).Item;
        return { written: false, lock: item ? toLock(unmarshall(item)) : undefined };
      }
    },

    async activeLocksWatching(alarm) {
      return (await this.activeLocks()).filter((lock) => lock.alarms?.includes(alarm));
    },

    async activeLocks() {
      const locks: LockRecord[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const out = await edge('dynamodb:Query', () =>
          doc.send(
            new QueryCommand({
              TableName: tableName,
              IndexName: ACTIVE_INDEX,
              KeyConditionExpression: 'activeKey = :a',
              ExpressionAttributeValues: { ':a': 'active' },
              ExclusiveStartKey: start,
            }),
          ),
        );
        for (const item of out.Items ?? []) {
          const lock = toLock(item);
          if (lock) locks.push(lock);
        }
        start = out.LastEvaluatedKey;
      } while (start);
      return locks;
    },

    async putHistory(record) {
      const { service, rolloutId, startedAt, ...fields } = record;
      const { expression, names, values } = setExpression({ ...fields, service, rolloutId, startedAt });
      // Outcomes only move forward: a late write of an earlier stage (a dead attempt's RUNNING or SUCCEEDED
      // landing after the rollback wrote ROLLED_BACK) never overwrites what happened after it.
      const earlier = EARLIER_OUTCOMES[record.outcome ?? ''];
      const condition = earlier ? { ConditionExpression: `attribute_not_exists(#outcome) OR #outcome IN (${earlier.map((_, i) => `:was${i}`).join(', ')})` } : {};
      await conditional('dynamodb:UpdateItem', () =>
        doc.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { pk: pkOf(service), sk: historySk(startedAt, rolloutId) },
            UpdateExpression: expression,
            ...condition,
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: { ...values, ...Object.fromEntries((earlier ?? []).map((o, i) => [`:was${i}`, o])) },
          }),
        ),
      );
    },

    async listHistory(service, limit) {
      return byPrefix<HistoryRecord>(service, 'rollout#', { ScanIndexForward: false, Limit: limit });
    },
  };
}
