#!/usr/bin/env -S npx tsx
/**
 * The Cutover CLI.
 *
 * @example
 * npm run demo                                   # a full canary rollout on the local runtime
 * npm run demo -- --scenario alarm --json        # alarm during the 25% step → rollback; JSON on the last line
 * npm run cutover -- local event test/fixtures/events/ecr-push.json
 * npm run cutover -- status checkout --watch --local     # follow a rollout of `local up` to its end
 * npm run cutover -- plan checkout --image checkout@sha256:… --stack CutoverExample
 */
// The pinned SDK supports Node 20; its notice about future releases is noise in a CLI's output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { userInfo } from 'node:os';
import { execute } from '../functions/chat/commands';
import { signSlackRequest } from '../functions/chat/slack-signature';
import { randomUUID } from 'node:crypto';
import { weightsText } from '../functions/core/rollout';
import { progressPrinter, readEndState, runDemo, SCENARIOS, type Scenario } from '../infra/local/demo';
import { DEMO_CHAT, LocalRuntime } from '../infra/local/runtime';
import { readLocalServer, serveLocal } from '../infra/local/server';
import { awsCommandDeps, findTarget } from './aws-target';
import { registerReadCommands } from './read-commands';

const positive = (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number');
  return n;
};

const program = new Command()
  .name('cutover')
  .description('Canary rollouts for ECS services behind an ALB: event-driven, immutable, with instant rollback.')
  .showHelpAfterError();

program
  .command('demo')
  .description('run a full rollout locally (moto_server on loopback, the real state machine and handlers); no AWS account needed')
  .addOption(new Option('--scenario <name>', 'what happens during the rollout').choices(SCENARIOS).default('happy'))
  .option('--json', 'print the end state as one JSON object on the last line of stdout')
  .option('--time-scale <factor>', 'multiply bake, wait and rollback-window durations (5 minutes × 0.005 = 1.5 s)', positive, 0.005)
  .action(async (opts: { scenario: Scenario; json?: boolean; timeScale: number }) => {
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
  });

const local = program.command('local').description('work with the local runtime');
local
  .command('event <file>')
  .description('deliver a saved EventBridge event (ECR push, alarm state change) to the function its rule targets, and run what it starts to the end')
  .option('--json', 'print the result as one JSON object on the last line of stdout')
  .option('--time-scale <factor>', 'multiply bake, wait and rollback-window durations', positive, 0.005)
  .action(async (file: string, opts: { json?: boolean; timeScale: number }) => {
    let event: unknown;
    try {
      event = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      console.error(`cannot read ${file}: ${(error as Error).message}`);
      process.exitCode = 2;
      return;
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
      const end = await readEndState(runtime, runtime.env.service);
      console.log(`${runtime.env.service.name}: ${weightsText(end.weights)}, live ${end.liveSlot} on ${end.liveTaskDefinition}`);
      if (delivery.error) process.exitCode = 1;
      if (opts.json) {
        console.log(
          JSON.stringify({
            rule: delivery.rule ?? null,
            target: delivery.target ?? null,
            result: delivery.result ?? null,
            error: delivery.error ?? null,
            executions: executions.map((e) => ({ name: e.name, status: e.status, endState: e.endState, error: e.error, states: e.states })),
            weights: end.weights,
            liveSlot: end.liveSlot,
            liveTaskDefinition: end.liveTaskDefinition,
          }),
        );
      }
    } finally {
      await runtime.stop();
    }
  });

