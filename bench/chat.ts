/**
 * Slack's 3 seconds: the chat function's cold path. Each trial is a fresh `node` process that imports the
 * chat bundle (built as the construct builds it: `bundle()` of ./bundles) and handles one first request, with
 * every AWS call going to moto on 127.0.0.1:
 * - `status <service>`, answered directly: the signing secret (Secrets Manager), the signature, the request's
 *   claim (DynamoDB) and the reads (lock, listener, alarms, history, ECS);
 * - `rollback <service>` after a completed rollout, acknowledged: the same up to the claim, then Lambda's asynchronous `Invoke` of the
 *   function itself (a stand-in for Lambda's API on 127.0.0.1 queues it);
 * - its deferred run, in another fresh process: the secret, the run's claim, the restore after completion
 *   (lock, fences, weights, the old slot, records) and the post to `response_url` (the local stand-in for
 *   Slack: `infra/local/slack.ts`). Not bound by Slack's 3 s; measured to show what the acknowledgement spares.
 *
 * From the parts measured here (CPU of the import and of the request, the AWS calls and the services they
 * went to) a figure for AWS is modelled: Lambda gives a function CPU in proportion to its memory (one vCPU
 * at 1,769 MB), so CPU time is scaled by 1,769 ÷ memory; Lambda's own part of a cold start and each AWS
 * call cost the public figures the reaction model uses (`AWS_FIGURES` of ./reaction-model); each new
 * connection (TCP and TLS, which moto on http does not have) costs an assumed {@link MODEL}.connectMs.
 */
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client, RegisterTargetsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { awsEcs } from '../functions/aws/ecs';
import { awsStore } from '../functions/aws/store';
import { awsTraffic } from '../functions/aws/traffic';
import { signSlackRequest } from '../functions/chat/slack-signature';
import { clientConfig, DEMO, provision, type DemoEnvironment } from '../infra/local/environment';
import type { Emulator } from '../infra/local/moto';
import { startLocalSlack, type LocalSlack } from '../infra/local/slack';
import { bundle } from './bundles';
import { AWS_FIGURES } from './reaction-model';
import { round, summarize, type Summary } from './stats';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Slack's limit for the answer to a slash command, the whole cold start included. */
export const SLACK_LIMIT_MS = 3_000;

/**
 * The model's own figures, beside `AWS_FIGURES` (Lambda's part of a cold start, one AWS call).
 * @see https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html (one vCPU at 1,769 MB)
 */
export const MODEL = {
  /** Memory at which a Lambda function has one vCPU: CPU time scales by this ÷ the function's memory. */
  fullVcpuMb: 1769,
  /** Assumed, not measured: a new connection (DNS, TCP, TLS) to a service's endpoint, once per service per environment. */
  connectMs: 50,
} as const;

export type ChatPath = 'direct' | 'acknowledgement' | 'deferred run';

/** One fresh process: its import and its first request. */
export interface ChatTrial {
  readonly importMs: number;
  readonly importCpuMs: number;
  readonly requestMs: number;
  readonly requestCpuMs: number;
  /** AWS calls the request made, by service (from each call's SigV4 scope). */
  readonly calls: Readonly<Record<string, number>>;
  /** The part from the invocation's start, modelled for AWS. */
  readonly modelledRequestMs: number;
  /** The whole cold start (Lambda's part, the import, the request), modelled for AWS. */
  readonly modelledColdMs: number;
  /** Whether the request did what it should (answered 200, queued the run, restored the traffic). */
  readonly ok: boolean;
  readonly error?: string;
}

export interface ChatCommandResult {
  readonly command: string;
  readonly path: ChatPath;
  readonly trials: readonly ChatTrial[];
  readonly importMs: Summary;
  readonly requestMs: Summary;
  readonly cpuMs: Summary;
  readonly modelledRequestMs: Summary;
  readonly modelledColdMs: Summary;
  /** AWS calls of the first trial, by service. */
  readonly calls: Readonly<Record<string, number>>;
  readonly allOk: boolean;
}

export interface ChatResult {
  readonly node: string;
  readonly spawns: number;
  readonly memoryMb: number;
  readonly cpuScale: number;
  readonly model: typeof MODEL & { readonly coldStartMs: number; readonly callMs: number };
  readonly commands: readonly ChatCommandResult[];
}

export interface ChatOptions {
  readonly emulator: Emulator;
  /** Fresh processes per command. */
  readonly spawns: number;
  /** The chat function's memory on AWS (the construct's default), for the model. */
  readonly memoryMb: number;
}

