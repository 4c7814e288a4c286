import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeServicesCommand, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { DescribeListenersCommand, ModifyListenerCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DescribeExecutionCommand, SendTaskFailureCommand, SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, type PutCommandInput } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { executionArnOf } from '../../functions/aws/executions';
import { awsRequestLedger } from '../../functions/aws/request-ledger';
import { SECRET_TTL_MS, cachedSecret } from '../../functions/aws/secrets';
import type { ChatDeps } from '../../functions/chat/chat';
import { DEFERRED_COMMAND, type DeferredCommand, type DeferredOutcome, type SlackResponse } from '../../functions/core/follow-up';
import { ANSWER_BUDGET_MS, MAX_BODY_BYTES, REPLAY_TEXT } from '../../functions/chat/chat';
import { HELP } from '../../functions/chat/commands';
import { consoleUrl, createHandler } from '../../functions/chat/handler';
import { signSlackRequest } from '../../functions/chat/slack-signature';
import type { ServiceConfig } from '../../functions/core/config';
import { ErrorName } from '../../functions/core/errors';
import { slackText } from '../../functions/core/slack-text';
import type { CommandRecord, HistoryRecord, LockRecord, WaitRecord } from '../../functions/core/ports';
import { ecsService } from '../fixtures/ecs';
import { ALARMS, CLUSTER, EVENT_ID, IMAGE_URI, LISTENER_ARN, NEW_TD, OTHER_ROLLOUT_ID, RETAINED_TD, ROLLOUT_ID, serviceConfig, taskDefinitionArn } from '../fixtures/state';
import {
  LAMBDA_CONTEXT,
  LEASE_UNTIL,
  NOW,
  STATE_MACHINE_ARN,
  TABLE,
  aws,
  conditionFailed,
  fenceOf,
  fieldsSet,
  givenAlarmStates,
  givenEcsService,
  givenListener,
  givenLock,
  givenLockTable,
  historyWrites,
  lockAcquires,
  lockFences,
  lockItem,
  lockReleases,
  lockUpdates,
  namedError,
  realDeps,
  releaseOf,
  released,
  resetAws,
  serviceStateWrites,
  slotWeights,
  totalAwsCalls,
  weightedForward,
  writes,
  type LockTable,
  type LogLine,
  leasesClosed,
} from './harness';

/** The Slack app's signing secret: distinctive, so a leak into a log line or an answer cannot hide. */
const SECRET = 'cutover-test-signing-secret-5f0c2b9e71d4a8';
const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:cutover/slack-signing-secret-Ab12Cd';
const NOW_S = Date.parse(NOW) / 1000;

const OPERATOR = 'U0OPERATOR';
const ONCALL = 'U0ONCALL';
const INTRUDER = 'U0INTRUDER';
const DEPLOYS = 'C0DEPLOYS';
const RANDOM = 'C0RANDOM';
const BY = `<@${OPERATOR}>`;

const BAKE_TOKEN = 'AQCEAAAAKgAAAAMAAAAAAAAAAd2Wl7YvM0Y3bake-token';
const GATE_TOKEN = 'AQCEAAAAKgAAAAMAAAAAAAAAAd2Wl7YvM0Y3gate-token';
const HOLD_TOKEN = 'AQCEAAAAKgAAAAMAAAAAAAAAAd2Wl7YvM0Y3hold-token';

const LOCK_KEY = { pk: 'service#checkout', sk: 'lock' };
const EXECUTION_LINK = `https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1#/v2/executions/details/${executionArnOf(STATE_MACHINE_ARN, ROLLOUT_ID)}`;

const elb = 'arn:aws:elasticloadbalancing:us-east-1:123456789012';
const PAYMENTS_LISTENER = `${elb}:listener/app/shop/50dc6c495c0c9188/0b7e9ea3c2d14f61`;
const PAYMENTS_BLUE_TG = `${elb}:targetgroup/payments-blue/5a1c0f3e9b2d7e44`;
const PAYMENTS_GREEN_TG = `${elb}:targetgroup/payments-green/c03d8e1f6a4b2917`;

/** Four services: the operator may steer checkout (from #deploys) and payments (anywhere), not the others. */
const checkoutConfig = (overrides: Partial<ServiceConfig> = {}) => serviceConfig({ chat: { channels: [DEPLOYS], users: [OPERATOR, ONCALL] }, ...overrides });
const SERVICES: ServiceConfig[] = [
  checkoutConfig(),
  serviceConfig({
    name: 'payments',
    repository: 'payments',
    listenerArn: PAYMENTS_LISTENER,
    slots: { blue: { serviceName: 'payments-blue', targetGroupArn: PAYMENTS_BLUE_TG }, green: { serviceName: 'payments-green', targetGroupArn: PAYMENTS_GREEN_TG } },
    alarms: ['payments-5xx'],
    chat: { users: [OPERATOR] },
  }),
  serviceConfig({ name: 'inventory', repository: 'inventory', chat: { users: ['U0WAREHOUSE'] } }),
  serviceConfig({ name: 'billing', repository: 'billing' }),
];

// ---------------------------------------------------------------------------------------------------
// Requests as Slack sends them to the Function URL.

interface SlashOptions {
  readonly user?: string;
  readonly channel?: string;
  /** Unix seconds the request is signed at. @default now */
  readonly timestamp?: number;
  readonly secret?: string;
  readonly method?: string;
  /** Deliver the body base64-encoded, as a Function URL does for some content types. */
  readonly base64?: boolean;
}

/** The response_url of every request {@link formBody} makes, as Slack hands them out. */
const RESPONSE_URL = 'https://hooks.slack.com/commands/T0SHOP/397700885554/96rGlfmibIGlgcZRskXaIFfN';

/** A slash command's form body, with the fields Slack sends. */
function formBody(text: string, user = OPERATOR, channel = DEPLOYS): string {
  return new URLSearchParams({
    token: 'gIkuvaNzQIHg97ATvDxqgjtO',
    team_id: 'T0SHOP',
    team_domain: 'shop',
    channel_id: channel,
    channel_name: 'deploys',
    user_id: user,
    user_name: 'operator',
    command: '/cutover',
    text,
    api_app_id: 'A0CUTOVER',
    response_url: RESPONSE_URL,
    trigger_id: '398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c',
  }).toString();
}

/** A Lambda Function URL event (payload 2.0). */
function functionUrlEvent(body: string | undefined, headers: Record<string, string>, options: { method?: string; isBase64Encoded?: boolean } = {}): APIGatewayProxyEventV2 {
  const method = options.method ?? 'POST';
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: '/',
    rawQueryString: '',
    headers: { 'content-type': 'application/x-www-form-urlencoded', host: 'k3xmplh2nd.lambda-url.us-east-1.on.aws', 'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)', ...headers },
    requestContext: {
      accountId: 'anonymous',
      apiId: 'k3xmplh2nd',
      domainName: 'k3xmplh2nd.lambda-url.us-east-1.on.aws',
      domainPrefix: 'k3xmplh2nd',
      http: { method, path: '/', protocol: 'HTTP/1.1', sourceIp: '54.209.85.199', userAgent: 'Slackbot 1.0 (+https://api.slack.com/robots)' },
      requestId: '5b7b3f5e-0c3e-4a64-9a0e-6d0f9c1f2a11',
      routeKey: '$default',
      stage: '$default',
      time: '24/Nov/2026:10:20:00 +0000',
      timeEpoch: Date.parse(NOW),
    },
    body,
    isBase64Encoded: options.isBase64Encoded ?? false,
  };
}

/** Slack's two headers for `body`, signed at `timestamp` with `secret`. */
const signed = (body: string, timestamp = NOW_S, secret = SECRET) => ({ 'x-slack-request-timestamp': String(timestamp), 'x-slack-signature': signSlackRequest(secret, body, timestamp) });

/** `/cutover <text>` as Slack delivers it: signed, form-encoded, from the operator in #deploys unless told. */
function slash(text: string, options: SlashOptions = {}): APIGatewayProxyEventV2 {
  const body = formBody(text, options.user, options.channel);
  const headers = signed(body, options.timestamp, options.secret);
  return functionUrlEvent(options.base64 ? Buffer.from(body).toString('base64') : body, headers, { method: options.method, isBase64Encoded: options.base64 });
}

/** A signed help command padded to exactly `bytes` bytes of body. */
function sized(bytes: number, base64: boolean): APIGatewayProxyEventV2 {
  const head = `${formBody('help')}&pad=`;
  const body = head + 'x'.repeat(bytes - Buffer.byteLength(head));
  return functionUrlEvent(base64 ? Buffer.from(body).toString('base64') : body, signed(body), { isBase64Encoded: base64 });
}

// ---------------------------------------------------------------------------------------------------
// Dependencies and invocation.

type Log = ReturnType<typeof realDeps>['log'];
let deps: ChatDeps & { readonly log: Log };
/** Every answer of the current test, for the secret check after it. */
let answers: APIGatewayProxyStructuredResultV2[];
/** The deferred commands the endpoint started (Lambda `Event` invocations of the function itself), not run yet. */
let deferred: unknown[];
/** What the function posted to a response_url. */
let posted: Array<{ readonly url: string; readonly message: SlackResponse }>;

function chatDeps(overrides: Partial<Omit<ChatDeps, 'log'>> = {}): ChatDeps & { readonly log: Log } {
  return {
    ...realDeps(),
    services: SERVICES,
    signingSecret: async () => SECRET,
    requestLedger: awsRequestLedger(TABLE, new DynamoDBClient({ region: 'us-east-1' })),
    executionUrl: (rolloutId) => consoleUrl(executionArnOf(STATE_MACHINE_ARN, rolloutId)),
    // As Lambda's queue: the event as it would be serialized, run later by runDeferred().
    deferral: { defer: async (command) => void deferred.push(JSON.parse(JSON.stringify(command)) as unknown) },
    responses: { post: async (url, message) => void posted.push({ url, message }) },
    ...overrides,
  };
}

async function invoke(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  const answer = (await createHandler(() => deps)(event, LAMBDA_CONTEXT)) as APIGatewayProxyStructuredResultV2;
  answers.push(answer);
  return answer;
}

/** Delivers `event` to the handler as an asynchronous (or any direct) invocation would. */
const invokeDirectly = async (event: unknown) => (await createHandler(() => deps)(event as never, LAMBDA_CONTEXT)) as DeferredOutcome;

/** Runs the deferred commands started so far, each once, as Lambda runs `Event` invocations. */
async function runDeferred(): Promise<DeferredOutcome[]> {
  const outcomes: DeferredOutcome[] = [];
  for (const event of deferred.splice(0)) outcomes.push(await invokeDirectly(event));
  return outcomes;
}

/** The acknowledgement of a deferred command: ephemeral, at once, naming the command (escaped: it is outside text). */
const acknowledgement = (command: string) => ({ response_type: 'ephemeral', text: `Working on \`${slackText(command)}\`: the outcome follows here.` });

/**
 * A deferred command (a rollback) as the operator sees it: the acknowledgement at once, then the deferred
 * run, whose one post to the request's response_url is returned in the shape of a 200 answer, so the
 * assertions read it as they read a direct answer.
 */
async function invokeDeferred(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  const ack = await invoke(event);
  expect(JSON.parse(String(ack.body))).toEqual(acknowledgement(new URLSearchParams(String(event.body)).get('text')!.trim()));
  expect(deferred).toHaveLength(1);
  const before = posted.length;
  try {
    await runDeferred();
  } finally {
    expect(posted.slice(before).map((p) => p.url)).toEqual([RESPONSE_URL]);
  }
  const answer = { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(posted[posted.length - 1]!.message) };
  answers.push(answer);
  return answer;
}

/** A 200 answer as Slack reads it. */
function slackAnswer(answer: APIGatewayProxyStructuredResultV2): { response_type: string; text: string } {
  expect(answer.statusCode).toBe(200);
  expect(answer.headers).toEqual({ 'content-type': 'application/json' });
  return JSON.parse(String(answer.body)) as { response_type: string; text: string };
}

const plainText = (statusCode: number, body: string) => ({ statusCode, headers: { 'content-type': 'text/plain; charset=utf-8' }, body });
const inChannel = (text: string) => ({ response_type: 'in_channel', text });
const ephemeral = (text: string) => ({ response_type: 'ephemeral', text });

// ---------------------------------------------------------------------------------------------------
// What was read and written.