local
  .command('up')
  .description('keep a local environment running on 127.0.0.1 (until Ctrl-C), so other terminals can push, fire alarms and send slash commands to it')
  .option('--port <port>', 'port to listen on (default: any free port)', (v) => Number(v), 0)
  .option('--time-scale <factor>', 'multiply bake, wait and rollback-window durations (5 minutes × 0.05 = 15 s)', positive, 0.05)
  .action(async (opts: { port: number; timeScale: number }) => {
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
    console.log(`local Cutover at ${server.info.url} (emulator ${runtime.emulator.endpoint}); ${runtime.env.service.name}: blue live, green idle`);
    console.log('in another terminal:');
    console.log('  npm run cutover -- local push v2                 # push an image: a rollout starts');
    console.log('  npm run cutover -- status checkout --watch --local --wait-start 30s   # follow it to its end');
    console.log('  npm run cutover -- local slack "status checkout"  # a signed /cutover command');
    console.log('  npm run cutover -- local alarm checkout-5xx       # an alarm goes into ALARM');
    console.log('Ctrl-C stops it.');
  });

/** POSTs to the running `local up`. */
async function toLocal(path: string, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) {
  const { url } = readLocalServer();
  const res = await fetch(`${url}${path}`, { method: 'POST', headers, body, signal: AbortSignal.timeout(30_000) });
  return { status: res.status, text: await res.text() };
}

local
  .command('push [tag]')
  .description('push a new image to the running local environment\'s ECR; its push event starts a rollout')
  .action(async (tag: string | undefined) => {
    const { status, text } = await toLocal('/push', JSON.stringify({ tag }));
    console.log(text);
    if (status !== 200) process.exitCode = 1;
  });

local
  .command('alarm [name]')
  .description('put an alarm of the running local environment into ALARM, and deliver its state-change event')
  .action(async (name: string | undefined) => {
    const { status, text } = await toLocal('/alarm', JSON.stringify({ alarm: name }));
    console.log(text);
    if (status !== 200) process.exitCode = 1;
  });

local
  .command('slack <text...>')
  .description('sign a /cutover slash command as Slack does and send it to the running local environment')
  .option('--user <id>', 'Slack user ID', DEMO_CHAT.user)
  .option('--channel <id>', 'Slack channel ID', DEMO_CHAT.channel)
  .action(async (words: string[], opts: { user: string; channel: string }) => {
    const { signingSecret, slackResponseUrl, url } = readLocalServer();
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
      process.exitCode = 1;
      return;
    }
    const followUp = await fetch(`${url}/slack/follow-up?url=${encodeURIComponent(responseUrl)}`, { signal: AbortSignal.timeout(60_000) });
    if (followUp.ok) console.log((await followUp.json() as { text: string }).text);
  });

/** The operator commands against a deployed Cutover (standard AWS credential chain). */
function operatorCommand(verb: string, usage: string, description: string) {
  program
    .command(`${verb} ${usage}`)
    .description(description)
    .option('--stack <name>', 'the CloudFormation stack that holds the Cutover construct', process.env.CUTOVER_STACK ?? 'CutoverExample')
    .option('--full', 'promote: go straight to 100%')
    .allowExcessArguments(false)
    .action(async (...args: unknown[]) => {
      const opts = args[args.length - 2] as { stack: string; full?: boolean };
      const words = (args.slice(0, -2) as Array<string | string[] | undefined>).flat().filter((w): w is string => typeof w === 'string');
      const text = [verb, ...words, ...(opts.full ? ['--full'] : [])].join(' ');
      const deps = await awsCommandDeps(await findTarget(opts.stack));
      const reply = await execute(text, { user: userInfo().username, via: 'cli' }, deps);
      console.log(reply.text.replace(/\*([^*]+)\*/g, '$1'));
      if (reply.status !== 200) process.exitCode = 1;
    });
}
operatorCommand('rollback', '<service> [reason...]', 'abort the rollout now; after completion, within the rollback window, restore the retained revision');
operatorCommand('promote', '<service>', 'end the current bake or manual gate (--full: straight to 100%)');
operatorCommand('pause', '<service>', 'hold at the current weight after the current step, until resume');
operatorCommand('resume', '<service>', 'go on after a pause');
// Read commands (status [--watch], history, plan): against AWS or the running local environment.
registerReadCommands(program);

program.parseAsync(process.argv).catch((error: Error) => {
  console.error(`cutover: ${error.message}`);
  process.exit(1);
});
