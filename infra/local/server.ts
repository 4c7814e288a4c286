/**
 * `cutover local up`: the local runtime kept running, reachable on 127.0.0.1 so other terminals can act on
 * it the way Slack, ECR and CloudWatch would:
 * - `POST /slack`  a slash command, exactly as Slack sends it (form body, signature headers) → the chat function
 * - `GET  /slack/follow-up?url=<response_url>`  what a deferred command posted to its `response_url` (on the
 *   runtime's stand-in for Slack, `slackResponseUrl` in the state file), once it has; 404 if it was answered directly
 * - `POST /events` an EventBridge event → the function its rule targets
 * - `POST /push`   `{ "tag": "v2" }`: push a new image to the local ECR and deliver its push event
 * - `POST /alarm`  `{ "alarm": "checkout-5xx" }`: put an alarm into ALARM and deliver its event
 *   (`"state": "OK"`: clear it, back to OK)
 * - `POST /retry`  `{ "service": "checkout", "user": "alice" }`: `cutover retry --local` (functions/start/retry.ts)
 * - `GET  /state`  the service's end state, read from the emulator
 * - `GET  /status?service=checkout`  the rollout status the CLI's `status` shows (functions/read/status.ts), read-only
 * - `GET  /plan?service=checkout&image=repo@sha256:…`  what a rollout would do (functions/read/plan.ts), read-only
 * - `GET  /history?service=checkout`  the last rollouts and commands, read-only
 * Its address and the local signing secret are written to `.cutover/local.json` for the other commands.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { CloudWatchClient, SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import { buildPlan } from '../../functions/read/plan';
import { retryRollout } from '../../functions/start/retry';
import { decisionOf, readStatus, resultKeys, type ExecutionReader, type RolloutStatus } from '../../functions/read/status';
import { readRolloutDefinition } from '../../state-machines/definition';
import { fireAlarm, pushAndDeliver, readEndState } from './demo';
import { clientConfig } from './environment';
import { alarmStateChangeEvent } from './events';
import { LOCAL_SIGNING_SECRET, type LocalRuntime } from './runtime';
import type { LocalStepFunctions } from './sfn';

export const STATE_FILE = join('.cutover', 'local.json');

export interface LocalServerInfo {
  readonly url: string;
  readonly signingSecret: string;
  readonly emulator: string;
  readonly pid: number;
  /** Base of the `response_url`s the runtime's stand-in for Slack receives (`<slackResponseUrl>/<id>`). */
  readonly slackResponseUrl: string;
  /** The moto_server process it started (none for an emulator given by `AWS_ENDPOINT_URL`). */
  readonly emulatorPid?: number;
  /** Every moto_server process it started (the main one and DynamoDB's). */
  readonly emulatorPids?: readonly number[];
  /** Where DynamoDB is served (`AWS_ENDPOINT_URL_DYNAMODB` for the AWS CLI or an SDK). */
  readonly dynamodbEmulator: string;
}

/** No `local up` is running for this directory (no state file, or one left by a process that is gone). */
export class LocalServerNotRunningError extends Error {
  override readonly name = 'LocalServerNotRunning';
}

/** Another `local up` is running for this directory. */
export class LocalServerRunningError extends Error {
  override readonly name = 'LocalServerRunning';
}

/**
 * Whether a process runs: signal 0 tests it without touching it. A zombie (exited, not yet reaped by its
 * parent) counts as gone: on Linux its state in `/proc/<pid>/stat` is `Z`.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

const START_HINT = 'start one with "npm run cutover -- local up"';

/**
 * Reads the state file as it is: the server it names if that process still runs; `stale` when the file names
 * a process that is gone or cannot be read (a `local up` killed hard never removes it).
 */
function inspectStateFile(stateFile: string): { info?: LocalServerInfo; stale?: string } {
  if (!existsSync(stateFile)) return {};
  let info: LocalServerInfo;
  try {
    info = JSON.parse(readFileSync(stateFile, 'utf8')) as LocalServerInfo;
  } catch (error) {
    return { stale: `${stateFile} cannot be read (${(error as Error).message})` };
  }
  if (typeof info.pid !== 'number' || !processAlive(info.pid)) return { stale: `the local environment in ${stateFile} (pid ${info.pid}, ${info.url}) is no longer running` };
  return { info };
}