const bakeWait: WaitRecord = { kind: 'bake', since: '2026-11-24T10:19:00.000Z', until: '2026-11-24T10:24:00.000Z' };
const gateWait: WaitRecord = { kind: 'gate', since: '2026-11-24T10:10:00.000Z', until: '2026-11-24T11:10:00.000Z' };
const holdWait: WaitRecord = { kind: 'hold', since: '2026-11-24T10:19:30.000Z', until: '2026-12-01T10:19:30.000Z' };
const pausedBy = (user: string): NonNullable<LockRecord['pause']> => ({ by: `<@${user}>`, at: '2026-11-24T10:19:10.000Z' });

/** Checkout mid-canary: green at 10%, in the first 5-minute bake, its token recorded. */
const baking = (overrides: Partial<LockRecord> = {}) => lockItem({ stepIndex: 1, weights: { blue: 90, green: 10 }, taskToken: BAKE_TOKEN, wait: bakeWait, ...overrides });

const historyItem = (record: HistoryRecord) => ({ pk: `service#${record.service}`, sk: `rollout#${record.startedAt}#${record.rolloutId}`, ...record });

function givenHistory(records: HistoryRecord[], service = 'checkout'): void {
  aws.dynamo.on(QueryCommand, { ExpressionAttributeValues: { ':pk': `service#${service}`, ':prefix': 'rollout#' } }).resolves({ Items: records.map(historyItem) });
}

function givenCommands(records: CommandRecord[], service = 'checkout'): void {
  aws.dynamo
    .on(QueryCommand, { ExpressionAttributeValues: { ':pk': `service#${service}`, ':prefix': 'command#' } })
    .resolves({ Items: records.map((r) => ({ pk: `service#${service}`, sk: `command#${r.at}#${r.user}`, ...r })) });
}

/** The markAborted / setPause / acquireLock write on checkout's lock answers `attributes`. */
function givenLockWriteReturns(attributes: Record<string, unknown>): void {
  aws.dynamo.on(UpdateCommand, { Key: LOCK_KEY }).resolves({ Attributes: attributes });
}

/** Audit records written (UpdateItem on `command#...` keys), as their key and fields. */
const auditWrites = () =>
  aws.dynamo
    .commandCalls(UpdateCommand)
    .map((c) => c.args[0].input)
    .filter((u) => String(u.Key?.sk).startsWith('command#'))
    .map((u) => ({ key: u.Key, fields: fieldsSet(u) }));

/** The audit record of `text` sent by `user` from `channel` about checkout, as the store writes it. */
function audited(text: string, result: string, options: { rolloutId?: string; user?: string; channel?: string; service?: string } = {}) {
  const { user = OPERATOR, channel = DEPLOYS, service = 'checkout', rolloutId } = options;
  return {
    key: { pk: `service#${service}`, sk: `command#${NOW}#${user}` },
    fields: { service, at: NOW, user, channel, via: 'slack', text, result, ...(rolloutId ? { rolloutId } : {}) },
  };
}

/** Everything that changes something: lock writes and releases, history, weights, slots, task tokens. */
const changes = () => ({
  lock: lockUpdates(),
  releases: lockReleases(),
  history: historyWrites(),
  listeners: aws.elb.commandCalls(ModifyListenerCommand).map((c) => c.args[0].input),
  services: aws.ecs.commandCalls(UpdateServiceCommand).map((c) => c.args[0].input),
  taskSuccesses: aws.sfn.commandCalls(SendTaskSuccessCommand).map((c) => c.args[0].input),
  taskFailures: aws.sfn.commandCalls(SendTaskFailureCommand).map((c) => c.args[0].input),
});
const NO_CHANGES = { lock: [], releases: [], history: [], listeners: [], services: [], taskSuccesses: [], taskFailures: [] };

/** The task outputs sent with SendTaskSuccess, parsed. */
const taskOutputs = () => changes().taskSuccesses.map((input) => ({ taskToken: input.taskToken, output: JSON.parse(String(input.output)) as unknown }));

/** The AWS calls of every client, in the order they were sent, as `Command` or `Command <key kind>`. */
function awsSequence(): string[] {
  type Call = { args: unknown[]; calledBefore(other: Call): boolean };
  const calls = Object.values(aws).flatMap((mock) => mock.calls() as unknown as Call[]);
  calls.sort((a, b) => (a.calledBefore(b) ? -1 : 1));
  return calls.map((call) => {
    const command = call.args[0] as { constructor: { name: string }; input: { Key?: { sk?: string }; Item?: { sk?: string } } };
    const sk = command.input.Key?.sk ?? command.input.Item?.sk;
    return sk ? `${command.constructor.name} ${sk.split('#')[0]}` : command.constructor.name;
  });
}

/** The request claims sent to the ledger (conditional PutItem of `request#slack:<signature>`). */
const claims = () =>
  aws.dynamo
    .commandCalls(PutCommand)
    .map((c) => c.args[0].input)
    .filter((input) => String(input.Item?.pk).startsWith('request#slack:'));

/** The table as DynamoDB keeps it for conditional puts: the first put of a key lands, a second one fails its condition. */
function givenConditionalPuts(): void {
  const keys = new Set<string>();
  aws.dynamo.on(PutCommand).callsFake((input: PutCommandInput) => {
    const key = `${String(input.Item?.pk)}|${String(input.Item?.sk)}`;
    if (input.ConditionExpression === 'attribute_not_exists(pk)' && keys.has(key)) throw conditionFailed();
    keys.add(key);
    return {};
  });
}

/** Log lines and answers as text, errors included with their message and cause. */
const serialized = (lines: readonly LogLine[], bodies: readonly APIGatewayProxyStructuredResultV2[]) =>
  JSON.stringify({ lines, bodies }, (_key, value: unknown) => (value instanceof Error ? { name: value.name, message: value.message, stack: value.stack, cause: value.cause } : value));

beforeEach(() => {
  resetAws();
  answers = [];
  deferred = [];
  posted = [];
  deps = chatDeps();
  aws.dynamo.on(GetCommand).resolves({}); // no lock
  aws.dynamo.on(QueryCommand).resolves({ Items: [] });
  aws.dynamo.on(UpdateCommand).resolves({});
  aws.dynamo.on(DeleteCommand).resolves({});
  givenConditionalPuts();
  givenListener([weightedForward(90, 10)]);
  givenAlarmStates({ 'checkout-5xx': 'OK', 'checkout-p99-latency': 'OK', 'payments-5xx': 'OK' });
  aws.ecs.on(DescribeServicesCommand).resolves({ services: [], failures: [] });
  aws.ecs.on(UpdateServiceCommand).resolves({});
  aws.elb.on(ModifyListenerCommand).resolves({});
  aws.sfn.on(SendTaskSuccessCommand).resolves({});
  aws.sfn.on(SendTaskFailureCommand).resolves({});
});

afterEach(() => {
  // The signing secret never leaves the function: not in a log line, not in an answer, whatever the case.
  expect(serialized(deps.log.lines, answers)).not.toContain(SECRET);
  expect(JSON.stringify(posted)).not.toContain(SECRET);
});

// ---------------------------------------------------------------------------------------------------

describe('chat handler: the request', () => {
  it.each(['GET', 'PUT', 'OPTIONS'])('answers 405 to %s without reading the secret or calling AWS', async (method) => {
    const signingSecret = vi.fn(async () => SECRET);
    deps = chatDeps({ signingSecret });

    const answer = await invoke(slash('rollback checkout', { method }));

    expect(answer).toEqual(plainText(405, 'POST only'));
    expect(signingSecret).not.toHaveBeenCalled();
    expect(totalAwsCalls()).toBe(0);
  });

  it("answers Slack's ssl_check with 200, without a signature, reading no secret and calling no AWS", async () => {
    const signingSecret = vi.fn(async () => SECRET);
    deps = chatDeps({ signingSecret });

    const answer = await invoke(functionUrlEvent('ssl_check=1&token=deprecated-verification-token', {}));

    expect(answer).toEqual(plainText(200, ''));
    expect(signingSecret).not.toHaveBeenCalled();
    expect(totalAwsCalls()).toBe(0);
  });

  it.each<[string, () => APIGatewayProxyEventV2]>([
    ['a signed body one byte over 16 KiB', () => sized(MAX_BODY_BYTES + 1, false)],
    ['a signed base64 body that decodes to one byte over 16 KiB', () => sized(MAX_BODY_BYTES + 1, true)],
    ['a base64 body over 32 KiB before decoding', () => functionUrlEvent(Buffer.from('x'.repeat(3 * MAX_BODY_BYTES)).toString('base64'), {}, { isBase64Encoded: true })],
  ])('answers 413 to %s without calling AWS', async (_case, event) => {
    const answer = await invoke(event());

    expect(answer).toEqual(plainText(413, 'request too large'));
    expect(totalAwsCalls()).toBe(0);
  });

  it.each([false, true])('reads a signed body of exactly 16 KiB (base64: %s)', async (base64) => {
    const answer = await invoke(sized(MAX_BODY_BYTES, base64));

    expect(slackAnswer(answer)).toEqual(ephemeral(HELP));
  });

  it.each<[string, () => APIGatewayProxyEventV2]>([
    ['no signature header', () => functionUrlEvent(formBody('rollback checkout'), { 'x-slack-request-timestamp': String(NOW_S) })],
    ['no timestamp header', () => functionUrlEvent(formBody('rollback checkout'), { 'x-slack-signature': signSlackRequest(SECRET, formBody('rollback checkout'), NOW_S) })],
    ['no Slack headers at all', () => functionUrlEvent(formBody('rollback checkout'), {})],
    ['no body', () => functionUrlEvent(undefined, signed(formBody('rollback checkout')))],
    ['a signature made with another secret', () => slash('rollback checkout', { secret: 'an-old-rotated-secret' })],
    ['a timestamp 301 s old', () => slash('rollback checkout', { timestamp: NOW_S - 301 })],
    ['a timestamp 301 s ahead', () => slash('rollback checkout', { timestamp: NOW_S + 301 })],
    ['a body changed after signing', () => functionUrlEvent(formBody('rollback checkout'), signed(formBody('status checkout')))],
    [
      'a timestamp header changed after signing',
      () => functionUrlEvent(formBody('rollback checkout'), { ...signed(formBody('rollback checkout'), NOW_S - 10), 'x-slack-request-timestamp': String(NOW_S) }),
    ],
    [
      'a signature over the base64 text instead of the decoded body',
      () => {
        const encoded = Buffer.from(formBody('rollback checkout')).toString('base64');
        return functionUrlEvent(encoded, signed(encoded), { isBase64Encoded: true });
      },
    ],
  ])('answers 401 to %s and sends nothing to DynamoDB, Step Functions, ELB, CloudWatch or ECS', async (_case, event) => {
    givenLock(baking());

    const answer = await invoke(event());

    expect(answer).toEqual(plainText(401, 'invalid signature'));
    expect(totalAwsCalls()).toBe(0);
    expect(deps.log.lines).toEqual([{ level: 'warn', message: 'slash command refused: bad or stale signature', fields: undefined }]);
  });

  it.each([
    ['300 s old', NOW_S - 300],
    ['300 s ahead', NOW_S + 300],
  ])('accepts a request signed %s (the edge of the window)', async (_case, timestamp) => {
    const answer = await invoke(slash('help', { timestamp }));

    expect(slackAnswer(answer)).toEqual(ephemeral(HELP));
  });

  it('reads the Slack headers in any case', async () => {
    const body = formBody('help');
    const headers = signed(body);

    const answer = await invoke(functionUrlEvent(body, { 'X-Slack-Request-Timestamp': headers['x-slack-request-timestamp'], 'X-Slack-Signature': headers['x-slack-signature'] }));

    expect(slackAnswer(answer)).toEqual(ephemeral(HELP));
  });

  it('verifies and runs a base64-encoded body as the command it decodes to', async () => {
    givenLock(baking());

    const answer = await invoke(slash('pause checkout', { base64: true }));

    expect(slackAnswer(answer).response_type).toBe('in_channel');
    expect(lockUpdates().map((u) => u.UpdateExpression)).toEqual(['SET #pause = :p']);
    expect(auditWrites()).toEqual([audited('pause checkout', 'accepted', { rolloutId: ROLLOUT_ID })]);
  });

  it.each<[string, string | undefined]>([
    ['missing', undefined],
    ['empty', ''],
    ['in lowercase', 'u0operator'],
    ['a mention instead of an ID', `<@${OPERATOR}>`],
    ['one character', 'U'],
    ['25 characters', `U${'0'.repeat(24)}`],
    ['with a space', 'U0 OPERATOR'],
  ])('answers 400 to a signed request whose user_id is %s, without calling AWS', async (_case, user) => {
    const form = new URLSearchParams(formBody('rollback checkout'));
    if (user === undefined) form.delete('user_id');
    else form.set('user_id', user);
    const body = form.toString();
    givenLock(baking());

    const answer = await invoke(functionUrlEvent(body, signed(body)));

    expect(answer).toEqual(plainText(400, 'user_id missing or malformed'));
    expect(totalAwsCalls()).toBe(0);
  });
});

