/**
 * What the handler tests share: the real AWS adapters of `functions/aws/` over SDK clients whose `send`
 * is mocked with aws-sdk-client-mock, a fixed clock, a capturing log, readers that turn the commands
 * sent into the end state they write (lock fields, fences, releases, history records, weights, the order of
 * the writes), and a lock table that keeps checkout's lock item across a test as DynamoDB would (its
 * conditions, its generation), so a test can assert the lock as the run left it.
 */
import 'aws-sdk-client-mock-vitest/extend';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeregisterTaskDefinitionCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  ListTaskDefinitionsCommand,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
  type Service,
  type TaskDefinition,
} from '@aws-sdk/client-ecs';
import {
  DescribeListenersCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  ModifyListenerCommand,
  ModifyRuleCommand,
  type Action,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { DescribeExecutionCommand, SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { awsAlarms } from '../../functions/aws/alarms';
import { awsEcs } from '../../functions/aws/ecs';
import { awsRegistry } from '../../functions/aws/registry';
import { awsRequestLedger } from '../../functions/aws/request-ledger';
import { DescribeImagesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { awsExecutions } from '../../functions/aws/executions';
import { awsStore } from '../../functions/aws/store';
import { awsTraffic } from '../../functions/aws/traffic';
import { DEFAULT_LEASE_MS } from '../../functions/core/ownership';
import type { Alarms, Clock, Ecs, Executions, Log, LockRecord, Registry, RequestLedger, RolloutStore, Traffic } from '../../functions/core/ports';
import { describedTaskDefinition, ecsService } from '../fixtures/ecs';
import { ALARMS, BLUE_TG, DIGEST, GREEN_TG, LISTENER_ARN, PUSHED_AT, RETAINED_TD, ROLLOUT_ID } from '../fixtures/state';

export const TABLE = 'cutover-rollouts';
export const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:cutover-rollout';
export const NOW = '2026-11-24T10:20:00.000Z';
/** The lease a fence sets at {@link NOW}: the writer's run time (DEFAULT_LEASE_MS) from now. */
export const LEASE_UNTIL = new Date(Date.parse(NOW) + DEFAULT_LEASE_MS).toISOString();
/** How Lambda calls a handler; the handlers read nothing from the context. */
/** The Lambda context of every invocation: its request id names the invocation's lease. */
export const LAMBDA_CONTEXT = { awsRequestId: 'request-1' } as Context;

const region = 'us-east-1';

/** One mock per SDK client class; every instance of the class sends through it. */
export const aws = {
  ecs: mockClient(ECSClient),
  elb: mockClient(ElasticLoadBalancingV2Client),
  cloudwatch: mockClient(CloudWatchClient),
  dynamo: mockClient(DynamoDBDocumentClient),
  /** The plain client under the document client: nothing should reach it. */
  dynamoRaw: mockClient(DynamoDBClient),
  sfn: mockClient(SFNClient),
  ecr: mockClient(ECRClient),
};

export function resetAws(): void {
  for (const mock of Object.values(aws)) mock.reset();
  // Unless a test says otherwise: the pushed image is in ECR, Cutover has not recorded the service's state
  // yet (no drift reference), no rollout waits in the queue, a lock's execution is still running, and every
  // revision is registered (ACTIVE).
  aws.ecr.on(DescribeImagesCommand).resolves({ imageDetails: [{ imageDigest: DIGEST, imagePushedAt: new Date(PUSHED_AT) }] });
  aws.dynamo.on(GetCommand, { TableName: TABLE, Key: { pk: 'service#checkout', sk: 'state' } }).resolves({});
  aws.dynamo.on(GetCommand, { TableName: TABLE, Key: { pk: 'service#checkout', sk: 'lock' } }).resolves({});
  aws.ecs.on(ListTaskDefinitionsCommand).resolves({ taskDefinitionArns: [] });
  aws.ecs.on(DescribeServicesCommand).resolves({ services: [] });
  aws.dynamo.on(QueryCommand).resolves({ Items: [] });
  aws.sfn.on(DescribeExecutionCommand).resolves({ status: 'RUNNING' } as never);
  givenRevisions();
  // Every target group has as many healthy targets as a fixture service wants (ecsService: 3).
  givenTargetHealth(['healthy', 'healthy', 'healthy']);
}

/** DescribeTargetHealth answers one target per state given (`unhealthy:Target.FailedHealthChecks` adds a reason). */
export function givenTargetHealth(states: readonly string[], targetGroupArn?: string): void {
  const answer = {
    TargetHealthDescriptions: states.map((s, i) => {
      const [State, Reason] = s.split(':');
      return { Target: { Id: `10.0.0.${i + 1}`, Port: 8080 }, TargetHealth: { State: State as never, ...(Reason ? { Reason: Reason as never } : {}) } };
    }),
  };
  if (targetGroupArn) aws.elb.on(DescribeTargetHealthCommand, { TargetGroupArn: targetGroupArn }).resolves(answer);
  else aws.elb.on(DescribeTargetHealthCommand).resolves(answer);
}

/** Calls sent to any AWS client. */
export const totalAwsCalls = (): number => Object.values(aws).reduce((n, mock) => n + mock.calls().length, 0);

export interface LogLine {
  readonly level: 'info' | 'warn' | 'error';
  readonly message: string;
  readonly fields?: Record<string, unknown>;
}

/** A log that keeps its lines for the test to read. */
export function capturingLog(): Log & { readonly lines: LogLine[] } {
  const lines: LogLine[] = [];
  return {
    lines,
    info: (message, fields) => lines.push({ level: 'info', message, fields }),
    warn: (message, fields) => lines.push({ level: 'warn', message, fields }),
    error: (message, fields) => lines.push({ level: 'error', message, fields }),
  };
}

export const fixedClock: Clock = { now: () => new Date(NOW) };

export interface Deps {
  readonly ecs: Ecs;
  readonly traffic: Traffic;
  readonly alarms: Alarms;
  readonly store: RolloutStore;
  readonly executions: Executions;
  readonly registry: Registry;
  readonly requestLedger: RequestLedger;
  readonly clock: Clock;
  readonly log: Log & { readonly lines: LogLine[] };
}

/** Every port, built from the real adapters as the handlers build them in Lambda. */
export function realDeps(): Deps {
  return {
    ecs: awsEcs(new ECSClient({ region })),
    traffic: awsTraffic(new ElasticLoadBalancingV2Client({ region })),
    alarms: awsAlarms(new CloudWatchClient({ region })),
    store: awsStore(TABLE, new DynamoDBClient({ region })),
    executions: awsExecutions(STATE_MACHINE_ARN, new SFNClient({ region })),
    registry: awsRegistry(new ECRClient({ region })),
    requestLedger: awsRequestLedger(TABLE, new DynamoDBClient({ region })),
    clock: fixedClock,
    log: capturingLog(),
  };
}

/** An SDK exception of the given class, as the SDK raises it. */
export function sdkError<T extends Error>(Exception: new (opts: { message: string; $metadata: { httpStatusCode?: number } }) => T, message: string, httpStatusCode = 400): T {
  return new Exception({ message, $metadata: { httpStatusCode } });
}

/** A failure with a name only, as the SDK raises exceptions it has no class for (ThrottlingException). */
export function namedError(name: string, httpStatusCode: number, message = name): Error {
  return Object.assign(new Error(message), { name, $fault: httpStatusCode >= 500 ? 'server' : 'client', $metadata: { httpStatusCode } });
}

export const conditionFailed = () => sdkError(ConditionalCheckFailedException, 'The conditional request failed');

// ---------------------------------------------------------------------------------------------------
// DynamoDB: items and what the store wrote.

/** The key of checkout's lock item. */
export const LOCK_KEY = { pk: 'service#checkout', sk: 'lock' } as const;

/** The lock item as GetItem returns it: held by the sample rollout at generation 1. */
export function lockItem(overrides: Partial<LockRecord> = {}): Record<string, unknown> {
  return {
    ...LOCK_KEY,
    activeKey: 'active',
    service: 'checkout',
    rolloutId: ROLLOUT_ID,
    generation: 1,
    startedAt: '2026-11-24T10:15:03.000Z',
    alarms: [...ALARMS],
    newSlot: 'green',
    weights: { blue: 100, green: 0 },
    ...overrides,
  };
}

/**
 * The fields a release removes: every field of the holder. The item itself stays, with its `service`,
 * its `generation` (it only grows) and the last `leaseUntil` (a successor waits for it).
 */
export const HOLDER_FIELDS = [
  'abort',
  'activeKey',
  'alarms',
  'executionArn',
  'fallback',
  'idleService',
  'image',
  'newSlot',
  'pause',
  'push',
  'recovers',
  'role',
  'rolloutId',
  'startedAt',
  'stepIndex',
  'target',
  'taskToken',
  'thread',
  'wait',
  'weights',
] as const;

/** `item` as the lock is after its holder released it: the holder's fields gone, the rest kept. */
export function released(item: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(item).filter(([k]) => !(HOLDER_FIELDS as readonly string[]).includes(k)));
}

// The expressions the store sends, read the way DynamoDB reads them. Only the forms functions/aws/store.ts
// uses are understood; anything else throws, so a new form cannot pass unnoticed.

interface SetAction {
  readonly name: string;
  /** `#a = :v`, or `#a = if_not_exists(#b, :v)` (`ifMissing`), or `#a = #b + :v` / `... + :v` (`plus`). */
  readonly value?: unknown;
  readonly ifMissing?: string;
  readonly from?: string;
  readonly plus?: number;
}

/** Splits `a, f(b, c), d` at the commas outside parentheses. */
function splitTop(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')') depth--;
    else if (text[i] === ',' && depth === 0) {
      parts.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(text.slice(start).trim());
  return parts.filter((p) => p.length > 0);
}

function parseUpdate(input: UpdateCommandInput): { set: SetAction[]; remove: string[] } {
  const names = input.ExpressionAttributeNames ?? {};
  const values = input.ExpressionAttributeValues ?? {};
  const nameOf = (ref: string) => {
    const name = names[ref];
    if (name === undefined) throw new Error(`no attribute name for ${ref} in ${input.UpdateExpression}`);
    return name;
  };
  const valueAt = (ref: string) => {
    if (!(ref in values)) throw new Error(`no attribute value for ${ref} in ${input.UpdateExpression}`);
    return values[ref];
  };
  const clauses = /^(?:SET (.+?))?\s*(?:REMOVE (.+))?$/.exec(input.UpdateExpression ?? '');
  if (!clauses || (!clauses[1] && !clauses[2])) throw new Error(`cannot read update expression: ${input.UpdateExpression}`);
  const set = splitTop(clauses[1] ?? '').map((part): SetAction => {
    const m = /^(#\w+) = (?:(:\w+)|if_not_exists\((#\w+), (:\w+)\)|(#\w+))(?: \+ (:\w+))?$/.exec(part);
    if (!m) throw new Error(`cannot read update expression: ${input.UpdateExpression}`);
    const [, target, plain, missingOf, missingValue, from, plus] = m;
    return {
      name: nameOf(target!),
      ...(plain ? { value: valueAt(plain) } : {}),
      ...(missingOf ? { ifMissing: nameOf(missingOf), value: valueAt(missingValue!) } : {}),
      ...(from ? { from: nameOf(from) } : {}),
      ...(plus ? { plus: Number(valueAt(plus)) } : {}),
    };
  });
  const remove = splitTop(clauses[2] ?? '').map((ref) => nameOf(ref));
  return { set, remove };
}

/** The terms of a condition (`a AND b AND c`), each as `[kind, attribute, value]`. */
function parseCondition(input: { ConditionExpression?: string; ExpressionAttributeNames?: Record<string, string>; ExpressionAttributeValues?: Record<string, unknown> }) {
  const names = input.ExpressionAttributeNames ?? {};
  const values = input.ExpressionAttributeValues ?? {};
  if (!input.ConditionExpression) return [];
  return input.ConditionExpression.split(' AND ').map((term) => {
    const m = /^(?:(attribute_not_exists|attribute_exists)\((#\w+)\)|(#\w+) = (:\w+))$/.exec(term.trim());
    if (!m || names[m[2] ?? m[3]!] === undefined) throw new Error(`cannot read condition: ${input.ConditionExpression}`);
    if (m[1]) return { kind: m[1] as 'attribute_exists' | 'attribute_not_exists', name: names[m[2]!]! };
    return { kind: 'equals' as const, name: names[m[3]!]!, value: values[m[4]!] };
  });
}

/**
 * A condition with its names and values filled in, as a person reads it:
 * `rolloutId = "checkout-1a73…" AND generation = 1 AND attribute_not_exists(abort)`.
 */
export function conditionText(input: { ConditionExpression?: string; ExpressionAttributeNames?: Record<string, string>; ExpressionAttributeValues?: Record<string, unknown> }): string {
  return parseCondition(input)
    .map((t) => (t.kind === 'equals' ? `${t.name} = ${JSON.stringify(t.value)}` : `${t.kind}(${t.name})`))
    .join(' AND ');
}

/**
 * The attributes an UpdateItem's SET clause writes, by name: `#a = :a` as its value, `if_not_exists(#b, :b)`
 * as the value it writes when the attribute is missing, and arithmetic as text (`generation + 1`,
 * `if_not_exists(generation, 0) + 1`).
 */
export function fieldsSet(input: UpdateCommandInput): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const action of parseUpdate(input).set) {
    if (action.plus === undefined) fields[action.name] = action.value;
    else fields[action.name] = `${action.from ?? `if_not_exists(${action.ifMissing}, ${JSON.stringify(action.value)})`} + ${action.plus}`;
  }
  return fields;
}

/** The attributes an UpdateItem's REMOVE clause removes, sorted. */
export const fieldsRemoved = (input: UpdateCommandInput): string[] => [...parseUpdate(input).remove].sort();

const updates = () => aws.dynamo.commandCalls(UpdateCommand).map((c) => c.args[0].input);

/** History records written (UpdateItem on `rollout#...` keys), as their key and fields. */
export function historyWrites(): Array<{ sk: string; fields: Record<string, unknown> }> {
  return updates()
    .filter((u) => String(u.Key?.sk).startsWith('rollout#'))
    .map((u) => ({ sk: String(u.Key?.sk), fields: fieldsSet(u) }));
}

/** What the service was left as (PutItem of `state`), without its key. */
export const serviceStateWrites = (): Array<Record<string, unknown>> =>
  aws.dynamo
    .commandCalls(PutCommand)
    .map((c) => c.args[0].input.Item ?? {})
    .filter((item) => item.sk === 'state')
    .map(({ pk: _pk, sk: _sk, ...rest }) => rest);

const isRelease = (u: UpdateCommandInput) => /^REMOVE /.test(u.UpdateExpression ?? '') && parseUpdate(u).remove.includes('rolloutId');
const isFence = (u: UpdateCommandInput) => /^SET #lease = :lease, #writer = :writer(, #target = :target)?(, #fallback = :fallback)?$/.test(u.UpdateExpression ?? '');
// A lease is `lease#<writer>`, with `leasegen#<writer>` beside it when its write copied the generation.
const isLeaseClose = (u: UpdateCommandInput) => /^REMOVE /.test(u.UpdateExpression ?? '') && parseUpdate(u).remove.every((name) => /^lease(gen)?#/.test(name));
const isAcquire = (u: UpdateCommandInput) => u.ConditionExpression === 'attribute_not_exists(#rolloutId)';
const isTakeOver = (u: UpdateCommandInput) => (u.ConditionExpression ?? '').includes(':stale');
const isAbort = (u: UpdateCommandInput) => (u.UpdateExpression ?? '').startsWith('SET #abort = if_not_exists(#abort, :abort)');
const onLock = (u: UpdateCommandInput) => u.Key?.sk === 'lock';

/** Writes to the lock item other than releases (acquires, fences, field updates, aborts), as sent. */
export const lockUpdates = (): UpdateCommandInput[] => updates().filter((u) => onLock(u) && !isRelease(u));

/** The lock acquires sent (UpdateItem conditional on a free lock, the generation grown by one). */
export const lockAcquires = (): UpdateCommandInput[] => updates().filter((u) => onLock(u) && isAcquire(u));

/** Lock releases sent (UpdateItem REMOVE of the holder's fields), as their condition and what they remove. */
export const lockReleases = (): Array<{ condition: string; removes: string[] }> =>
  updates()
    .filter((u) => onLock(u) && isRelease(u))
    .map((u) => ({ condition: conditionText(u), removes: fieldsRemoved(u) }));

/** The release of `rolloutId`'s lock of checkout, conditional on its holder (and, if asked, on no abort). */
export const releaseOf = (rolloutId: string, options: { unlessAborted?: boolean } = {}) => ({
  condition: `rolloutId = ${JSON.stringify(rolloutId)}${options.unlessAborted ? ' AND attribute_not_exists(abort)' : ''}`,
  removes: [...HOLDER_FIELDS],
});

/**
 * Fences sent (UpdateItem conditional on holder and generation that sets the lease), as condition, fields
 * and the writer whose lease it opens (`lease#<writer>`, the invocation's request id).
 */
export const lockFences = (): Array<{ condition: string; fields: Record<string, unknown>; writer: string }> =>
  updates()
    .filter((u) => onLock(u) && isFence(u))
    .map((u) => {
      const { [`lease#${fenceWriter(u)}`]: lease, ...fields } = fieldsSet(u);
      return { condition: conditionText(u), fields: { ...fields, ...(lease ? { writerLease: lease } : {}) }, writer: fenceWriter(u) };
    });

const fenceWriter = (u: UpdateCommandInput) => String(u.ExpressionAttributeNames?.['#writer']).replace(/^lease#/, '');

/** The writers whose leases were closed (UpdateItem REMOVE of `lease#<writer>` attributes), in order. */
export const leasesClosed = (): string[][] =>
  updates()
    .filter((u) => onLock(u) && isLeaseClose(u))
    .map((u) => parseUpdate(u).remove.flatMap((name) => (name.startsWith('lease#') ? [name.replace(/^lease#/, '')] : [])));

/**
 * The fence of `rolloutId` at `generation` (as `role`, default a rollout): the lease until {@link LEASE_UNTIL},
 * the target when given, and no abort when `unlessAborted`.
 */
export const fenceOf = (
  rolloutId: string,
  generation: number,
  options: { unlessAborted?: boolean; target?: LockRecord['target']; fallback?: LockRecord['fallback']; role?: LockRecord['role'] } = {},
) => ({
  condition: `rolloutId = ${JSON.stringify(rolloutId)} AND generation = ${generation}${options.unlessAborted ? ' AND attribute_not_exists(abort)' : ''}`,
  fields: {
    leaseUntil: LEASE_UNTIL,
    writerLease: { generation, until: LEASE_UNTIL, holder: `${options.role ?? 'rollout'}:${rolloutId}` },
    ...(options.target ? { target: options.target } : {}),
    ...(options.fallback ? { fallback: options.fallback } : {}),
  },
  writer: LAMBDA_CONTEXT.awsRequestId,
});

/** GetItem of checkout's lock answers `item` (undefined: no lock). */
export function givenLock(item: Record<string, unknown> | undefined): void {
  aws.dynamo.on(GetCommand, { TableName: TABLE, Key: LOCK_KEY }).resolves({ Item: item });
}

/** Checkout's lock item as DynamoDB keeps it across the calls of a test. */
export interface LockTable {
  /** The item now (undefined: never written). A test may replace it, as another writer would. */
  item: Record<string, unknown> | undefined;
  /** Runs `change` right before the next GetItem of the lock is answered (another writer, between two reads). */
  beforeNextRead(change: () => void): void;
}

/**
 * Checkout's lock item kept by the test as DynamoDB keeps it: GetItem reads it, and every UpdateItem on it
 * evaluates its condition (failing with ConditionalCheckFailed as DynamoDB does) and applies its SET and
 * REMOVE clauses. Start from `initial` (undefined: the item was never written).
 */
export function givenLockTable(initial?: Record<string, unknown>): LockTable {
  let pending: (() => void) | undefined;
  const table: LockTable = {
    item: initial === undefined ? undefined : structuredClone(initial),
    beforeNextRead(change) {
      pending = change;
    },
  };
  aws.dynamo.on(GetCommand, { Key: LOCK_KEY }).callsFake(() => {
    const change = pending;
    pending = undefined;
    change?.();
    return { Item: table.item === undefined ? undefined : structuredClone(table.item) };
  });
  aws.dynamo.on(UpdateCommand, { Key: LOCK_KEY }).callsFake((input: UpdateCommandInput) => {
    const before = table.item ?? {};
    for (const term of parseCondition(input)) {
      const actual = before[term.name];
      const holds = term.kind === 'attribute_exists' ? actual !== undefined : term.kind === 'attribute_not_exists' ? actual === undefined : JSON.stringify(actual) === JSON.stringify(term.value);
      if (!holds) throw conditionFailed();
    }
    const { set, remove } = parseUpdate(input);
    const after: Record<string, unknown> = { ...LOCK_KEY, ...structuredClone(before) };
    for (const action of set) {
      let value = action.ifMissing !== undefined ? (before[action.ifMissing] ?? action.value) : action.from !== undefined ? before[action.from] : action.value;
      if (action.plus !== undefined) {
        if (typeof value !== 'number') throw new Error(`ValidationException: ${action.name}: an operand in the update expression has an incorrect data type`);
        value = value + action.plus;
      }
      after[action.name] = structuredClone(value);
    }
    for (const name of remove) delete after[name];
    table.item = after;
    return input.ReturnValues === 'ALL_NEW' ? { Attributes: structuredClone(after) } : {};
  });
  return table;
}

/**
 * What was changed, in the order it was sent, as one label per write: `acquire`, `take over`, `fence`,
 * `abort`, `lock update`, `release`, `close lease` (lock item), `history`, `service state`, `step`, `dequeue`, `weights`
 * (ModifyListener / ModifyRule), `UpdateService <service>`, `RegisterTaskDefinition`,
 * `DeregisterTaskDefinition <arn>`, `SendTaskSuccess`, `SendTaskFailure`.
 */
export function writes(): string[] {
  type Call = { args: [{ constructor: { name: string }; input: Record<string, unknown> }]; calledBefore(other: unknown): boolean };
  const calls = Object.values(aws).flatMap((mock) => mock.calls() as unknown as Call[]);
  calls.sort((a, b) => (a.calledBefore(b) ? -1 : 1));
  return calls.flatMap((call): string[] => {
    const command = call.args[0];
    const input = command.input;
    const sk = String((input.Key as { sk?: unknown } | undefined)?.sk ?? (input.Item as { sk?: unknown } | undefined)?.sk ?? '');
    if (command instanceof UpdateCommand) {
      const u = input as UpdateCommandInput;
      if (!onLock(u)) return [sk.startsWith('rollout#') ? 'history' : `update ${sk.split('#')[0]}`];
      if (isAcquire(u)) return ['acquire'];
      if (isTakeOver(u)) return ['take over'];
      if (isFence(u)) return ['fence'];
      if (isRelease(u)) return ['release'];
      if (isLeaseClose(u)) return ['close lease'];
      if (isAbort(u)) return ['abort'];
      return ['lock update'];
    }
    if (command instanceof PutCommand) return [sk === 'state' ? 'service state' : sk.startsWith('step#') ? 'step' : `put ${sk.split('#')[0]}`];
    if (command instanceof DeleteCommand) return [sk.startsWith('queue#') ? 'dequeue' : `delete ${sk.split('#')[0]}`];
    if (command instanceof ModifyListenerCommand || command instanceof ModifyRuleCommand) return ['weights'];
    if (command instanceof UpdateServiceCommand) return [`UpdateService ${String(input.service)}`];
    if (command instanceof RegisterTaskDefinitionCommand) return ['RegisterTaskDefinition'];
    if (command instanceof DeregisterTaskDefinitionCommand) return [`DeregisterTaskDefinition ${String(input.taskDefinition)}`];
    if (command instanceof SendTaskSuccessCommand) return ['SendTaskSuccess'];
    if (command instanceof SendTaskFailureCommand) return ['SendTaskFailure'];
    return [];
  });
}

// ---------------------------------------------------------------------------------------------------
// ELBv2: listener shapes and the weights a ModifyListener / ModifyRule sets.

/** A weighted forward action, as DescribeListeners returns it. */
export function weightedForward(blue: number, green: number): Action {
  return {
    Type: 'forward',
    Order: 1,
    ForwardConfig: {
      TargetGroups: [
        { TargetGroupArn: BLUE_TG, Weight: blue },
        { TargetGroupArn: GREEN_TG, Weight: green },
      ],
      TargetGroupStickinessConfig: { Enabled: false },
    },
  };
}

export function givenListener(actions: Action[]): void {
  aws.elb.on(DescribeListenersCommand).resolves({ Listeners: [{ ListenerArn: LISTENER_ARN, Port: 443, Protocol: 'HTTPS', DefaultActions: actions }] });
}

/** The forward action's weights by slot in an action list that was sent. */
export function slotWeights(actions: readonly Action[] | undefined): { blue?: number; green?: number } {
  const forward = (actions ?? []).filter((a) => a.Type === 'forward');
  if (forward.length !== 1) throw new Error(`expected one forward action, got ${forward.length}`);
  const groups = forward[0]!.ForwardConfig?.TargetGroups ?? [];
  const weightOf = (arn: string) => groups.find((g) => g.TargetGroupArn === arn)?.Weight;
  return { blue: weightOf(BLUE_TG), green: weightOf(GREEN_TG) };
}

// ---------------------------------------------------------------------------------------------------
// A healthy environment for prepare: blue live at 100% on checkout:7, green idle on checkout:6, both
// target groups and both alarms present and OK.

export interface Environment {
  readonly blue?: Service;
  readonly green?: Service;
  readonly liveTaskDefinition?: TaskDefinition;
}

export function givenHealthyEnvironment(env: Environment = {}): void {
  givenListener([weightedForward(100, 0)]);
  aws.elb.on(DescribeTargetGroupsCommand).callsFake((input: { TargetGroupArns?: string[] }) => ({
    TargetGroups: (input.TargetGroupArns ?? []).map((arn) => ({ TargetGroupArn: arn, Protocol: 'HTTP', Port: 8080 })),
  }));
  givenAlarmStates({ 'checkout-5xx': 'OK', 'checkout-p99-latency': 'OK' });
  givenEcsService(env.blue ?? ecsService('checkout-blue', 7));
  givenEcsService(env.green ?? ecsService('checkout-green', 6, { desiredCount: 0, runningCount: 0 }));
  aws.ecs.on(DescribeTaskDefinitionCommand, { taskDefinition: RETAINED_TD }).resolves({
    taskDefinition: env.liveTaskDefinition ?? describedTaskDefinition(7),
    tags: [{ key: 'team', value: 'payments' }],
  });
}

export function givenEcsService(service: Service): void {
  aws.ecs.on(DescribeServicesCommand, { services: [service.serviceName!] }).resolves({ services: [service], failures: [] });
}

/** DescribeTaskDefinition answers every revision as registered (ACTIVE), except the ones named INACTIVE. */
export function givenRevisions(inactive: readonly string[] = []): void {
  aws.ecs.on(DescribeTaskDefinitionCommand).callsFake((input: { taskDefinition: string }) => ({
    taskDefinition: { taskDefinitionArn: input.taskDefinition, family: 'checkout', containerDefinitions: [], status: inactive.includes(input.taskDefinition) ? 'INACTIVE' : 'ACTIVE' },
    tags: [],
  }));
}

/** DescribeAlarms answers these alarms in these states, whatever filter it is given (as moto does). */
export function givenAlarmStates(states: Record<string, string>, reasons: Record<string, string> = {}): void {
  aws.cloudwatch.onAnyCommand().resolves({
    MetricAlarms: Object.entries(states).map(([AlarmName, StateValue]) => ({ AlarmName, StateValue: StateValue as 'OK', StateReason: reasons[AlarmName] ?? `${StateValue} reason` })),
    CompositeAlarms: [],
  });
}
