#!/usr/bin/env -S npx tsx
/**
 * The Cutover CLI.
 *
 * @example
 * npm run demo                                   # a full canary rollout on the local runtime
 * npm run demo -- --scenario alarm --json        # alarm during the 25% step → rollback; JSON on the last line
 * npm run cutover -- local event test/fixtures/events/ecr-push.json
 */
// The pinned SDK supports Node 20; its notice about future releases is noise in a CLI's output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { readEndState, runDemo, SCENARIOS, type Scenario } from '../infra/local/demo';
import { LocalRuntime } from '../infra/local/runtime';

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
      `${result.outcome}: blue ${result.weights.blue} / green ${result.weights.green}; live ${result.liveSlot} on ${result.liveTaskDefinition}` +
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
      console.log(`${runtime.env.service.name}: blue ${end.weights.blue} / green ${end.weights.green}, live ${end.liveSlot} on ${end.liveTaskDefinition}`);
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

program.parseAsync(process.argv).catch((error: Error) => {
  console.error(`cutover: ${error.message}`);
  process.exit(1);
});
