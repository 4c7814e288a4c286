/**
 * What the handler tests share: the real AWS adapters of `functions/aws/` over SDK clients whose `send`
 * is mocked with aws-sdk-client-mock, a fixed clock, a capturing log, and readers that turn the commands
 * sent into the end state they write (lock fields, history records, weights).
 */
import 'aws-sdk-client-mock-vitest/extend';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeServicesCommand, DescribeTaskDefinitionCommand, ECSClient, ListTaskDefinitionsCommand, type Service, type TaskDefinition } from '@aws-sdk/client-ecs';
import {
  DescribeListenersCommand,
  DescribeTargetGroupsCommand,
  ElasticLoadBalancingV2Client,
  type Action,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { awsAlarms } from '../../functions/aws/alarms';
import { awsEcs } from '../../functions/aws/ecs';
import { awsRegistry } from '../../functions/aws/registry';
import { DescribeImagesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { awsExecutions } from '../../functions/aws/executions';
import { awsStore } from '../../functions/aws/store';
import { awsTraffic } from '../../functions/aws/traffic';
import type { Alarms, Clock, Ecs, Executions, Log, LockRecord, Registry, RolloutStore, Traffic } from '../../functions/core/ports';
import { describedTaskDefinition, ecsService } from '../fixtures/ecs';
import { ALARMS, BLUE_TG, DIGEST, GREEN_TG, LISTENER_ARN, RETAINED_TD, ROLLOUT_ID } from '../fixtures/state';

export const TABLE = 'cutover-rollouts';
export const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:cutover-rollout';
export const NOW = '2026-11-24T10:20:00.000Z';
/** How Lambda calls a handler; the handlers read nothing from the context. */
export const LAMBDA_CONTEXT = {} as Context;

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
  // yet (no drift reference), no rollout waits in the queue, and a lock's execution is still running.
  aws.ecr.on(DescribeImagesCommand).resolves({ imageDetails: [{ imageDigest: DIGEST }] });
  aws.dynamo.on(GetCommand, { TableName: TABLE, Key: { pk: 'service#checkout', sk: 'state' } }).resolves({});
  aws.dynamo.on(GetCommand, { TableName: TABLE, Key: { pk: 'service#checkout', sk: 'lock' } }).resolves({});
  aws.ecs.on(ListTaskDefinitionsCommand).resolves({ taskDefinitionArns: [] });
  aws.ecs.on(DescribeServicesCommand).resolves({ services: [] });
  aws.dynamo.on(QueryCommand).resolves({ Items: [] });
  aws.sfn.on(DescribeExecutionCommand).resolves({ status: 'RUNNING' } as never);
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
    clock: fixedClock,
    log: capturingLog(),
  };
}

/** An SDK exception of the given class, as the SDK raises it. */
export function sdkError<T extends Error>(
  Exception: new (opts: { message: string; $metadata: { httpStatusCode?: number } }) => T,
  message: string,
  httpStatusCode = 400,
): T {
  return new Exception({ message, $metadata: { httpStatusCode } });
}

/** A failure with a name only, as the SDK raises exceptions it has no class for (ThrottlingException). */
export function namedError(name: string, httpStatusCode: number, message = name): Error {
  return Object.assign(new Error(message), { name, $fault: httpStatusCode >= 500 ? 'server' : 'client', $metadata: { httpStatusCode } });
}

export const conditionFailed = () => sdkError(ConditionalCheckFailedException, 'The conditional request failed');

// ---------------------------------------------------------------------------------------------------
// DynamoDB: items and what the store wrote.

/** The lock item as GetItem returns it. */
export function lockItem(overrides: Partial<LockRecord> = {}): Record<string, unknown> {
  return {
    pk: 'service#checkout',
    sk: 'lock',
    activeKey: 'active',
    service: 'checkout',
    rolloutId: ROLLOUT_ID,
    startedAt: '2026-11-24T10:15:03.000Z',
    alarms: [...ALARMS],
    newSlot: 'green',
    weights: { blue: 100, green: 0 },
    ...overrides,
  };
}

/** The attributes an UpdateItem's `SET #a = :a, #b = if_not_exists(#b, :b)` writes, by name. */
export function fieldsSet(input: UpdateCommandInput): Record<string, unknown> {
  const names = input.ExpressionAttributeNames ?? {};
  const values = input.ExpressionAttributeValues ?? {};
  const set = (input.UpdateExpression ?? '').replace(/^SET /, '');
  const fields: Record<string, unknown> = {};
  const part = /(#\w+) = (?:if_not_exists\(#\w+, (:\w+)\)|(:\w+))(?:, |$)/gy;
  let read = 0;
  for (const match of set.matchAll(part)) {
    const name = names[match[1]!];
    if (name === undefined) throw new Error(`no attribute name for ${match[1]}`);
    fields[name] = values[(match[2] ?? match[3])!];
    read = (match.index ?? 0) + match[0].length;
  }
  if (read !== set.length) throw new Error(`cannot read update expression: ${input.UpdateExpression}`);
  return fields;
}

const updates = () => aws.dynamo.commandCalls(UpdateCommand).map((c) => c.args[0].input);

/** History records written (UpdateItem on `rollout#...` keys), as their key and fields. */
export function historyWrites(): Array<{ sk: string; fields: Record<string, unknown> }> {
  return updates()
    .filter((u) => String(u.Key?.sk).startsWith('rollout#'))
    .map((u) => ({ sk: String(u.Key?.sk), fields: fieldsSet(u) }));
}

/** Updates of the lock item, as sent. */
export const lockUpdates = (): UpdateCommandInput[] => updates().filter((u) => u.Key?.sk === 'lock');

/** Lock releases sent (conditional DeleteItem of the lock). */
export const lockReleases = () => aws.dynamo.commandCalls(DeleteCommand).map((c) => c.args[0].input).filter((input) => input.Key?.sk === 'lock');

/** The conditional DeleteItem that releases `rolloutId`'s lock of checkout. */
export const releaseOf = (rolloutId: string) => ({
  TableName: TABLE,
  Key: { pk: 'service#checkout', sk: 'lock' },
  ConditionExpression: '#rid = :id',
  ExpressionAttributeNames: { '#rid': 'rolloutId' },
  ExpressionAttributeValues: { ':id': rolloutId },
});

/** GetItem of checkout's lock answers `item` (undefined: no lock). */
export function givenLock(item: Record<string, unknown> | undefined): void {
  aws.dynamo.on(GetCommand, { TableName: TABLE, Key: { pk: 'service#checkout', sk: 'lock' } }).resolves({ Item: item });
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

/** DescribeAlarms answers these alarms in these states, whatever filter it is given (as moto does). */
export function givenAlarmStates(states: Record<string, string>, reasons: Record<string, string> = {}): void {
  aws.cloudwatch.onAnyCommand().resolves({
    MetricAlarms: Object.entries(states).map(([AlarmName, StateValue]) => ({ AlarmName, StateValue: StateValue as 'OK', StateReason: reasons[AlarmName] ?? `${StateValue} reason` })),
    CompositeAlarms: [],
  });
}