const MAX_BODY = 256 * 1024;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString();
      if (body.length > MAX_BODY) reject(new Error('request too large'));
    });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

/** Puts an alarm back to OK (`cutover local alarm <name> --ok`) and delivers its state-change event. */
async function clearAlarm(runtime: LocalRuntime, alarmName: string, reason: string) {
  const cw = new CloudWatchClient(clientConfig(runtime.emulator.endpoint));
  try {
    await cw.send(new SetAlarmStateCommand({ AlarmName: alarmName, StateValue: 'OK', StateReason: reason }));
  } finally {
    cw.destroy();
  }
  return runtime.deliver(alarmStateChangeEvent({ alarmName, state: 'OK', reason }));
}

/** The local executions' progress: the state each entered last and the newest decision its states wrote. */
export function localExecutionReader(sfn: LocalStepFunctions): ExecutionReader {
  const keys = resultKeys(JSON.parse(readRolloutDefinition()));
  return {
    async progress(rolloutId) {
      const execution = sfn.executions.get(rolloutId);
      if (!execution) return undefined;
      const events = execution.events;
      const entered = events.findLast((e) => e.type === 'StateEntered');
      for (let i = events.length - 1; i >= 0; i--) {
        const e = events[i]!;
        const text = e.type === 'StateExited' && e.state ? decisionOf(e.state, e.output, keys) : undefined;
        if (text) return { status: execution.status, state: entered?.state, decision: { state: e.state!, text } };
      }
      return { status: execution.status, state: entered?.state };
    },
  };
}

/**
 * A status with the bake or gate of the rollout in progress ending when it ends here: the lock records the
 * plan's length, the local runner waits that length × `timeScale`.
 */
export function scaledStatus(status: RolloutStatus, timeScale: number): RolloutStatus {
  const wait = status.active?.wait;
  if (!wait?.until || timeScale === 1) return status;
  const since = Date.parse(wait.since);
  const until = new Date(since + (Date.parse(wait.until) - since) * timeScale).toISOString();
  return { ...status, active: { ...status.active!, wait: { ...wait, until } } };
}

export interface ServeOptions {
  /** The runtime's time scale, so `GET /status` shows the time a bake has left here. @default 1 */
  readonly timeScale?: number;
}

/**
 * Serves the runtime on 127.0.0.1:`port` (0: any free port) and writes the state file. Refuses when another
 * `local up` is running for this directory; removes a stale state file (its process gone) and says so in
 * `staleRemoved`.
 */
