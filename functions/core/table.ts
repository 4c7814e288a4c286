/**
 * Names in the store's DynamoDB table that both the AWS adapters (functions/aws) and the construct
 * (infra/cutover.ts) use. Kept free of SDK imports: the construct reads them at synth time, and loading an
 * SDK client there would slow every synth and make the library need the SDK at run time.
 */

/** The sparse global secondary index on `activeKey`: only the locks of rollouts in flight. */
export const ACTIVE_INDEX = 'active';

/** The table's TTL attribute (Unix seconds): request-ledger items expire by it. */
export const EXPIRES_AT_ATTRIBUTE = 'expiresAt';

/** The holder's fields: removed on release, while the generation and the last lease stay. */
export const HOLDER_FIELDS = [
  'rolloutId',
  'activeKey',
  'executionArn',
  'startedAt',
  'alarms',
  'abort',
  'taskToken',
  'wait',
  'pause',
  'stepIndex',
  'weights',
  'newSlot',
  'idleService',
  'target',
  'push',
  'image',
  'thread',
  'role',
  'recovers',
  'fallback',
] as const;

/** A step record's sort key: the step's own record, or a note beside it (`StepRecord.note`). */
export const stepKey = (record: { readonly rolloutId: string; readonly index: number; readonly note?: string }) =>
  `step#${record.rolloutId}#${String(record.index).padStart(3, '0')}${record.note ? `#${record.note}` : ''}`;