describe('chat handler: who may steer', () => {
  it.each([
    ['a user checkout does not list', 'rollback checkout', INTRUDER, DEPLOYS, 'checkout', `<@${INTRUDER}> may not steer checkout`],
    ['a listed user in a channel checkout does not list', 'rollback checkout', OPERATOR, RANDOM, 'checkout', 'checkout cannot be steered from this channel'],
    ['anyone, for a service without chat access', 'pause billing', OPERATOR, DEPLOYS, 'billing', 'chat commands are not enabled for billing (its configuration lists no Slack channel or user)'],
    ['a user the service does not list, for status', 'status inventory', OPERATOR, DEPLOYS, 'inventory', `<@${OPERATOR}> may not steer inventory`],
  ])('refuses %s with 403 and the reason, writes only the request claim and the audit record', async (_case, text, user, channel, service, reason) => {
    givenLock(baking());

    const answer = await invoke(slash(text, { user, channel }));

    expect(answer).toEqual(plainText(403, reason));
    expect(auditWrites()).toEqual([audited(text, `refused: ${reason}`, { user, channel, service })]);
    expect(awsSequence()).toEqual(['PutCommand request', 'UpdateCommand command']);
  });

  it('keeps answering when the audit record cannot be written, and logs the loss as an error', async () => {
    aws.dynamo
      .on(UpdateCommand, { Key: { pk: 'service#checkout', sk: `command#${NOW}#${INTRUDER}` } })
      .rejects(namedError('ValidationException', 400, 'Item size has exceeded the maximum allowed size'));

    const answer = await invoke(slash('rollback checkout', { user: INTRUDER }));

    expect(answer).toEqual(plainText(403, `<@${INTRUDER}> may not steer checkout`));
    expect(deps.log.lines.filter((l) => l.level === 'error')).toEqual([
      { level: 'error', message: 'audit record not written', fields: { service: 'checkout', user: INTRUDER, error: 'ValidationException: Item size has exceeded the maximum allowed size' } },
    ]);
  });
});

describe('chat handler: status', () => {
  it('shows the step, the weights the listener has, the alarms, the time left in the bake and the execution', async () => {
    givenLock(baking({ weights: { blue: 100, green: 0 } })); // the lock's weights are stale; the listener is the truth
    givenListener([weightedForward(90, 10)]);
    givenAlarmStates({ 'checkout-5xx': 'OK', 'checkout-p99-latency': 'ALARM' });

    const answer = await invoke(slash('status checkout'));

    expect(slackAnswer(answer)).toEqual(
      ephemeral(
        `*checkout*: rolling out ${ROLLOUT_ID} (started 4m57s ago)\n` +
          '  step 2/7 (Bake 5m): baking, 4m left\n' +
          '  weights: blue 90 / green 10\n' +
          '  alarms: checkout-5xx OK, checkout-p99-latency ALARM\n' +
          `  execution: ${EXECUTION_LINK}`,
      ),
    );
    expect(aws.elb.commandCalls(DescribeListenersCommand).map((c) => c.args[0].input)).toEqual([{ ListenerArns: [LISTENER_ARN] }]);
    expect(aws.cloudwatch.commandCalls(DescribeAlarmsCommand).map((c) => c.args[0].input)).toEqual([
      { AlarmNames: [...ALARMS], AlarmTypes: ['MetricAlarm', 'CompositeAlarm'], MaxRecords: 100, NextToken: undefined },
    ]);
    expect(changes()).toEqual(NO_CHANGES);
    expect(auditWrites()).toEqual([audited('status checkout', 'accepted', { rolloutId: ROLLOUT_ID })]);
  });

  it.each<[string, Partial<LockRecord>, string]>([
    ['an operator pause holding', { taskToken: HOLD_TOKEN, wait: holdWait, pause: pausedBy(ONCALL) }, `  step 2/7 (Bake 5m): paused by <@${ONCALL}>, holding`],
    ['a pause requested, not yet holding', { stepIndex: 2, taskToken: undefined, wait: undefined, pause: pausedBy(ONCALL) }, `  step 3/7 (Shift 25% to green): pause requested by <@${ONCALL}>`],
    ['a step in progress', { stepIndex: 4, taskToken: undefined, wait: undefined }, '  step 5/7 (Shift 50% to green): in progress'],
    ['a lock without a step yet', { stepIndex: undefined, taskToken: undefined, wait: undefined }, '  step 1/7 (Shift 10% to green): in progress'],
    ['a step index past the plan', { stepIndex: 9, taskToken: undefined, wait: undefined }, '  step 7/7 (Shift 100% to green): in progress'],
    ['a bake past its end', { wait: { ...bakeWait, until: '2026-11-24T10:19:59.000Z' } }, '  step 2/7 (Bake 5m): baking, 0s left'],
  ])('describes %s', async (_case, lock, stepLine) => {
    givenLock(baking(lock));

    const answer = await invoke(slash('status checkout'));

    expect(slackAnswer(answer).text.split('\n')[1]).toBe(stepLine);
  });

  it('describes a manual gate with the time until its timeout', async () => {
    deps = chatDeps({
      services: [
        checkoutConfig({
          plan: {
            steps: [
              { kind: 'setWeight', weight: 10 },
              { kind: 'pause', timeoutSeconds: 3600 },
              { kind: 'setWeight', weight: 100 },
            ],
          },
        }),
      ],
    });
    givenLock(baking({ taskToken: GATE_TOKEN, wait: gateWait }));

    const answer = await invoke(slash('status checkout'));

    expect(slackAnswer(answer).text.split('\n')[1]).toBe('  step 2/3 (Manual gate (up to 1h, then rollback)): manual gate, waiting for promote (50m until its timeout)');
  });

  it('says when a rollout is aborting, and why', async () => {
    givenLock(baking({ abort: { error: ErrorName.AlarmFired, reason: 'alarm checkout-5xx in ALARM', at: '2026-11-24T10:19:58.000Z' } }));

    const answer = await invoke(slash('status checkout'));

    expect(slackAnswer(answer).text.split('\n').slice(-2)).toEqual(['  aborting: alarm checkout-5xx in ALARM', `  execution: ${EXECUTION_LINK}`]);
  });

  it('shows an idle service with its weights and its last rollout, skipping refused ones', async () => {
    givenListener([weightedForward(0, 100)]);
    givenHistory([
      {
        service: 'checkout',
        rolloutId: OTHER_ROLLOUT_ID,
        startedAt: '2026-11-24T10:12:00.000Z',
        endedAt: '2026-11-24T10:12:00.000Z',
        outcome: 'REFUSED',
        reason: 'pre-flight failed: alarm checkout-5xx is missing',
      },
      {
        service: 'checkout',
        rolloutId: ROLLOUT_ID,
        startedAt: '2026-11-24T09:40:00.000Z',
        endedAt: '2026-11-24T10:00:00.000Z',
        outcome: 'SUCCEEDED',
        liveSlot: 'green',
        reason: 'all steps passed with every watched alarm OK',
      },
    ]);

    const answer = await invoke(slash('status checkout'));

    expect(slackAnswer(answer)).toEqual(
      ephemeral(
        '*checkout*: idle, blue 0 / green 100\n' +
          `  last rollout ${ROLLOUT_ID}: SUCCEEDED 20m ago (all steps passed with every watched alarm OK)\n` +
          '  alarms: checkout-5xx OK, checkout-p99-latency OK',
      ),
    );
    expect(aws.dynamo.commandCalls(QueryCommand).map((c) => c.args[0].input)).toEqual([
      {
        TableName: TABLE,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': 'service#checkout', ':prefix': 'rollout#' },
        ScanIndexForward: false,
        Limit: 5,
      },
    ]);
    expect(auditWrites()).toEqual([audited('status checkout', 'accepted')]);
  });

  it('shows a service with no rollout, a missing listener and a missing alarm as such', async () => {
    aws.elb.on(DescribeListenersCommand).rejects(namedError('ListenerNotFoundException', 400, 'One or more listeners not found'));
    givenAlarmStates({ 'checkout-5xx': 'INSUFFICIENT_DATA' });

    const answer = await invoke(slash('status checkout'));

    expect(slackAnswer(answer)).toEqual(ephemeral('*checkout*: idle, listener not found\n  no rollout yet\n  alarms: checkout-5xx INSUFFICIENT_DATA, checkout-p99-latency MISSING'));
  });

  it('shows every service the caller may steer, and only those, when none is named', async () => {
    givenListener([weightedForward(100, 0)]);
    aws.elb.on(DescribeListenersCommand, { ListenerArns: [PAYMENTS_LISTENER] }).resolves({
      Listeners: [
        {
          ListenerArn: PAYMENTS_LISTENER,
          DefaultActions: [
            {
              Type: 'forward',
              ForwardConfig: {
                TargetGroups: [
                  { TargetGroupArn: PAYMENTS_BLUE_TG, Weight: 0 },
                  { TargetGroupArn: PAYMENTS_GREEN_TG, Weight: 100 },
                ],
              },
            },
          ],
        },
      ],
    });

    const answer = await invoke(slash('status'));

    expect(slackAnswer(answer)).toEqual(
      ephemeral(
        '*checkout*: idle, blue 100 / green 0\n  no rollout yet\n  alarms: checkout-5xx OK, checkout-p99-latency OK\n' +
          '*payments*: idle, blue 0 / green 100\n  no rollout yet\n  alarms: payments-5xx OK',
      ),
    );
    // Each visible service's lock, and (idle ones) what Cutover last left it as, for drift; no other service.
    const keys = aws.dynamo.commandCalls(GetCommand).map((c) => c.args[0].input.Key as { pk: string; sk: string });
    expect(new Set(keys.map((k) => k.pk))).toEqual(new Set(['service#checkout', 'service#payments']));
    expect(keys).toContainEqual(LOCK_KEY);
    expect(keys).toContainEqual({ pk: 'service#payments', sk: 'lock' });
    expect(changes()).toEqual(NO_CHANGES);
  });

  it('refuses status without a service with 403 when the caller may steer nothing', async () => {
    const answer = await invoke(slash('status', { user: INTRUDER, channel: RANDOM }));

    expect(answer).toEqual(plainText(403, 'no service may be steered from here'));
    expect(awsSequence()).toEqual(['PutCommand request']);
  });
});

