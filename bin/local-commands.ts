/**
 * The commands that run the local runtime in this process (`demo`, `local event`, `local up`) and the ones
 * that talk to a running `local up` over 127.0.0.1 (`local push`, `local alarm`, `local slack`, and the
 * `--local` side of `status`, `history`, `plan`, `retry`). Loaded only when one of them runs: it pulls in
 * the emulator, the local state-machine runner and every handler.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { signSlackRequest } from '../functions/chat/slack-signature';
import { weightsText } from '../functions/core/rollout';
import { progressPrinter, readEndState, runDemo, type Scenario } from '../infra/local/demo';
import { LocalRuntime } from '../infra/local/runtime';
import { readLocalServer, serveLocal } from '../infra/local/server';
import { CliError, ExitCode, exitCodeOfOutcomes, exitCodeOfReply } from './exit';

/** The running `local up`, or exit code 4 saying how to start one. */
function localServer() {
  try {
    return readLocalServer();
  } catch (error) {
    throw new CliError((error as Error).message, ExitCode.UNREACHABLE, { cause: error });
  }
}

/** POSTs to the running `local up`. */
export async function toLocal(path: string, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) {
  const { url } = localServer();
  let res: Response;
  try {
    res = await fetch(`${url}${path}`, { method: 'POST', headers, body, signal: AbortSignal.timeout(30_000) });
  } catch (error) {
    throw new CliError(`the local environment at ${url} does not answer (${(error as Error).message}): is \`cutover local up\` still running?`, ExitCode.UNREACHABLE, { cause: error });
  }
  return { status: res.status, text: await res.text() };
}

/** GETs a read-only route of the running `local up`. */
export async function fromLocal<T>(path: string): Promise<T> {
  const { url } = localServer();
  let res: Response;
  try {
    res = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(30_000) });
  } catch (error) {
    throw new CliError(`the local environment at ${url} does not answer (${(error as Error).message}): is \`cutover local up\` still running?`, ExitCode.UNREACHABLE, { cause: error });
  }
  const body = (await res.json()) as T & { error?: string };
  if (res.status !== 200) throw new CliError(body.error ?? `local environment answered ${res.status}`, res.status === 404 || res.status === 400 ? ExitCode.REFUSED : ExitCode.NOT_SUCCEEDED);
  return body;
}

export async function demo(opts: { scenario: Scenario; json?: boolean; timeScale: number }): Promise<void> {
  const result = await runDemo({ scenario: opts.scenario, timeScale: opts.timeScale, print: (line) => console.log(line) });
  const { history: _history, ...shown } = result;
  console.log('');
  console.log(
    `${result.outcome}: ${weightsText(result.weights)}; live ${result.liveSlot} on ${result.liveTaskDefinition}` +
      (result.retainedTaskDefinition ? `; retained ${result.retainedTaskDefinition}` : '') +
      (result.idleSlot ? `; ${result.idleSlot} on ${result.idleTaskDefinition} (${result.idleDesiredCount} tasks)` : ''),
  );
  if (result.reason) console.log(`reason: ${result.reason}`);
  if (opts.json) {
    console.log(
      JSON.stringify({
        scenario: shown.scenario,
        outcome: shown.outcome === 'SUCCEEDED' || shown.outcome === 'ROLLED_BACK' ? shown.outcome : 'FAILED',
        weights: shown.weights,
        liveSlot: shown.liveSlot,
        liveTaskDefinition: shown.liveTaskDefinition,
        retainedTaskDefinition: shown.retainedTaskDefinition,
        idleSlot: shown.idleSlot,
        idleTaskDefinition: shown.idleTaskDefinition,
        image: shown.image,
        states: shown.states,
        reason: shown.reason,
        executions: shown.executions,
      }),
    );
  }
}