/**
 * The child: redirects Slack's response_url to the local stand-in (no network here), counts the AWS calls
 * through node's http diagnostics channel, imports the bundle, runs the handler once. Its result is the last
 * line of stdout (the handler's own log lines come before it).
 */
const CHILD = [
  "const dc = await import('node:diagnostics_channel');",
  'const calls = {};',
  "dc.subscribe('http.client.request.start', ({ request }) => { const scope = /Credential=[^/]+\\/[^/]+\\/[^/]+\\/([^/]+)\\//.exec(String(request.getHeader('authorization') ?? '')); const service = scope ? scope[1] : 'other:' + request.host; calls[service] = (calls[service] ?? 0) + 1; });",
  'const realFetch = globalThis.fetch;',
  "globalThis.fetch = (url, init) => realFetch(String(url).replace('https://hooks.slack.com/commands/', process.env.BENCH_SLACK_RESPONSES + '/'), init);",
  'const [file, eventJson] = process.argv.slice(1);',
  'const c0 = process.cpuUsage(); const t0 = performance.now();',
  'const mod = await import(file);',
  'const importMs = performance.now() - t0; const ic = process.cpuUsage(c0);',
  'const context = { functionName: process.env.AWS_LAMBDA_FUNCTION_NAME, functionVersion: "$LATEST", invokedFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:" + process.env.AWS_LAMBDA_FUNCTION_NAME, memoryLimitInMB: "256", awsRequestId: crypto.randomUUID(), logGroupName: "/aws/lambda/chat", logStreamName: "bench", getRemainingTimeInMillis: () => 30000 };',
  'for (const k of Object.keys(calls)) delete calls[k];',
  'const c1 = process.cpuUsage(); const t1 = performance.now();',
  'let result, error;',
  'try { result = await mod.handler(JSON.parse(eventJson), context); } catch (e) { error = String(e && e.name) + ": " + String(e && e.message).slice(0, 300); }',
  'const requestMs = performance.now() - t1; const rc = process.cpuUsage(c1);',
  "process.stdout.write('\\n' + JSON.stringify({ importMs, importCpuMs: (ic.user + ic.system) / 1000, requestMs, requestCpuMs: (rc.user + rc.system) / 1000, calls, result, error }) + '\\n');",
].join('\n');

interface ChildOut {
  importMs: number;
  importCpuMs: number;
  requestMs: number;
  requestCpuMs: number;
  calls: Record<string, number>;
  result?: { statusCode?: number; body?: string; ran?: boolean; status?: number };
  error?: string;
}

/** Runs the child on `file` with `event`; asynchronously, as the stand-ins it calls live in this process. */
async function runChild(file: string, event: unknown, env: Record<string, string>): Promise<ChildOut> {
  const out = await new Promise<{ stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', CHILD, file, JSON.stringify(event)],
      { cwd: ROOT, encoding: 'utf8', env, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
      (_error, stdout, stderr) => resolve({ stdout, stderr }),
    );
  });
  const last = out.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(last) as ChildOut;
  } catch {
    return { importMs: Number.NaN, importCpuMs: Number.NaN, requestMs: Number.NaN, requestCpuMs: Number.NaN, calls: {}, error: (out.stderr || out.stdout).slice(-300) };
  }
}

/** A stand-in for Lambda's `Invoke` API on 127.0.0.1: queues `Event` invocations (202) and keeps their payloads. */
async function startLambdaApi(): Promise<{ url: string; queued: unknown[]; stop(): Promise<void> }> {
  const queued: unknown[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      if (req.method !== 'POST' || !/^\/2015-03-31\/functions\/[^/]+\/invocations$/.test(req.url ?? '') || req.headers['x-amz-invocation-type'] !== 'Event') {
        res.writeHead(400, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ message: 'only Event invocations' }));
      }
      queued.push(JSON.parse(body) as unknown);
      res.writeHead(202, { 'content-type': 'application/json' });
      res.end('');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, queued, stop: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** A slash command as Slack sends it to the Function URL, signed now, with a response_url of its own. */
function slashEvent(text: string, signingSecret: string, responseId: string) {
  const body = new URLSearchParams({
    team_id: 'TBENCH',
    channel_id: 'CDEMO0CUTOVER',
    user_id: 'UDEMO0OPERATOR',
    command: '/cutover',
    text,
    response_url: `https://hooks.slack.com/commands/${responseId}`,
    trigger_id: `${Date.now()}.${responseId}`,
  }).toString();
  const timestamp = Math.floor(Date.now() / 1000);
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: '/',
    rawQueryString: '',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': String(timestamp), 'x-slack-signature': signSlackRequest(signingSecret, body, timestamp) },
    requestContext: { http: { method: 'POST', path: '/', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'Slackbot 1.0' } },
    body,
    isBase64Encoded: false,
  };
}