describe('chat handler: history', () => {
  it('lists the last rollouts with outcome, trigger, length and age, and the commands with who sent them', async () => {
    givenHistory([
      {
        service: 'checkout',
        rolloutId: 'checkout-df0042b9a5d5-20261124T101700Z',
        startedAt: '2026-11-24T10:17:01.000Z',
        endedAt: '2026-11-24T10:17:01.000Z',
        outcome: 'REFUSED',
        reason: `busy: rollout ${ROLLOUT_ID} is in progress`,
      },
      { service: 'checkout', rolloutId: ROLLOUT_ID, startedAt: '2026-11-24T10:15:03.000Z', outcome: 'RUNNING', trigger: `ecr-push:${EVENT_ID}` },
      {
        service: 'checkout',
        rolloutId: OTHER_ROLLOUT_ID,
        startedAt: '2026-11-24T09:02:14.000Z',
        endedAt: '2026-11-24T09:09:44.000Z',
        outcome: 'ROLLED_BACK',
        trigger: 'ecr-push:0b5d1c1e-2f3a-4b5c-8d9e-0f1a2b3c4d5e',
        reason: 'AlarmFired: alarm checkout-5xx in ALARM',
      },
    ]);
    givenCommands([
      { service: 'checkout', at: '2026-11-24T10:18:00.000Z', user: ONCALL, channel: DEPLOYS, via: 'slack', text: 'pause checkout', rolloutId: ROLLOUT_ID, result: 'accepted' },
      { service: 'checkout', at: '2026-11-24T09:05:00.000Z', user: 'alice', via: 'cli', text: 'rollback checkout', rolloutId: OTHER_ROLLOUT_ID, result: 'accepted' },
      { service: 'checkout', at: '2026-11-24T09:01:00.000Z', user: INTRUDER, channel: DEPLOYS, via: 'slack', text: 'rollback checkout', result: `refused: <@${INTRUDER}> may not steer checkout` },
    ]);

    const answer = await invoke(slash('history checkout'));

    expect(slackAnswer(answer)).toEqual(
      ephemeral(
        [
          '*checkout* rollouts:',
          `• 2026-11-24T10:17:01.000Z checkout-df0042b9a5d5-20261124T101700Z: REFUSED (unknown trigger, took 0s, 2m59s ago) — busy: rollout ${ROLLOUT_ID} is in progress`,
          `• 2026-11-24T10:15:03.000Z ${ROLLOUT_ID}: RUNNING (ecr-push:${EVENT_ID}, 4m57s ago)`,
          `• 2026-11-24T09:02:14.000Z ${OTHER_ROLLOUT_ID}: ROLLED_BACK (ecr-push:0b5d1c1e-2f3a-4b5c-8d9e-0f1a2b3c4d5e, took 7m30s, 1h17m46s ago) — AlarmFired: alarm checkout-5xx in ALARM`,
          'commands:',
          `• 2026-11-24T10:18:00.000Z <@${ONCALL}>: pause checkout → accepted`,
          '• 2026-11-24T09:05:00.000Z alice: rollback checkout → accepted',
          `• 2026-11-24T09:01:00.000Z <@${INTRUDER}>: rollback checkout → refused: <@${INTRUDER}> may not steer checkout`,
        ].join('\n'),
      ),
    );
    const queries = aws.dynamo.commandCalls(QueryCommand).map((c) => c.args[0].input);
    expect(queries.map((q) => ({ values: q.ExpressionAttributeValues, newestFirst: q.ScanIndexForward === false, limit: q.Limit }))).toEqual(
      expect.arrayContaining([
        { values: { ':pk': 'service#checkout', ':prefix': 'rollout#' }, newestFirst: true, limit: 10 },
        { values: { ':pk': 'service#checkout', ':prefix': 'command#' }, newestFirst: true, limit: 10 },
      ]),
    );
    expect(queries).toHaveLength(2);
    expect(changes()).toEqual(NO_CHANGES);
    expect(auditWrites()).toEqual([audited('history checkout', 'accepted')]);
  });

  it('says so when there is no rollout and no command yet', async () => {
    const answer = await invoke(slash('history checkout'));

    expect(slackAnswer(answer)).toEqual(ephemeral('*checkout* rollouts:\nno rollout yet\ncommands:\nnone'));
  });
});

describe('chat handler: rollback during a rollout', () => {
  const WHY = `rollback requested by ${BY}: p99 looks wrong`;
  const abortRecorded = { error: ErrorName.RolloutAborted, reason: WHY, at: NOW };

  it('marks the abort on the lock, then fails the waiting task with RolloutAborted', async () => {
    givenLock(baking());
    givenLockWriteReturns(baking({ abort: abortRecorded }));

    const answer = await invokeDeferred(slash('rollback checkout p99 looks wrong'));

    expect(slackAnswer(answer)).toEqual(inChannel(`Rolling back checkout now (${ROLLOUT_ID}): all traffic goes back to the retained revision. ${WHY}`));
    expect(changes()).toEqual({
      ...NO_CHANGES,
      lock: [
        {
          TableName: TABLE,
          Key: LOCK_KEY,
          UpdateExpression: 'SET #abort = if_not_exists(#abort, :abort)',
          ConditionExpression: '#rid = :id',
          ExpressionAttributeNames: { '#abort': 'abort', '#rid': 'rolloutId' },
          ExpressionAttributeValues: { ':abort': abortRecorded, ':id': ROLLOUT_ID },
          ReturnValues: 'ALL_NEW',
        },
      ],
      taskFailures: [{ taskToken: BAKE_TOKEN, error: ErrorName.RolloutAborted, cause: WHY }],
    });
    // First whether the holder is alive (its execution RUNNING), then the abort, then its token.
    expect(aws.sfn.commandCalls(DescribeExecutionCommand).map((c) => c.args[0].input)).toEqual([{ executionArn: executionArnOf(STATE_MACHINE_ARN, ROLLOUT_ID) }]);
    expect(awsSequence().filter((c) => c !== 'GetCommand lock')).toEqual([
      'PutCommand request',
      'PutCommand request',
      'DescribeExecutionCommand',
      'UpdateCommand lock',
      'SendTaskFailureCommand',
      'UpdateCommand command',
    ]);
    expect(auditWrites()).toEqual([audited('rollback checkout p99 looks wrong', 'accepted', { rolloutId: ROLLOUT_ID })]);
  });

  it('runs a rollback of a rollout whose abort can move the traffic in the request itself: all traffic back on the retained slot before it answers', async () => {
    const retained = { slot: 'blue', taskDefinitionArn: RETAINED_TD, desiredCount: 3, phase: 'retained' } as const;
    const fallback = {
      listenerArn: LISTENER_ARN,
      weights: [
        { targetGroupArn: serviceConfig().slots.blue.targetGroupArn, weight: 100 },
        { targetGroupArn: serviceConfig().slots.green.targetGroupArn, weight: 0 },
      ],
      target: retained,
    };
    givenLock(baking({ fallback }));
    givenLockWriteReturns(baking({ fallback, abort: abortRecorded }));
    givenListener([weightedForward(90, 10)]);
    aws.elb.on(ModifyListenerCommand).resolves({});

    const answer = await invoke(slash('rollback checkout p99 looks wrong'));

    expect(slackAnswer(answer)).toEqual(inChannel(`Rolling back checkout now (${ROLLOUT_ID}): all traffic is back on the retained revision. ${WHY}`));
    expect(deferred).toEqual([]);
    expect(posted).toEqual([]);
    expect(changes().listeners.map((l) => slotWeights(l.DefaultActions))).toEqual([{ blue: 100, green: 0 }]);
    expect(changes().taskFailures).toEqual([{ taskToken: BAKE_TOKEN, error: ErrorName.RolloutAborted, cause: WHY }]);
    expect(auditWrites()).toEqual([audited('rollback checkout p99 looks wrong', 'accepted', { rolloutId: ROLLOUT_ID })]);
  });

  it('fails the token the abort write returns, not one read before it', async () => {
    givenLock(baking({ taskToken: BAKE_TOKEN }));
    givenLockWriteReturns(baking({ abort: abortRecorded, taskToken: GATE_TOKEN, wait: gateWait }));

    await invokeDeferred(slash('rollback checkout p99 looks wrong'));

    expect(changes().taskFailures.map((f) => f.taskToken)).toEqual([GATE_TOKEN]);
  });

  it('names the operator alone when no reason is given', async () => {
    givenLock(baking());
    givenLockWriteReturns(baking({ abort: { ...abortRecorded, reason: `rollback requested by ${BY}` } }));

    const answer = await invokeDeferred(slash('rollback checkout'));

    expect(slackAnswer(answer).text).toBe(`Rolling back checkout now (${ROLLOUT_ID}): all traffic goes back to the retained revision. rollback requested by ${BY}`);
    expect(changes().taskFailures).toEqual([{ taskToken: BAKE_TOKEN, error: ErrorName.RolloutAborted, cause: `rollback requested by ${BY}` }]);
  });

  it('rolls back at the next state when no wait is recorded', async () => {
    givenLock(baking({ stepIndex: 2, taskToken: undefined, wait: undefined }));
    givenLockWriteReturns(baking({ stepIndex: 2, taskToken: undefined, wait: undefined, abort: abortRecorded }));

    const answer = await invokeDeferred(slash('rollback checkout p99 looks wrong'));

    expect(slackAnswer(answer)).toEqual(inChannel(`Rolling back checkout now (${ROLLOUT_ID}), at its next state: all traffic goes back to the retained revision. ${WHY}`));
    expect(changes().lock.map((u) => u.ExpressionAttributeValues?.[':abort'])).toEqual([abortRecorded]);
    expect(changes().taskFailures).toEqual([]);
  });

  it('rolls back at the next state when the waiting task has just ended (TaskTimedOut)', async () => {
    givenLock(baking());
    givenLockWriteReturns(baking({ abort: abortRecorded }));
    aws.sfn.on(SendTaskFailureCommand).rejects(namedError('TaskTimedOut', 400, 'Task Timed Out'));

    const answer = await invokeDeferred(slash('rollback checkout p99 looks wrong'));

    expect(slackAnswer(answer).text).toBe(`Rolling back checkout now (${ROLLOUT_ID}), at its next state: all traffic goes back to the retained revision. ${WHY}`);
    expect(changes().lock.map((u) => u.ExpressionAttributeValues?.[':abort'])).toEqual([abortRecorded]);
  });

  it("fails no task and answers from the rollout's record when the lock changed hands before the abort", async () => {
    givenLock(baking());
    aws.dynamo.on(UpdateCommand, { Key: LOCK_KEY }).rejects(conditionFailed());
    // The rollout ended meanwhile (rolled back by its alarm): nothing is left to roll back.
    givenHistory([
      {
        service: 'checkout',
        rolloutId: ROLLOUT_ID,
        startedAt: '2026-11-24T10:15:03.000Z',
        endedAt: '2026-11-24T10:19:58.000Z',
        outcome: 'ROLLED_BACK',
        liveSlot: 'blue',
        reason: 'checkout-5xx fired',
      },
    ]);

    const answer = await invokeDeferred(slash('rollback checkout'));

    const text = `nothing to roll back: the last rollout of checkout (${ROLLOUT_ID}) ended ROLLED_BACK`;
    expect(slackAnswer(answer)).toEqual(ephemeral(text));
    // The one write tried was the abort, conditioned on the holder read; it failed, so no token was failed and nothing was restored.
    expect(changes()).toEqual({
      ...NO_CHANGES,
      lock: [
        {
          TableName: TABLE,
          Key: LOCK_KEY,
          UpdateExpression: 'SET #abort = if_not_exists(#abort, :abort)',
          ConditionExpression: '#rid = :id',
          ExpressionAttributeNames: { '#abort': 'abort', '#rid': 'rolloutId' },
          ExpressionAttributeValues: { ':abort': { error: ErrorName.RolloutAborted, reason: `rollback requested by ${BY}`, at: NOW }, ':id': ROLLOUT_ID },
          ReturnValues: 'ALL_NEW',
        },
      ],
    });
    expect(lockAcquires()).toEqual([]);
    expect(auditWrites()).toEqual([audited('rollback checkout', `refused: ${text}`)]);
  });
});