export async function serveLocal(
  runtime: LocalRuntime,
  port = 0,
  stateFile = STATE_FILE,
  options: ServeOptions = {},
): Promise<{ info: LocalServerInfo; staleRemoved?: string; close: () => Promise<void> }> {
  const scale = (status: RolloutStatus) => scaledStatus(status, options.timeScale ?? 1);
  const server = createServer(async (req, res) => {
    const json = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    try {
      const body = req.method === 'POST' ? await readBody(req) : '';
      const parse = () => (body ? (JSON.parse(body) as Record<string, unknown>) : {});
      if (req.method === 'POST' && req.url === '/slack') {
        const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v ?? '')]));
        const reply = await runtime.slackRaw(body, headers);
        res.writeHead(reply.statusCode, { 'content-type': reply.body.startsWith('{') ? 'application/json' : 'text/plain' });
        return res.end(reply.body);
      }
      if (req.method === 'GET' && req.url?.startsWith('/slack/follow-up?')) {
        const responseUrl = new URL(req.url, 'http://127.0.0.1').searchParams.get('url') ?? '';
        if (!runtime.deferredRuns.has(responseUrl)) return json(404, { error: `no deferred command for ${responseUrl}: it was answered directly` });
        return json(200, await runtime.followUp(responseUrl));
      }
      if (req.method === 'POST' && req.url === '/events') return json(200, await runtime.deliver(parse()));
      if (req.method === 'POST' && req.url === '/push') {
        const tag = String(parse().tag ?? `v${Date.now()}`);
        const pushed = await pushAndDeliver(runtime, tag);
        return json(200, { tag, digest: pushed.digest, started: pushed.executions, delivery: pushed.delivery });
      }
      if (req.method === 'POST' && req.url === '/alarm') {
        const alarm = String(parse().alarm ?? runtime.env.service.alarms[0]);
        if (parse().state === 'OK') return json(200, await clearAlarm(runtime, alarm, String(parse().reason ?? 'cleared from the command line')));
        return json(200, await fireAlarm(runtime, alarm, String(parse().reason ?? 'set from the command line')));
      }
      if (req.method === 'POST' && req.url === '/retry') {
        const name = String(parse().service ?? runtime.env.service.name);
        const service = runtime.ports.services.find((s) => s.name === name);
        if (!service) return json(404, { error: `unknown service "${name}"; known: ${runtime.ports.services.map((s) => s.name).join(', ')}` });
        try {
          return json(200, await retryRollout(service, String(parse().user ?? 'local'), runtime.ports));
        } catch (error) {
          if ((error as Error).name === 'NothingToRetry') return json(409, { error: (error as Error).message });
          throw error;
        }
      }
      if (req.method === 'GET' && /^\/(status|plan|history)(\?|$)/.test(req.url ?? '')) {
        const url = new URL(req.url!, 'http://127.0.0.1');
        const executions = localExecutionReader(runtime.sfn);
        if (url.pathname === '/status' && !url.searchParams.has('service')) {
          return json(200, await Promise.all(runtime.ports.services.map(async (s) => scale(await readStatus(s, { ...runtime.ports, executions })))));
        }
        const name = url.searchParams.get('service') ?? runtime.env.service.name;
        const service = runtime.ports.services.find((s) => s.name === name);
        if (!service) return json(404, { error: `unknown service "${name}"; known: ${runtime.ports.services.map((s) => s.name).join(', ')}` });
        if (url.pathname === '/status') return json(200, scale(await readStatus(service, { ...runtime.ports, executions })));
        if (url.pathname === '/plan') return json(200, await buildPlan(service, url.searchParams.get('image') ?? undefined, runtime.ports));
        const [rollouts, commands] = await Promise.all([runtime.ports.store.listHistory(service.name, 10), runtime.ports.store.listCommands(service.name, 10)]);
        return json(200, { service: service.name, rollouts, commands });
      }
      if (req.method === 'GET' && req.url === '/state') {
        const { history: _h, ...end } = await readEndState(runtime, runtime.env.service);
        return json(200, end);
      }
      return json(404, { error: `no route ${req.method} ${req.url}` });
    } catch (error) {
      return json(400, { error: (error as Error).message });
    }
  });
  // One `local up` per directory: the other commands find it through this one file.
  const existing = inspectStateFile(stateFile);
  if (existing.info && existing.info.pid !== process.pid) {
    throw new LocalServerRunningError(`a local environment is already running here (pid ${existing.info.pid}, ${existing.info.url}): stop it first (Ctrl-C in its terminal)`);
  }
  if (existing.stale) rmSync(stateFile, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const info: LocalServerInfo = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    signingSecret: LOCAL_SIGNING_SECRET,
    emulator: runtime.emulator.endpoint,
    pid: process.pid,
    slackResponseUrl: runtime.slackApi.responseUrl,
    emulatorPid: runtime.emulator.pid,
    emulatorPids: runtime.emulator.pids,
    dynamodbEmulator: runtime.emulator.dynamodbEndpoint,
  };
  mkdirSync(dirname(stateFile), { recursive: true });
  writeFileSync(stateFile, JSON.stringify(info, null, 2));
  return {
    info,
    staleRemoved: existing.stale,
    close: async () => {
      // Only our own file: another `local up` may have started here since (after this one's file was removed).
      if (inspectStateFile(stateFile).info?.pid === process.pid) rmSync(stateFile, { force: true });
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * The running `local up`, from its state file. A file whose process is gone (a `local up` killed hard) is
 * removed, and the error says so.
 */
export function readLocalServer(stateFile = STATE_FILE): LocalServerInfo {
  const { info, stale } = inspectStateFile(stateFile);
  if (info) return info;
  if (stale) {
    rmSync(stateFile, { force: true });
    throw new LocalServerNotRunningError(`${stale}: removed the stale file; ${START_HINT}`);
  }
  throw new LocalServerNotRunningError(`no local environment is running here (${stateFile} not found): ${START_HINT}`);
}