/** The service as a rollout left it: green live at 100% with a SUCCEEDED record, blue still warm (the rollback window). */
async function seedCompletedRollout(env: DemoEnvironment, trial: number): Promise<void> {
  const cfg = clientConfig(env.endpoint);
  const { service } = env;
  const ecs = awsEcs(new ECSClient(cfg));
  const traffic = awsTraffic(new ElasticLoadBalancingV2Client(cfg));
  const store = awsStore(env.tableName, new DynamoDBClient(clientConfig(env.dynamodbEndpoint)));
  await ecs.updateService(service.cluster, service.slots.green.serviceName, { taskDefinition: env.initialTaskDefinitionArn, desiredCount: DEMO.desiredCount });
  await traffic.setWeights(service.listenerArn, [
    { targetGroupArn: service.slots.blue.targetGroupArn, weight: 0 },
    { targetGroupArn: service.slots.green.targetGroupArn, weight: 100 },
  ]);
  // ECS registers the warm old slot's tasks in its target group (moto does not); the restore checks that they
  // are healthy before it moves the traffic (moto reports a registered IP target healthy).
  const elb = new ElasticLoadBalancingV2Client(cfg);
  const targets = Array.from({ length: DEMO.desiredCount }, (_, i) => ({ Id: `10.0.1.${10 + i}`, Port: 8080 }));
  await elb.send(new RegisterTargetsCommand({ TargetGroupArn: service.slots.blue.targetGroupArn, Targets: targets }));
  elb.destroy();
  const now = new Date();
  await store.putHistory({
    service: service.name,
    rolloutId: `bench-chat-${trial}-${now.getTime()}`,
    startedAt: new Date(now.getTime() - 60_000).toISOString(),
    endedAt: now.toISOString(),
    outcome: 'SUCCEEDED',
    image: env.initialImage,
    liveSlot: 'green',
    newTaskDefinitionArn: env.initialTaskDefinitionArn,
    retainedTaskDefinitionArn: env.initialTaskDefinitionArn,
    weights: { blue: 0, green: 100 },
    reason: 'seeded by the chat benchmark',
  });
}

/** Whether the listener is back at 100% on blue. */
async function restored(env: DemoEnvironment): Promise<boolean> {
  const forward = await awsTraffic(new ElasticLoadBalancingV2Client(clientConfig(env.endpoint))).readForward(env.service.listenerArn);
  return forward?.weights[env.service.slots.blue.targetGroupArn] === 100 && (forward.weights[env.service.slots.green.targetGroupArn] ?? 0) === 0;
}

/** The model: CPU scaled to the function's share of a vCPU, plus Lambda's part, the calls and the connections. */
function model(out: ChildOut, cpuScale: number): { request: number; cold: number } {
  const calls = Object.values(out.calls).reduce((a, b) => a + b, 0);
  const services = Object.keys(out.calls).length;
  const request = cpuScale * out.requestCpuMs + calls * AWS_FIGURES.callMs.value + services * MODEL.connectMs;
  return { request, cold: AWS_FIGURES.coldStartMs.value + cpuScale * out.importCpuMs + request };
}