describe('chat handler: rollback after completion', () => {
  /** A restore holds the lock as `restore-` + the rollout it undoes (ids are at most 80 characters). */
  const RESTORE_ID = `restore-${ROLLOUT_ID}`.slice(0, 80);
  const WHY = `rollback requested by ${BY}: error budget burn`;
  /** Checkout's lock item when free: the last holder's fields removed, its generation (4) and last lease kept. */
  const FREE_LOCK = released(lockItem({ generation: 4, leaseUntil: '2026-11-24T10:15:40.000Z' }));
  /** What the restore records as its target: the old slot on the retained revision at its warm task count. */
  const restoreTarget = (slot: 'blue' | 'green') => ({ slot, taskDefinitionArn: RETAINED_TD, desiredCount: 3, phase: 'retained' });
  /** Green took 100% on checkout:8 five minutes ago; blue is still warm on checkout:7. */
  const succeeded = (overrides: Partial<HistoryRecord> = {}): HistoryRecord => ({
    service: 'checkout',
    rolloutId: ROLLOUT_ID,
    startedAt: '2026-11-24T10:00:00.000Z',
    endedAt: '2026-11-24T10:15:00.000Z',
    outcome: 'SUCCEEDED',
    image: IMAGE_URI,
    liveSlot: 'green',
    newTaskDefinitionArn: NEW_TD,
    retainedTaskDefinitionArn: RETAINED_TD,
    weights: { blue: 0, green: 100 },
    reason: 'all steps passed with every watched alarm OK',
    ...overrides,
  });
  let sleep: ReturnType<typeof vi.fn<(ms: number) => Promise<void>>>;

  beforeEach(() => {
    // Retries wait through this sleep: no wall-clock wait in the tests, and its calls can be counted.
    sleep = vi.fn(async (_ms: number) => {});
    deps = chatDeps({ sleep });
    givenListener([weightedForward(0, 100)]);
    givenEcsService(ecsService('checkout-blue', 7));
    givenEcsService(ecsService('checkout-green', 8));
  });

  it('puts blue back at 100%, scales green to 0 and records ROLLED_BACK, under a lock it takes, fences and releases', async () => {
    const table = givenLockTable(FREE_LOCK);
    givenHistory([succeeded()]);

    const answer = await invokeDeferred(slash('rollback checkout error budget burn'));

    expect(slackAnswer(answer)).toEqual(inChannel(`Restored checkout: blue takes 100% again on checkout:7 (${ROLLOUT_ID} rolled back after completion). ${WHY}`));
    // Taken only while free, as a restore with its target; the generation grows by one (4 to 5).
    const acquires = lockAcquires();
    expect(acquires).toHaveLength(1);
    expect(acquires[0]!.ConditionExpression).toBe('attribute_not_exists(#rolloutId)');
    expect(fieldsSet(acquires[0]!)).toEqual({
      service: 'checkout',
      rolloutId: RESTORE_ID,
      role: 'restore',
      startedAt: NOW,
      alarms: [],
      image: IMAGE_URI,
      leaseUntil: LEASE_UNTIL,
      target: restoreTarget('blue'),
      activeKey: 'active',
      generation: 'if_not_exists(generation, 0) + 1',
    });
    // A fence at the generation taken right before each mutation, then the release of the holder's fields.
    // One fence before it looks at blue's targets (healthy: no wait), one before each write.
    expect(lockFences()).toEqual([fenceOf(RESTORE_ID, 5, { role: 'restore' }), fenceOf(RESTORE_ID, 5, { role: 'restore' }), fenceOf(RESTORE_ID, 5, { role: 'restore' })]);
    expect(lockReleases()).toEqual([releaseOf(RESTORE_ID)]);
    // The request's claim (answering Slack), then the deferred run's claim and the restore.
    expect(writes()).toEqual([
      'put request',
      'put request',
      'acquire',
      'fence',
      'fence',
      'weights',
      'fence',
      'UpdateService checkout-green',
      'history',
      'service state',
      'release',
      'update command',
      'close lease',
    ]);
    expect(leasesClosed()).toEqual([['request-1']]);
    // Restorable is read again under the lock (history and the old slot), before the first fence.
    expect(
      awsSequence()
        .filter((c) => /^(UpdateCommand lock|QueryCommand|DescribeServicesCommand)$/.test(c))
        .slice(0, 6),
    ).toEqual(['QueryCommand', 'DescribeServicesCommand', 'UpdateCommand lock', 'QueryCommand', 'DescribeServicesCommand', 'UpdateCommand lock']);
    const { listeners, services, history, taskSuccesses, taskFailures } = changes();
    expect(listeners).toHaveLength(1);
    expect(listeners[0]!.ListenerArn).toBe(LISTENER_ARN);
    expect(slotWeights(listeners[0]!.DefaultActions)).toEqual({ blue: 100, green: 0 });
    expect(services).toEqual([{ cluster: CLUSTER, service: 'checkout-green', desiredCount: 0 }]);
    expect(history).toEqual([
      {
        sk: `rollout#2026-11-24T10:00:00.000Z#${ROLLOUT_ID}`,
        fields: { ...succeeded(), outcome: 'ROLLED_BACK', liveSlot: 'blue', weights: { blue: 100, green: 0 }, reason: `rolled back after completion: ${WHY}` },
      },
    ]);
    expect(serviceStateWrites()).toEqual([
      { service: 'checkout', liveSlot: 'blue', liveTaskDefinitionArn: RETAINED_TD, desiredCount: 3, rolloutId: ROLLOUT_ID, at: NOW, written: { generation: 5, stage: 2 } },
    ]);
    expect([taskSuccesses, taskFailures]).toEqual([[], []]);
    // The lock is free again at the restore's generation, with its last lease.
    expect(table.item).toEqual({ ...LOCK_KEY, service: 'checkout', generation: 5, leaseUntil: LEASE_UNTIL });
    expect(sleep).not.toHaveBeenCalled();
    expect(auditWrites()).toEqual([audited('rollback checkout error budget burn', 'accepted', { rolloutId: ROLLOUT_ID })]);
  });

  it('restores a service whose blue slot was the new one back to green', async () => {
    givenLockTable(FREE_LOCK);
    givenListener([weightedForward(100, 0)]);
    givenEcsService(ecsService('checkout-green', 7));
    givenHistory([succeeded({ liveSlot: 'blue', weights: { blue: 100, green: 0 } })]);

    const answer = await invokeDeferred(slash('rollback checkout'));

    expect(slackAnswer(answer).text).toBe(`Restored checkout: green takes 100% again on checkout:7 (${ROLLOUT_ID} rolled back after completion). rollback requested by ${BY}`);
    expect(fieldsSet(lockAcquires()[0]!).target).toEqual(restoreTarget('green'));
    expect(slotWeights(changes().listeners[0]!.DefaultActions)).toEqual({ blue: 0, green: 100 });
    expect(changes().services).toEqual([{ cluster: CLUSTER, service: 'checkout-blue', desiredCount: 0 }]);
    expect(serviceStateWrites().map((s) => s.liveSlot)).toEqual(['green']);
    expect(lockReleases()).toEqual([releaseOf(RESTORE_ID)]);
  });

  it('releases its lock even when the listener cannot be changed', async () => {
    const table = givenLockTable(FREE_LOCK);
    givenHistory([succeeded()]);
    aws.elb.on(ModifyListenerCommand).rejects(namedError('ValidationError', 400, 'A target group ARN must be specified'));

    await expect(invokeDeferred(slash('rollback checkout'))).rejects.toMatchObject({ name: 'ValidationError' });

    expect(writes()).toEqual(['put request', 'put request', 'acquire', 'fence', 'fence', 'weights', 'release']);
    expect(changes().releases).toEqual([releaseOf(RESTORE_ID)]);
    expect(changes().services).toEqual([]);
    expect(changes().history).toEqual([]);
    expect(serviceStateWrites()).toEqual([]);
    expect(table.item?.rolloutId).toBeUndefined();
    expect(table.item?.generation).toBe(5);
  });

  it.each<[string, HistoryRecord[], () => void, string]>([
    ['there was no rollout', [], () => {}, 'nothing to roll back: checkout has no rollout yet'],
    [
      'only refused rollouts',
      [{ service: 'checkout', rolloutId: OTHER_ROLLOUT_ID, startedAt: '2026-11-24T10:12:00.000Z', endedAt: '2026-11-24T10:12:00.000Z', outcome: 'REFUSED' }],
      () => {},
      'nothing to roll back: checkout has no rollout yet',
    ],
    ['the last rollout was rolled back', [succeeded({ outcome: 'ROLLED_BACK' })], () => {}, `nothing to roll back: the last rollout of checkout (${ROLLOUT_ID}) ended ROLLED_BACK`],
    [
      'the last rollout failed',
      [succeeded({ outcome: 'FAILED' }), succeeded({ rolloutId: OTHER_ROLLOUT_ID, startedAt: '2026-11-24T09:00:00.000Z' })],
      () => {},
      `nothing to roll back: the last rollout of checkout (${ROLLOUT_ID}) ended FAILED`,
    ],
    [
      'the old slot was scaled to 0 on another revision',
      [succeeded()],
      () => givenEcsService(ecsService('checkout-blue', 9, { taskDefinition: taskDefinitionArn(9), desiredCount: 0, runningCount: 0 })),
      'the blue slot no longer runs checkout:7 warm; cannot restore it instantly',
    ],
    [
      'the old slot runs another revision',
      [succeeded()],
      () => givenEcsService(ecsService('checkout-blue', 9, { taskDefinition: taskDefinitionArn(9) })),
      'the blue slot no longer runs checkout:7 warm; cannot restore it instantly',
    ],
    ['the old slot is gone', [succeeded()], () => givenEcsService(ecsService('checkout-blue', 7, { status: 'INACTIVE' })), 'the blue slot no longer runs checkout:7 warm; cannot restore it instantly'],
  ])('refuses to restore and changes nothing when %s', async (_case, history, arrange, text) => {
    givenHistory(history);
    arrange();

    const answer = await invokeDeferred(slash('rollback checkout'));

    expect(slackAnswer(answer)).toEqual(ephemeral(text));
    expect(changes()).toEqual(NO_CHANGES);
    expect(auditWrites()).toEqual([audited('rollback checkout', `refused: ${text}`)]);
  });

  it('restores at the very end of the window (900 s after the end)', async () => {
    givenLockTable(FREE_LOCK);
    givenHistory([succeeded({ endedAt: '2026-11-24T10:05:00.000Z' })]);

    const answer = await invokeDeferred(slash('rollback checkout'));

    expect(slackAnswer(answer).text).toMatch(/^Restored checkout: blue takes 100% again/);
    expect(slotWeights(changes().listeners[0]!.DefaultActions)).toEqual({ blue: 100, green: 0 });
    expect(lockReleases()).toEqual([releaseOf(RESTORE_ID)]);
  });

  it('refuses and changes nothing when a new rollout took the lock in between, after 5 attempts', async () => {
    const table: LockTable = givenLockTable(FREE_LOCK);
    const newcomer = lockItem({ rolloutId: OTHER_ROLLOUT_ID, generation: 5 });
    givenHistory([succeeded()]);
    // The lock is free when the command reads it; a new rollout takes it while the old slot is looked at.
    aws.ecs.on(DescribeServicesCommand, { services: ['checkout-blue'] }).callsFake(() => {
      if (table.item?.rolloutId === undefined) table.item = structuredClone(newcomer);
      return { services: [ecsService('checkout-blue', 7)], failures: [] };
    });

    const answer = await invokeDeferred(slash('rollback checkout'));

    const text = `checkout is busy: ${OTHER_ROLLOUT_ID} holds its lock; the rollback after completion was not applied, run status and try again`;
    expect(slackAnswer(answer)).toEqual(ephemeral(text));
    // Five acquires, each only while free, with the injected sleep between them; no abort of the newcomer.
    const { lock: attempted, ...rest } = changes();
    expect(attempted.map((u) => u.ConditionExpression)).toEqual(Array(5).fill('attribute_not_exists(#rolloutId)'));
    expect(sleep.mock.calls).toEqual([[400], [400], [400], [400]]);
    expect(rest).toEqual({ releases: [], history: [], listeners: [], services: [], taskSuccesses: [], taskFailures: [] });
    expect(lockFences()).toEqual([]);
    expect(serviceStateWrites()).toEqual([]);
    expect(table.item).toEqual(newcomer);
    expect(auditWrites()).toEqual([audited('rollback checkout', `refused: ${text}`)]);
  });
});