export async function localEvent(file: string, opts: { json?: boolean; timeScale: number }): Promise<void> {
  let event: unknown;
  try {
    event = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new CliError(`cannot read ${file}: ${(error as Error).message}`, ExitCode.REFUSED, { cause: error });
  }
  const runtime = await LocalRuntime.start({
    timeScale: opts.timeScale,
    onEvent: (e) => {
      if (e.type === 'ExecutionSucceeded' || e.type === 'ExecutionFailed') console.log(`${e.execution}: ended in "${e.state}"${e.error ? ` (${e.error})` : ''}`);
    },
  });
  try {
    const delivery = await runtime.deliver(event);
    if (!delivery.rule) console.log('no rule matches this event: nothing was delivered');
    else console.log(`rule ${delivery.rule} → function ${delivery.target}: ${delivery.error ? `${delivery.error.name}: ${delivery.error.message}` : JSON.stringify(delivery.result)}`);
    const executions = await runtime.sfn.waitAll();
    const service = runtime.env.service;
    const history = await runtime.ports.store.listHistory(service.name, 20);
    // Each rollout's outcome and why, from its record: a refusal says what pre-flight found.
    const ran = executions.map((e) => {
      const record = history.find((h) => h.rolloutId === e.name);
      const outcome = record?.outcome && record.outcome !== 'RUNNING' ? record.outcome : e.status === 'SUCCEEDED' ? 'SUCCEEDED' : 'FAILED';
      return { name: e.name, status: e.status, endState: e.endState, error: e.error, states: e.states, outcome, reason: record?.reason ?? e.cause };
    });
    for (const r of ran) console.log(`${r.name}: ${r.outcome}${r.reason ? ` — ${r.reason}` : ''}`);
    const end = await readEndState(runtime, service);
    console.log(`${service.name}: ${weightsText(end.weights)}, live ${end.liveSlot} on ${end.liveTaskDefinition}`);
    process.exitCode = delivery.error ? ExitCode.REFUSED : exitCodeOfOutcomes(ran.map((r) => r.outcome));
    if (opts.json) {
      console.log(
        JSON.stringify({
          rule: delivery.rule ?? null,
          target: delivery.target ?? null,
          result: delivery.result ?? null,
          error: delivery.error ?? null,
          executions: ran,
          weights: end.weights,
          liveSlot: end.liveSlot,
          liveTaskDefinition: end.liveTaskDefinition,
        }),
      );
    }
  } finally {
    await runtime.stop();
  }
}

export async function localUp(opts: { port: number; timeScale: number }): Promise<void> {
  const { onEvent } = progressPrinter((line) => console.log(line));
  const runtime = await LocalRuntime.start({ timeScale: opts.timeScale, onEvent });
  const server = await serveLocal(runtime, opts.port, undefined, { timeScale: opts.timeScale });
  const stop = async () => {
    await server.close();
    await runtime.stop();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  console.log(`local Cutover at ${server.info.url} (emulator ${runtime.emulator.endpoint}, DynamoDB ${runtime.emulator.dynamodbEndpoint}); ${runtime.env.service.name}: blue live, green idle`);
  console.log('in another terminal:');
  console.log('  npx cutover local push v2                                  # push an image: a rollout starts');
  console.log('  npx cutover status checkout --watch --local --wait-start 30s   # follow it to its end');
  console.log('  npx cutover local slack "status checkout"                  # a signed /cutover command');
  console.log('  npx cutover local alarm checkout-5xx                       # an alarm goes into ALARM (--ok clears it)');
  console.log('  npx cutover retry checkout --local                         # run the last failed image again');
  console.log('Ctrl-C stops it.');
}

export async function localPush(tag: string | undefined): Promise<void> {
  const { status, text } = await toLocal('/push', JSON.stringify({ tag }));
  console.log(text);
  if (status !== 200) process.exitCode = ExitCode.REFUSED;
}

export async function localAlarm(name: string | undefined, opts: { ok?: boolean }): Promise<void> {
  const { status, text } = await toLocal('/alarm', JSON.stringify({ alarm: name, ...(opts.ok ? { state: 'OK' } : {}) }));
  console.log(text);
  if (status !== 200) process.exitCode = ExitCode.REFUSED;
}

export async function localSlack(words: string[], opts: { user: string; channel: string }): Promise<void> {
  const { signingSecret, slackResponseUrl, url } = localServer();
  // The local stand-in for Slack receives what a deferred command (a rollback) posts to response_url.
  const responseUrl = `${slackResponseUrl}/${randomUUID()}`;
  const body = new URLSearchParams({ command: '/cutover', text: words.join(' '), user_id: opts.user, channel_id: opts.channel, response_url: responseUrl }).toString();
  const timestamp = Math.floor(Date.now() / 1000);
  const { status, text } = await toLocal('/slack', body, {
    'content-type': 'application/x-www-form-urlencoded',
    'x-slack-request-timestamp': String(timestamp),
    'x-slack-signature': signSlackRequest(signingSecret, body, timestamp),
  });
  console.log(status === 200 ? (JSON.parse(text) as { text: string }).text : `${status}: ${text}`);
  if (status !== 200) {
    process.exitCode = exitCodeOfReply(status);
    return;
  }
  const followUp = await fetch(`${url}/slack/follow-up?url=${encodeURIComponent(responseUrl)}`, { signal: AbortSignal.timeout(60_000) });
  if (followUp.ok) console.log(((await followUp.json()) as { text: string }).text);
}