/** Runs the chat benchmark on `emulator` (its own environment, `chatbench`); stops everything it started. */
export async function runChat(options: ChatOptions): Promise<ChatResult> {
  const outRoot = join(ROOT, 'node_modules', '.cache', 'cutover-bench-chat');
  mkdirSync(outRoot, { recursive: true });
  const { file } = await bundle('chat', 'bundled', outRoot);
  const env = await provision(options.emulator, { name: 'chatbench' });
  const signingSecret = `bench-signing-secret-${Date.now()}`;
  const sm = new SecretsManagerClient(clientConfig(options.emulator.endpoint));
  const secret = await sm.send(new CreateSecretCommand({ Name: `cutover/bench-chat-${Date.now()}`, SecretString: signingSecret }));
  sm.destroy();

  const cpuScale = Math.max(1, MODEL.fullVcpuMb / options.memoryMb);
  let slack: LocalSlack | undefined;
  let lambdaApi: Awaited<ReturnType<typeof startLambdaApi>> | undefined;
  try {
    slack = await startLocalSlack();
    lambdaApi = await startLambdaApi();
    const childEnv: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      AWS_REGION: DEMO.region,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_ENDPOINT_URL: options.emulator.endpoint,
      AWS_ENDPOINT_URL_DYNAMODB: options.emulator.dynamodbEndpoint,
      AWS_ENDPOINT_URL_LAMBDA: lambdaApi.url,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      AWS_LAMBDA_FUNCTION_NAME: 'cutover-chat',
      POWERTOOLS_SERVICE_NAME: 'cutover',
      POWERTOOLS_METRICS_NAMESPACE: 'Cutover',
      TABLE_NAME: env.tableName,
      CUTOVER_SERVICES: JSON.stringify([env.service]),
      STATE_MACHINE_ARN: `arn:aws:states:${DEMO.region}:${DEMO.account}:stateMachine:cutover-bench`,
      SLACK_SIGNING_SECRET_ARN: secret.ARN!,
      BENCH_SLACK_RESPONSES: slack.responseUrl,
    };

    const runs: Record<ChatPath, Array<{ out: ChildOut; ok: boolean }>> = { direct: [], acknowledgement: [], 'deferred run': [] };
    for (let n = 0; n < options.spawns; n += 1) {
      const status = await runChild(file, slashEvent(`status ${env.service.name}`, signingSecret, `status-${n}`), childEnv);
      const statusText = status.result?.statusCode === 200 ? ((JSON.parse(status.result.body ?? '{}') as { text?: string }).text ?? '') : '';
      runs.direct.push({ out: status, ok: !status.error && statusText.startsWith(`*${env.service.name}*`) });

      await seedCompletedRollout(env, n);
      const responseId = `rollback-${n}-${Date.now()}`;
      const ack = await runChild(file, slashEvent(`rollback ${env.service.name}`, signingSecret, responseId), childEnv);
      const payload = lambdaApi.queued.shift();
      runs.acknowledgement.push({ out: ack, ok: !ack.error && ack.result?.statusCode === 200 && payload !== undefined });

      const run = payload
        ? await runChild(file, payload, childEnv)
        : { importMs: Number.NaN, importCpuMs: Number.NaN, requestMs: Number.NaN, requestCpuMs: Number.NaN, calls: {}, error: 'nothing was queued' };
      const posted = slack.responses.find((r) => r.url === `${slack!.responseUrl}/${responseId}`);
      runs['deferred run'].push({ out: run, ok: !run.error && run.result?.ran === true && (posted?.text ?? '').startsWith(`Restored ${env.service.name}`) && (await restored(env)) });
    }
    const commands: ChatCommandResult[] = (
      [
        [`status ${env.service.name}`, 'direct'],
        [`rollback ${env.service.name}`, 'acknowledgement'],
        [`rollback ${env.service.name}`, 'deferred run'],
      ] as const
    ).map(([command, path]) => {
      const trials: ChatTrial[] = runs[path].map(({ out, ok }) => {
        const m = model(out, cpuScale);
        return {
          importMs: round(out.importMs, 1),
          importCpuMs: round(out.importCpuMs, 1),
          requestMs: round(out.requestMs, 1),
          requestCpuMs: round(out.requestCpuMs, 1),
          calls: out.calls,
          modelledRequestMs: round(m.request, 0),
          modelledColdMs: round(m.cold, 0),
          ok,
          ...(out.error ? { error: out.error } : {}),
        };
      });
      const good = trials.filter((t) => t.ok);
      return {
        command,
        path,
        trials,
        importMs: summarize(
          good.map((t) => t.importMs),
          1,
        ),
        requestMs: summarize(
          good.map((t) => t.requestMs),
          1,
        ),
        cpuMs: summarize(
          good.map((t) => t.importCpuMs + t.requestCpuMs),
          1,
        ),
        modelledRequestMs: summarize(
          good.map((t) => t.modelledRequestMs),
          0,
        ),
        modelledColdMs: summarize(
          good.map((t) => t.modelledColdMs),
          0,
        ),
        calls: trials[0]?.calls ?? {},
        allOk: trials.length > 0 && trials.every((t) => t.ok),
      };
    });
    const figures = { ...MODEL, coldStartMs: AWS_FIGURES.coldStartMs.value, callMs: AWS_FIGURES.callMs.value };
    return { node: process.version, spawns: options.spawns, memoryMb: options.memoryMb, cpuScale: round(cpuScale, 2), model: figures, commands };
  } finally {
    await lambdaApi?.stop();
    await slack?.stop();
  }
}