describe('chat handler: rollback of a holder whose execution has ended', () => {
  const RECOVERY_ID = `recover-${ROLLOUT_ID}`.slice(0, 80);
  const CAUSE = `${ROLLOUT_ID} had ended without releasing checkout; rollback requested by ${BY}: stuck`;
  const TARGET = { slot: 'blue' as const, taskDefinitionArn: RETAINED_TD, desiredCount: 3, phase: 'retained' as const };
  /** Checkout mid-canary (green at 10% on checkout:8), generation 2; its execution has FAILED. */
  const deadHolder = (leaseUntil: string) => baking({ generation: 2, leaseUntil, target: TARGET, image: IMAGE_URI });
  let sleep: ReturnType<typeof vi.fn<(ms: number) => Promise<void>>>;

  beforeEach(() => {
    sleep = vi.fn(async (_ms: number) => {});
    deps = chatDeps({ sleep });
    aws.sfn.on(DescribeExecutionCommand).resolves({ status: 'FAILED' } as never);
    givenEcsService(ecsService('checkout-blue', 7));
    givenEcsService(ecsService('checkout-green', 8));
  });

  it('recovers the service itself when the lease runs out within 1.5 s, and answers 200', async () => {
    const table = givenLockTable(deadHolder('2026-11-24T10:20:01.000Z'));

    const answer = await invokeDeferred(slash('rollback checkout stuck'));

    const restored = 'blue 100% on checkout:7; green back on checkout:7 at 0 tasks';
    const decision = `recovered checkout after ${ROLLOUT_ID} died (${CAUSE}): ${restored}`;
    expect(slackAnswer(answer)).toEqual(inChannel(`Restored checkout: ${decision.replace(/</g, '&lt;').replace(/>/g, '&gt;')}`));
    expect(answer.body).not.toContain(`<@${OPERATOR}>`);
    // Not aborted (no state would see it): taken over at a new generation, the lease waited out, then restored.
    expect(aws.sfn.commandCalls(DescribeExecutionCommand).map((c) => c.args[0].input)).toEqual([{ executionArn: executionArnOf(STATE_MACHINE_ARN, ROLLOUT_ID) }]);
    expect(sleep.mock.calls).toEqual([[1000]]);
    expect(writes()).toEqual(['put request', 'put request', 'take over', 'fence', 'weights', 'UpdateService checkout-green', 'history', 'service state', 'release', 'update command', 'close lease']);
    const takeOver = lockUpdates()[0]!;
    expect(takeOver.ConditionExpression).toBe('#rolloutId = :stale AND #gen = :staleGen');
    expect(takeOver.ExpressionAttributeValues).toMatchObject({ ':stale': ROLLOUT_ID, ':staleGen': 2 });
    expect(fieldsSet(takeOver)).toMatchObject({ rolloutId: RECOVERY_ID, role: 'recovery', target: TARGET, generation: 'generation + 1' });
    expect(lockFences()).toEqual([fenceOf(RECOVERY_ID, 3, { role: 'recovery' })]);
    expect(lockReleases()).toEqual([releaseOf(RECOVERY_ID)]);
    expect(slotWeights(changes().listeners[0]!.DefaultActions)).toEqual({ blue: 100, green: 0 });
    expect(changes().services).toEqual([{ cluster: CLUSTER, service: 'checkout-green', taskDefinition: RETAINED_TD, desiredCount: 0 }]);
    expect(changes().taskFailures).toEqual([]);
    expect(historyWrites()).toEqual([
      {
        sk: `rollout#2026-11-24T10:15:03.000Z#${ROLLOUT_ID}`,
        fields: {
          service: 'checkout',
          rolloutId: ROLLOUT_ID,
          startedAt: '2026-11-24T10:15:03.000Z',
          endedAt: NOW,
          outcome: 'ROLLED_BACK',
          image: IMAGE_URI,
          liveSlot: 'blue',
          weights: { blue: 100, green: 0 },
          reason: `${CAUSE}; Cutover recovered the service: ${restored}`,
        },
      },
    ]);
    expect(serviceStateWrites()).toEqual([
      { service: 'checkout', liveSlot: 'blue', liveTaskDefinitionArn: RETAINED_TD, desiredCount: 3, rolloutId: ROLLOUT_ID, at: NOW, written: { generation: 3, stage: 2 } },
    ]);
    expect(table.item).toEqual({ ...LOCK_KEY, service: 'checkout', generation: 3, leaseUntil: LEASE_UNTIL });
    expect(auditWrites()).toEqual([audited('rollback checkout stuck', 'accepted', { rolloutId: ROLLOUT_ID })]);
  });

  it("answers 202 and changes nothing when the dead holder's lease runs longer than 1.5 s: the reconcile function recovers it", async () => {
    const holder = deadHolder('2026-11-24T10:20:20.000Z');
    const table = givenLockTable(holder);

    const answer = await invokeDeferred(slash('rollback checkout stuck'));

    const text =
      `checkout: ${ROLLOUT_ID} has ended but the last step of ${ROLLOUT_ID} may still be running for 20 s; ` +
      'Cutover restores the retained revision as soon as it cannot write any more (the execution-ended event triggers it). Run status in a minute.';
    expect(slackAnswer(answer)).toEqual(ephemeral(text));
    expect(aws.sfn.commandCalls(DescribeExecutionCommand)).toHaveLength(1);
    expect(changes()).toEqual(NO_CHANGES);
    expect(serviceStateWrites()).toEqual([]);
    expect(sleep).not.toHaveBeenCalled();
    expect(table.item).toEqual(holder);
    expect(auditWrites()).toEqual([audited('rollback checkout stuck', `refused: ${text}`, { rolloutId: ROLLOUT_ID })]);
  });
});

describe('chat handler: promote', () => {
  it.each<[string, Partial<LockRecord>, string, boolean, string]>([
    ['a bake', {}, 'promote checkout', false, `Promoted checkout: the bake ends now and the next step begins, by ${BY}`],
    ['a manual gate', { taskToken: GATE_TOKEN, wait: gateWait }, 'promote checkout', false, `Promoted checkout: the manual gate ends now and the next step begins, by ${BY}`],
    ['a bake, with --full', {}, 'promote checkout --full', true, `Promoting checkout straight to 100% (alarms are checked once more before finalizing), by ${BY}`],
    [
      'a manual gate, with --full',
      { taskToken: GATE_TOKEN, wait: gateWait },
      'promote checkout --full',
      true,
      `Promoting checkout straight to 100% (alarms are checked once more before finalizing), by ${BY}`,
    ],
  ])('ends %s by succeeding its task token with who promoted and whether to go to 100%', async (_case, lock, text, full, reply) => {
    givenLock(baking(lock));

    const answer = await invoke(slash(text));

    expect(slackAnswer(answer)).toEqual(inChannel(reply));
    const kind = lock.wait ? 'manual gate' : 'bake';
    expect(taskOutputs()).toEqual([
      { taskToken: lock.taskToken ?? BAKE_TOKEN, output: { promotedBy: BY, full, decision: `${kind} ended early by promote${full ? ' --full (straight to 100%)' : ''} from ${BY}` } },
    ]);
    expect(changes().lock).toEqual([]);
    expect(auditWrites()).toEqual([audited(text, 'accepted', { rolloutId: ROLLOUT_ID })]);
  });

  it.each<[string, Record<string, unknown> | undefined, string, string]>([
    ['the rollout is paused (holding)', baking({ taskToken: HOLD_TOKEN, wait: holdWait, pause: pausedBy(ONCALL) }), 'promote checkout', 'checkout is paused: /cutover resume checkout first'],
    [
      'no wait is recorded',
      baking({ stepIndex: 2, taskToken: undefined, wait: undefined }),
      'promote checkout',
      'nothing to promote: checkout is not in a bake or a manual gate right now (run status)',
    ],
    ['a token without its wait is recorded', baking({ wait: undefined }), 'promote checkout', 'nothing to promote: checkout is not in a bake or a manual gate right now (run status)'],
    ['no rollout is in progress', undefined, 'promote checkout', 'nothing to promote: no rollout of checkout is in progress'],
    ['an unknown flag is given', baking(), 'promote checkout --fast', 'promote takes only --full, not "--fast"'],
  ])('refuses when %s and sends no task result', async (_case, lock, text, reply) => {
    givenLock(lock);

    const answer = await invoke(slash(text));

    expect(slackAnswer(answer)).toEqual(ephemeral(reply));
    expect(changes()).toEqual(NO_CHANGES);
    expect(auditWrites().map((a) => a.fields.result)).toEqual([`refused: ${reply}`]);
  });

  it.each(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken'])('answers clearly when the bake just ended and its token is gone (%s)', async (error) => {
    givenLock(baking());
    aws.sfn.on(SendTaskSuccessCommand).rejects(namedError(error, 400));

    const answer = await invoke(slash('promote checkout'));

    expect(slackAnswer(answer)).toEqual(ephemeral('nothing to promote: the bake of checkout just ended'));
    expect(taskOutputs()).toEqual([{ taskToken: BAKE_TOKEN, output: { promotedBy: BY, full: false, decision: `bake ended early by promote from ${BY}` } }]);
    expect(auditWrites()).toEqual([audited('promote checkout', 'refused: nothing to promote: the bake of checkout just ended', { rolloutId: ROLLOUT_ID })]);
  });
});

describe('chat handler: pause and resume', () => {
  const PAUSE_SET = {
    TableName: TABLE,
    Key: LOCK_KEY,
    UpdateExpression: 'SET #pause = :p',
    ConditionExpression: '#rid = :id',
    ExpressionAttributeNames: { '#pause': 'pause', '#rid': 'rolloutId' },
    ExpressionAttributeValues: { ':id': ROLLOUT_ID, ':p': { by: BY, at: NOW } },
  };
  const PAUSE_REMOVED = {
    TableName: TABLE,
    Key: LOCK_KEY,
    UpdateExpression: 'REMOVE #pause',
    ConditionExpression: '#rid = :id',
    ExpressionAttributeNames: { '#pause': 'pause', '#rid': 'rolloutId' },
    ExpressionAttributeValues: { ':id': ROLLOUT_ID },
  };

  it('records the pause on the lock and leaves the current bake running', async () => {
    givenLock(baking());

    const answer = await invoke(slash('pause checkout'));

    expect(slackAnswer(answer)).toEqual(inChannel('Pausing checkout at blue 90 / green 10 once the current step ends; /cutover resume checkout to go on'));
    expect(changes()).toEqual({ ...NO_CHANGES, lock: [PAUSE_SET] });
    expect(auditWrites()).toEqual([audited('pause checkout', 'accepted', { rolloutId: ROLLOUT_ID })]);
  });

  it('pausing twice writes the pause once and says who paused', async () => {
    aws.dynamo
      .on(GetCommand, { Key: LOCK_KEY })
      .resolvesOnce({ Item: baking() })
      .resolves({ Item: baking({ pause: { by: BY, at: NOW } }) });

    const first = await invoke(slash('pause checkout'));
    const second = await invoke(slash('pause checkout', { timestamp: NOW_S + 1 })); // typed again: a new request

    expect(slackAnswer(first).response_type).toBe('in_channel');
    expect(slackAnswer(second)).toEqual(ephemeral(`checkout is already paused by ${BY}`));
    expect(changes()).toEqual({ ...NO_CHANGES, lock: [PAUSE_SET] });
    expect(auditWrites().map((a) => a.fields.result)).toEqual(['accepted', `refused: checkout is already paused by ${BY}`]);
  });

  it.each<[string, Record<string, unknown> | undefined, () => void, string]>([
    ['no rollout is in progress', undefined, () => {}, 'nothing to pause: no rollout of checkout is in progress'],
    ['the rollout ended between the read and the write', baking(), () => aws.dynamo.on(UpdateCommand, { Key: LOCK_KEY }).rejects(conditionFailed()), 'checkout: the rollout ended meanwhile'],
  ])('refuses to pause when %s', async (_case, lock, arrange, reply) => {
    givenLock(lock);
    arrange();

    const answer = await invoke(slash('pause checkout'));

    expect(slackAnswer(answer)).toEqual(ephemeral(reply));
    expect(changes().taskSuccesses).toEqual([]);
    expect(auditWrites().map((a) => a.fields.result)).toEqual([`refused: ${reply}`]);
  });

  it('lifts the pause, then succeeds the hold token so the rollout goes on', async () => {
    const holding = baking({ taskToken: HOLD_TOKEN, wait: holdWait, pause: pausedBy(ONCALL) });
    const { pause: _lifted, ...afterLift } = holding as Record<string, unknown>;
    aws.dynamo.on(GetCommand, { Key: LOCK_KEY }).resolvesOnce({ Item: holding }).resolves({ Item: afterLift });

    const answer = await invoke(slash('resume checkout'));

    expect(slackAnswer(answer)).toEqual(inChannel(`Resumed checkout, by ${BY}`));
    expect(changes()).toEqual({ ...NO_CHANGES, lock: [PAUSE_REMOVED], taskSuccesses: [expect.objectContaining({ taskToken: HOLD_TOKEN })] });
    expect(taskOutputs()).toEqual([{ taskToken: HOLD_TOKEN, output: { resumedBy: BY, decision: `resumed by ${BY}` } }]);
    expect(awsSequence()).toEqual(['PutCommand request', 'GetCommand lock', 'UpdateCommand lock', 'GetCommand lock', 'SendTaskSuccessCommand', 'UpdateCommand command']);
  });

  it('lifts a pause requested during a bake without ending the bake', async () => {
    aws.dynamo
      .on(GetCommand, { Key: LOCK_KEY })
      .resolvesOnce({ Item: baking({ pause: pausedBy(ONCALL) }) })
      .resolves({ Item: baking() });

    const answer = await invoke(slash('resume checkout'));

    expect(slackAnswer(answer)).toEqual(inChannel(`Resumed checkout, by ${BY}`));
    expect(changes()).toEqual({ ...NO_CHANGES, lock: [PAUSE_REMOVED] });
  });

  it.each<[string, Record<string, unknown> | undefined]>([
    ['the rollout is not paused', baking()],
    ['no rollout is in progress', undefined],
  ])('answers "not paused" and changes nothing when %s', async (_case, lock) => {
    givenLock(lock);

    const answer = await invoke(slash('resume checkout'));

    expect(slackAnswer(answer)).toEqual(ephemeral('checkout is not paused'));
    expect(changes()).toEqual(NO_CHANGES);
  });
});

describe('chat handler: commands it cannot run', () => {
  it.each([
    ['an unknown verb', 'deploy checkout', `unknown command "deploy". ${HELP}`],
    ['an unknown service, naming only the services the caller may steer', 'status checkout-eu', 'unknown service "checkout-eu"; known: checkout, payments'],
    ['a verb without its service', 'rollback', `rollback needs a service: /cutover rollback <service>. ${HELP}`],
    ['a service name with shell characters', 'rollback checkout;rm -rf /', '"checkout;rm" is not a service name (letters, digits, - and _ only)'],
    ['a mention as the service', 'pause <@U1>', '"<@U1>" is not a service name (letters, digits, - and _ only)'],
    ['empty text', '', HELP],
    ['help', 'help', HELP],
  ])('answers %s in private, calling AWS only to claim the request', async (_case, text, reply) => {
    givenLock(baking());

    const answer = await invoke(slash(text));

    expect(slackAnswer(answer)).toEqual(ephemeral(reply));
    expect(awsSequence()).toEqual(['PutCommand request']);
  });

  it('lets an AWS failure through to Lambda, logged once by name', async () => {
    aws.dynamo.on(GetCommand).rejects(namedError('InternalServerError', 500, 'Internal server error'));

    await expect(invoke(slash('status checkout'))).rejects.toMatchObject({ name: ErrorName.AwsTransient });

    expect(deps.log.lines).toEqual([
      { level: 'error', message: expect.stringContaining('dynamodb:GetItem failed transiently'), fields: expect.objectContaining({ function: 'chat', error: ErrorName.AwsTransient }) },
    ]);
  });
});

describe('signing secret', () => {
  const secretsManager = mockClient(SecretsManagerClient);
  let nowMs: number;
  const client = () => new SecretsManagerClient({ region: 'us-east-1' });

  beforeEach(() => {
    secretsManager.reset();
    nowMs = 1_795_000_000_000;
  });

  it('is fetched once within the TTL and again once it has passed', async () => {
    secretsManager.on(GetSecretValueCommand).resolvesOnce({ SecretString: 'first-secret' }).resolves({ SecretString: 'rotated-secret' });
    const secret = cachedSecret(SECRET_ARN, client(), () => nowMs);

    const fetched = await secret();
    nowMs += SECRET_TTL_MS - 1;
    const cached = await secret();
    nowMs += 1;
    const refetched = await secret();

    expect([fetched, cached, refetched]).toEqual(['first-secret', 'first-secret', 'rotated-secret']);
    expect(secretsManager.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input)).toEqual([{ SecretId: SECRET_ARN }, { SecretId: SECRET_ARN }]);
  });

  it('does not cache a failed fetch', async () => {
    secretsManager.on(GetSecretValueCommand).rejectsOnce(namedError('InternalServiceError', 500)).resolves({ SecretString: 'the-secret' });
    const secret = cachedSecret(SECRET_ARN, client(), () => nowMs);

    await expect(secret()).rejects.toMatchObject({ name: ErrorName.AwsTransient });
    const value = await secret();

    expect(value).toBe('the-secret');
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('refuses a secret without a string value, naming the secret, not a value', async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretBinary: new Uint8Array([1, 2, 3]) });
    const secret = cachedSecret(SECRET_ARN, client(), () => nowMs);

    await expect(secret()).rejects.toThrow(`secret ${SECRET_ARN} has no string value`);
  });

  it('serves warm invocations of the chat handler from the cache, bad signatures included', async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: SECRET });
    deps = chatDeps({ signingSecret: cachedSecret(SECRET_ARN, client(), () => nowMs) });

    const accepted = await invoke(slash('help'));
    const refused = await invoke(slash('rollback checkout', { secret: 'not-the-secret' }));
    nowMs += SECRET_TTL_MS;
    const afterTtl = await invoke(slash('help', { timestamp: NOW_S + 1 }));

    expect([accepted.statusCode, refused.statusCode, afterTtl.statusCode]).toEqual([200, 401, 200]);
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(2);
    expect(awsSequence()).toEqual(['PutCommand request', 'PutCommand request']);
  });

  it('never appears in a log line or an answer, across accepted, refused and failed requests', async () => {
    givenLock(baking());
    givenLockWriteReturns(baking({ abort: { error: ErrorName.RolloutAborted, reason: 'x', at: NOW } }));
    const events = [
      slash('status checkout'),
      slash('rollback checkout now'),
      slash('rollback checkout', { secret: `${SECRET}x` }),
      slash('rollback checkout', { user: INTRUDER }),
      slash('deploy checkout'),
      functionUrlEvent(formBody('status'), { 'x-slack-request-timestamp': String(NOW_S), 'x-slack-signature': SECRET }),
      slash('status checkout', { method: 'GET' }),
    ];

    for (const event of events) await invoke(event);
    aws.dynamo.on(GetCommand).rejects(namedError('InternalServerError', 500));
    await invoke(slash('status checkout', { timestamp: NOW_S + 1 })).catch(() => undefined);

    expect(answers.map((a) => a.statusCode)).toEqual([200, 200, 401, 403, 200, 401, 405]);
    expect(deps.log.lines.map((l) => l.level)).toEqual(['info', 'info', 'warn', 'info', 'info', 'warn', 'error']);
    expect(serialized(deps.log.lines, answers)).not.toContain(SECRET);
  });
});

describe('chat handler: a signed request is applied once', () => {
  const WHY = `rollback requested by ${BY}: p99 looks wrong`;
  const abortRecorded = { error: ErrorName.RolloutAborted, reason: WHY, at: NOW };

  it('refuses a replay of a rollback within the window with 409, and the replay changes nothing', async () => {
    givenLock(baking());
    givenLockWriteReturns(baking({ abort: abortRecorded }));
    const captured = slash('rollback checkout p99 looks wrong');
    const first = await invokeDeferred(captured);
    const afterFirst = { changes: changes(), audit: auditWrites() };
    deps.log.lines.length = 0;

    deps = chatDeps({ clock: { now: () => new Date(Date.parse(NOW) + 240_000) } }); // four minutes on: the signature still verifies
    const replay = await invoke(structuredClone(captured));

    expect(deferred).toEqual([]);
    expect(slackAnswer(first).text).toBe(`Rolling back checkout now (${ROLLOUT_ID}): all traffic goes back to the retained revision. ${WHY}`);
    expect(afterFirst.changes.lock).toHaveLength(1);
    expect(afterFirst.changes.taskFailures).toHaveLength(1);
    expect(replay).toEqual(plainText(409, REPLAY_TEXT));
    expect({ changes: changes(), audit: auditWrites() }).toEqual(afterFirst);
    expect(deps.log.lines).toEqual([{ level: 'warn', message: 'slash command refused: replayed request', fields: { user: OPERATOR, channel: DEPLOYS } }]);
  });

  it('runs two different signed requests of the same command, each once', async () => {
    givenLock(baking());
    givenLockWriteReturns(baking({ abort: abortRecorded }));

    const first = await invokeDeferred(slash('rollback checkout p99 looks wrong'));
    const second = await invokeDeferred(slash('rollback checkout p99 looks wrong', { timestamp: NOW_S + 1 }));

    expect([slackAnswer(first).response_type, slackAnswer(second).response_type]).toEqual(['in_channel', 'in_channel']);
    expect(changes().lock).toHaveLength(2);
    expect(new Set(claims().map((c) => c.Item?.pk)).size).toBe(2);
    expect(auditWrites().map((a) => a.fields.result)).toEqual(['accepted', 'accepted']);
  });

  it.each([
    ['now', NOW_S],
    ['300 s ago', NOW_S - 300],
    ['300 s ahead', NOW_S + 300],
  ])('claims a request signed %s by its signature, with a conditional put that expires a minute after its window', async (_case, timestamp) => {
    const request = slash('help', { timestamp });

    await invoke(request);

    expect(claims()).toEqual([
      {
        TableName: TABLE,
        Item: { pk: `request#slack:${request.headers['x-slack-signature']}`, sk: 'request', expiresAt: timestamp + 300 + 60 },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    ]);
  });

  it('runs nothing when the claim cannot be written', async () => {
    givenLock(baking());
    aws.dynamo.on(PutCommand).rejects(namedError('InternalServerError', 500, 'Internal server error'));

    await expect(invoke(slash('rollback checkout p99 looks wrong'))).rejects.toMatchObject({ name: ErrorName.AwsTransient });

    expect(changes()).toEqual(NO_CHANGES);
    expect(auditWrites()).toEqual([]);
  });
});

describe('chat handler: commands that may take longer than Slack waits', () => {
  const WHY = `rollback requested by ${BY}: p99 looks wrong`;
  const abortRecorded = { error: ErrorName.RolloutAborted, reason: WHY, at: NOW };
  /** Run claims: a deferred command's run is claimed in the ledger apart from its request. */
  const runClaims = () =>
    aws.dynamo
      .commandCalls(PutCommand)
      .map((c) => c.args[0].input)
      .filter((input) => String(input.Item?.pk).startsWith('request#slack-run:'));
  /** The asynchronous event of a request: the signed request exactly as it came. */
  const deferredEvent = (event: APIGatewayProxyEventV2): DeferredCommand => ({
    kind: DEFERRED_COMMAND,
    body: String(event.body),
    timestamp: event.headers['x-slack-request-timestamp']!,
    signature: event.headers['x-slack-signature']!,
  });
  /** A signed slash command whose body carries `responseUrl`. */
  const slashTo = (text: string, responseUrl: string, options: { timestamp?: number } = {}) => {
    const body = formBody(text).replace(encodeURIComponent(RESPONSE_URL), encodeURIComponent(responseUrl));
    return functionUrlEvent(body, signed(body, options.timestamp));
  };

  it.each(['status checkout', 'history checkout', 'promote checkout', 'pause checkout', 'help'])('answers %s directly, starting nothing and posting nothing', async (text) => {
    givenLock(baking());

    const answer = await invoke(slash(text));

    expect(answer.statusCode).toBe(200);
    expect(slackAnswer(answer).text).not.toMatch(/^Working on/);
    expect(deferred).toEqual([]);
    expect(posted).toEqual([]);
  });

  it.each<[string, SlashOptions]>([
    ['rollback checkout', { user: INTRUDER }],
    ['rollback billing', {}],
    ['rollback nosuch', {}],
    ['rollback', {}],
  ])('refuses %s on sight (no deferral): the caller gets the reason at once', async (text, options) => {
    const answer = await invoke(slash(text, options));

    expect([400, 403, 404, 200]).toContain(answer.statusCode);
    expect(String(answer.body)).not.toContain('Working on');
    expect(deferred).toEqual([]);
    expect(changes()).toEqual(NO_CHANGES);
  });

  it('acknowledges a rollback at once with nothing changed yet, then runs it once and posts its outcome to response_url', async () => {
    givenLock(baking());
    givenLockWriteReturns(baking({ abort: abortRecorded }));
    const request = slash('rollback checkout p99 looks wrong');

    const ack = await invoke(request);
    const atAck = { changes: changes(), audit: auditWrites(), claims: claims().length, runClaims: runClaims().length };
    const outcomes = await runDeferred();
    // Lambda may deliver an asynchronous event twice: the second delivery runs nothing.
    const again = await invokeDirectly(deferredEvent(request));

    expect(ack).toEqual({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(acknowledgement('rollback checkout p99 looks wrong')) });
    expect(atAck).toEqual({ changes: NO_CHANGES, audit: [], claims: 1, runClaims: 0 });
    expect(outcomes).toEqual([{ ran: true, status: 200 }]);
    expect(again).toEqual({ ran: false, refused: 'already run' });
    expect(posted).toEqual([{ url: RESPONSE_URL, message: inChannel(`Rolling back checkout now (${ROLLOUT_ID}): all traffic goes back to the retained revision. ${WHY}`) }]);
    expect(changes().lock.map((u) => u.ExpressionAttributeValues?.[':abort'])).toEqual([abortRecorded]);
    expect(changes().taskFailures).toEqual([{ taskToken: BAKE_TOKEN, error: ErrorName.RolloutAborted, cause: WHY }]);
    expect(auditWrites()).toEqual([audited('rollback checkout p99 looks wrong', 'accepted', { rolloutId: ROLLOUT_ID })]);
    // Each delivery claims the run under one key, conditionally: only the first claim landed.
    const runClaim = {
      TableName: TABLE,
      Item: { pk: `request#slack-run:${request.headers['x-slack-signature']}`, sk: 'request', expiresAt: NOW_S + 300 + 60 },
      ConditionExpression: 'attribute_not_exists(pk)',
    };
    expect(runClaims()).toEqual([runClaim, runClaim]);
  });

  it('defers status without a service when the caller may steer more than 5 services, and posts every one', async () => {
    const many = Array.from({ length: 6 }, (_, i) => serviceConfig({ name: `svc${i}`, repository: `svc${i}`, chat: { users: [OPERATOR] } }));
    deps = chatDeps({ services: many });

    const ack = await invoke(slash('status'));
    await runDeferred();

    expect(JSON.parse(String(ack.body))).toEqual(acknowledgement('status'));
    expect(posted).toHaveLength(1);
    expect(posted[0]!.message.response_type).toBe('ephemeral');
    expect(
      posted[0]!.message.text
        .split('\n')
        .filter((l) => l.startsWith('*'))
        .map((l) => l.split('*')[1]),
    ).toEqual(many.map((s) => s.name));
  });

  it.each([
    ['another host', 'https://evil.example/hooks'],
    ["a host that only starts like Slack's", 'https://hooks.slack.com.evil.example/commands/x'],
    ['plain http to Slack', 'http://hooks.slack.com/commands/T0SHOP/1/x'],
    ['another port', 'https://hooks.slack.com:8443/commands/T0SHOP/1/x'],
    ['credentials in the URL', 'https://user:pass@hooks.slack.com/commands/T0SHOP/1/x'],
    ['loopback, not allowed on AWS', 'http://127.0.0.1:9/commands/x'],
    ['no URL', ''],
  ])('refuses a rollback whose response_url is %s with 400, runs nothing and posts nothing', async (_case, url) => {
    givenLock(baking());

    const answer = await invoke(slashTo('rollback checkout', url));

    expect(answer.statusCode).toBe(400);
    expect(String(answer.body)).toMatch(/^response_url .*; the command was not run$/);
    expect({ deferred, posted, claims: claims(), changes: changes(), audit: auditWrites() }).toEqual({ deferred: [], posted: [], claims: [], changes: NO_CHANGES, audit: [] });
  });

  it('still answers a quick command whose response_url is foreign: it is never posted to', async () => {
    const answer = await invoke(slashTo('status checkout', 'https://evil.example/hooks'));

    expect(slackAnswer(answer).text).toMatch(/^\*checkout\*/);
    expect(posted).toEqual([]);
  });

  it('accepts a loopback response_url only when told to (the local runtime)', async () => {
    deps = chatDeps({ loopbackResponseUrls: true });
    givenLock(baking());
    givenLockWriteReturns(baking({ abort: abortRecorded }));

    const ack = await invoke(slashTo('rollback checkout p99 looks wrong', 'http://127.0.0.1:4100/commands/1'));
    await runDeferred();

    expect(ack.statusCode).toBe(200);
    expect(posted.map((p) => p.url)).toEqual(['http://127.0.0.1:4100/commands/1']);
  });

  it('refuses a deferred command sent through the Function URL: it is only ever a Slack request there', async () => {
    givenLock(baking());
    givenLockWriteReturns(baking({ abort: abortRecorded }));
    const genuine = slash('rollback checkout p99 looks wrong');
    const payload = JSON.stringify(deferredEvent(genuine));

    const withSlackHeaders = await invoke(
      functionUrlEvent(payload, { 'content-type': 'application/json', 'x-slack-request-timestamp': String(NOW_S), 'x-slack-signature': genuine.headers['x-slack-signature']! }),
    );
    const bare = await invoke(functionUrlEvent(payload, { 'content-type': 'application/json' }));

    expect([withSlackHeaders, bare]).toEqual([plainText(401, 'invalid signature'), plainText(401, 'invalid signature')]);
    expect({ deferred, posted, claims: claims(), changes: changes(), audit: auditWrites() }).toEqual({ deferred: [], posted: [], claims: [], changes: NO_CHANGES, audit: [] });
  });

  it.each<[string, () => unknown]>([
    ['a forged signature', () => ({ ...deferredEvent(slash('rollback checkout')), signature: signed(formBody('rollback checkout'), NOW_S, 'guessed')['x-slack-signature'] })],
    ['a body changed after signing', () => ({ ...deferredEvent(slash('status checkout')), body: formBody('rollback checkout') })],
    ['no kind', () => ({ ...deferredEvent(slash('rollback checkout')), kind: undefined })],
    ['an HTTP event shape without requestContext', () => ({ version: '2.0', body: formBody('rollback checkout'), headers: signed(formBody('rollback checkout')) })],
    ['nothing', () => null],
  ])('refuses an asynchronous event with %s: runs nothing, posts nothing', async (_case, event) => {
    givenLock(baking());

    const outcome = await invokeDirectly(event());

    expect(outcome.ran).toBe(false);
    expect({ posted, runClaims: runClaims(), changes: changes(), audit: auditWrites() }).toEqual({ posted: [], runClaims: [], changes: NO_CHANGES, audit: [] });
  });

  it('refuses, without posting, a deferred command whose response_url is foreign (checked again in the run)', async () => {
    const outcome = await invokeDirectly(deferredEvent(slashTo('rollback checkout', 'https://evil.example/hooks')));

    expect(outcome).toEqual({ ran: false, refused: 'response_url must be https://hooks.slack.com/…, not https://evil.example' });
    expect({ posted, changes: changes(), audit: auditWrites() }).toEqual({ posted: [], changes: NO_CHANGES, audit: [] });
  });

  it('does not run a deferred command that reaches the function after its five-minute window, and says so', async () => {
    givenLock(baking());
    const late = deferredEvent(slash('rollback checkout', { timestamp: NOW_S - 301 }));

    const outcome = await invokeDirectly(late);

    expect(outcome).toEqual({ ran: false, refused: 'past its window' });
    expect(posted).toEqual([
      { url: RESPONSE_URL, message: ephemeral('Not run: `rollback checkout` reached Cutover more than 5 minutes after you sent it. Run status, and send it again if it still applies.') },
    ]);
    expect({ changes: changes(), audit: auditWrites() }).toEqual({ changes: NO_CHANGES, audit: [] });
  });

  it('answers clearly when the deferred run cannot be started, and has changed nothing', async () => {
    deps = chatDeps({ deferral: { defer: async () => Promise.reject(namedError('TooManyRequestsException', 429, 'Rate exceeded')) } });
    givenLock(baking());

    const answer = await invoke(slash('rollback checkout'));

    expect(slackAnswer(answer)).toEqual(ephemeral('Could not start `rollback checkout` (TooManyRequestsException); nothing was changed. Send it again.'));
    expect({ changes: changes(), audit: auditWrites() }).toEqual({ changes: NO_CHANGES, audit: [] });
  });

  it('posts a failure to response_url when the deferred run fails, and lets the error through to Lambda', async () => {
    givenLock(baking());
    aws.dynamo.on(UpdateCommand, { Key: LOCK_KEY }).rejects(namedError('InternalServerError', 500, 'Internal server error'));

    await invoke(slash('rollback checkout'));
    const run = runDeferred();

    await expect(run).rejects.toMatchObject({ name: ErrorName.AwsTransient });
    expect(posted).toEqual([
      { url: RESPONSE_URL, message: ephemeral(`\`rollback checkout\` failed (${ErrorName.AwsTransient}). Run status to see where the service stands, and send it again if needed.`) },
    ]);
  });

  it('logs a direct answer that took longer than its budget', async () => {
    let now = Date.parse(NOW);
    deps = chatDeps({
      clock: {
        now: () => {
          now += 1_100;
          return new Date(now);
        },
      },
    });

    await invoke(slash('help', { timestamp: Math.floor((now + 1_100) / 1000) }));

    expect(deps.log.lines.filter((l) => l.level === 'warn')).toEqual([
      { level: 'warn', message: 'slash command answered after its budget', fields: { text: 'help', ms: 2_200, budgetMs: ANSWER_BUDGET_MS } },
    ]);
  });
});

describe('chat handler: outside text in replies is escaped', () => {
  const TYPED = '<@U999> <!channel> see <https://evil.example|the runbook> & retry';
  const SHOWN = '&lt;@U999&gt; &lt;!channel&gt; see &lt;https://evil.example|the runbook&gt; &amp; retry';

  it('escapes the mention, the channel alert and the link of an operator reason in the reply, and records the reason as typed', async () => {
    const why = `rollback requested by ${BY}: ${TYPED}`;
    givenLock(baking());
    givenLockWriteReturns(baking({ abort: { error: ErrorName.RolloutAborted, reason: why, at: NOW } }));

    const answer = await invokeDeferred(slash(`rollback checkout ${TYPED}`));

    expect(slackAnswer(answer)).toEqual(inChannel(`Rolling back checkout now (${ROLLOUT_ID}): all traffic goes back to the retained revision. rollback requested by ${BY}: ${SHOWN}`));
    expect(fieldsSet(changes().lock[0]!)).toEqual({ abort: { error: ErrorName.RolloutAborted, reason: why, at: NOW } });
    expect(auditWrites()).toEqual([audited(`rollback checkout ${TYPED}`, 'accepted', { rolloutId: ROLLOUT_ID })]);
  });

  it('escapes an alarm reason in the status of a rollout that is aborting', async () => {
    givenLock(baking({ abort: { error: ErrorName.AlarmFired, reason: `alarm checkout-5xx in ALARM: ${TYPED}`, at: NOW } }));

    const answer = await invoke(slash('status checkout'));

    expect(slackAnswer(answer).text.split('\n')).toContain(`  aborting: alarm checkout-5xx in ALARM: ${SHOWN}`);
  });

  it("escapes the last rollout's reason in the status of an idle service", async () => {
    givenHistory([
      { service: 'checkout', rolloutId: ROLLOUT_ID, startedAt: '2026-11-24T09:40:00.000Z', endedAt: '2026-11-24T10:00:00.000Z', outcome: 'ROLLED_BACK', reason: `DeploymentFailed: ${TYPED}` },
    ]);

    const answer = await invoke(slash('status checkout'));

    expect(slackAnswer(answer).text.split('\n')[1]).toBe(`  last rollout ${ROLLOUT_ID}: ROLLED_BACK 20m ago (DeploymentFailed: ${SHOWN})`);
  });

  it('escapes reasons, triggers and commands as typed in history, and keeps the mentions Cutover built', async () => {
    givenHistory([
      {
        service: 'checkout',
        rolloutId: ROLLOUT_ID,
        startedAt: '2026-11-24T09:40:00.000Z',
        endedAt: '2026-11-24T10:00:00.000Z',
        outcome: 'ROLLED_BACK',
        trigger: 'ecr-push:<!here>',
        reason: `AlarmFired: ${TYPED}`,
      },
    ]);
    givenCommands([
      { service: 'checkout', at: '2026-11-24T10:01:00.000Z', user: ONCALL, channel: DEPLOYS, via: 'slack', text: `rollback checkout ${TYPED}`, rolloutId: ROLLOUT_ID, result: 'accepted' },
      { service: 'checkout', at: '2026-11-24T09:01:00.000Z', user: INTRUDER, channel: DEPLOYS, via: 'slack', text: 'rollback checkout', result: `refused: <@${INTRUDER}> may not steer checkout` },
    ]);

    const answer = await invoke(slash('history checkout'));

    expect(slackAnswer(answer).text.split('\n')).toEqual([
      '*checkout* rollouts:',
      `• 2026-11-24T09:40:00.000Z ${ROLLOUT_ID}: ROLLED_BACK (ecr-push:&lt;!here&gt;, took 20m, 40m ago) — AlarmFired: ${SHOWN}`,
      'commands:',
      `• 2026-11-24T10:01:00.000Z <@${ONCALL}>: rollback checkout ${SHOWN} → accepted`,
      `• 2026-11-24T09:01:00.000Z <@${INTRUDER}>: rollback checkout → refused: <@${INTRUDER}> may not steer checkout`,
    ]);
  });

  it('escapes the arguments promote does not take when it names them', async () => {
    givenLock(baking());

    const answer = await invoke(slash('promote checkout <!channel>'));

    expect(slackAnswer(answer)).toEqual(ephemeral('promote takes only --full, not "&lt;!channel&gt;"'));
    expect(changes()).toEqual(NO_CHANGES);
  });
});
