/**
 * The Cutover CLI's entry point. It only declares the commands and their options: each command's module
 * is imported when that command runs, so `--help`, `--version` and the AWS commands never load the local
 * runtime (the emulator, the local state-machine runner, every handler), and `--help` loads no SDK client.
 * `scripts/build-cli.mjs` compiles it to `dist/cli/cutover.mjs`, one chunk per command module.
 *
 * @example
 * npx cutover demo                                        # a full canary rollout on the local runtime
 * npx cutover demo --scenario alarm --json                # alarm during the 25% step → rollback; JSON on the last line
 * npx cutover local event test/fixtures/events/ecr-push.json
 * npx cutover status checkout --watch --local             # follow a rollout of `local up` to its end
 * npx cutover plan checkout --image checkout@sha256:… --stack CutoverExample
 */
// The pinned SDK supports Node 20; its notice about future releases is noise in a CLI's output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { describeFailure, ExitCode } from './exit';

/** Set by `scripts/build-cli.mjs` from package.json; read from it when run from source. */
declare const CUTOVER_VERSION: string | undefined;
const version = (): string => (typeof CUTOVER_VERSION === 'string' ? CUTOVER_VERSION : (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version);

/** The demo's scenarios and its chat identity (`infra/local/demo.ts`, `runtime.ts`; a test keeps them equal), here so `--help` needs neither. */
export const SCENARIOS = ['happy', 'alarm', 'unstable', 'busy', 'broken-old', 'regression'] as const;
export const DEMO_CHAT = { channel: 'CDEMO0CUTOVER', user: 'UDEMO0OPERATOR' } as const;

const positive = (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number');
  return n;
};

/** `90`, `90s`, `15m`, `2h`, `1h30m` → seconds. */
export function parseDuration(text: string): number {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t);
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$/.exec(t);
  if (!m || t === '' || (!m[1] && !m[2] && !m[3])) throw new InvalidArgumentError('a duration such as 90s, 15m, 2h or 1h30m');
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}

const positiveSeconds = (text: string) => {
  const s = parseDuration(text);
  if (!(s > 0)) throw new InvalidArgumentError('must be more than 0');
  return s;
};

const EXIT_CODES =
  '\nExit codes (every command):\n' +
  '  0  done; every rollout it ran or followed succeeded (plan: a rollout would start and go on)\n' +
  '  1  a rollout it ran or followed was rolled back, failed, refused or superseded (plan: would be refused or roll back)\n' +
  '  2  status --watch: still running at --timeout\n' +
  '  3  refused, nothing changed: usage error, unreadable or malformed input, unknown service, a command Cutover refused\n' +
  '  4  Cutover could not be reached: no AWS credentials or Region, no such stack or Cutover, no local environment running\n';

/** The program: every command and option, and the module each command's action lives in. */
export function buildProgram(): Command {
  const program = new Command()
    .name('cutover')
    .description('Canary rollouts for ECS services behind an ALB: event-driven, immutable, with instant rollback.')
    .version(version(), '-V, --version', 'print the version')
    .showHelpAfterError()
    // Usage errors (unknown option, bad value) follow the one exit-code table; help and --version exit 0.
    .exitOverride((error) => process.exit(error.exitCode === 0 ? ExitCode.OK : ExitCode.REFUSED))
    .addHelpText('after', EXIT_CODES);

  const stack = () =>
    new Option('--stack <name>', 'the CloudFormation stack that holds the Cutover construct (AWS, standard credential chain)').default(
      process.env.CUTOVER_STACK ?? 'CutoverExample',
      '$CUTOVER_STACK or CutoverExample',
    );
  const cutover = () => new Option('--cutover <id>', 'which Cutover of the stack (its construct id or path), when the stack holds several');
  const local = (what: string) => new Option('--local', `${what} the running \`cutover local up\` on 127.0.0.1 instead of AWS`);
  const timeScale = (fallback: number, example: string) => new Option('--time-scale <factor>', `multiply bake, wait and rollback-window durations (${example})`).argParser(positive).default(fallback);

  program
    .command('demo')
    .description('run a full rollout locally (moto_server on loopback, the real state machine and handlers); no AWS account needed')
    .addOption(new Option('--scenario <name>', 'what happens during the rollout').choices(SCENARIOS).default('happy'))
    .option('--json', 'print the end state as one JSON object on the last line of stdout')
    .addOption(timeScale(0.005, '5 minutes × 0.005 = 1.5 s'))
    .action(async (opts) => (await import('./local-commands')).demo(opts));

  const localCmd = program.command('local').description('work with the local runtime');
  localCmd
    .command('event <file>')
    .description('deliver a saved EventBridge event (ECR push, alarm state change) to the function its rule targets, run what it starts to the end, and say how each rollout ended and why')
    .option('--json', 'print the result as one JSON object on the last line of stdout (each rollout with its outcome and reason)')
    .addOption(timeScale(0.005, '5 minutes × 0.005 = 1.5 s'))
    .action(async (file, opts) => (await import('./local-commands')).localEvent(file, opts));
  localCmd
    .command('up')
    .description('keep a local environment running on 127.0.0.1 (until Ctrl-C), so other terminals can push, fire alarms and send slash commands to it')
    .option('--port <port>', 'port to listen on (default: any free port)', (v) => Number(v), 0)
    .addOption(timeScale(0.05, '5 minutes × 0.05 = 15 s'))
    .action(async (opts) => (await import('./local-commands')).localUp(opts));
  localCmd
    .command('push [tag]')
    .description("push a new image to the running local environment's ECR; its push event starts a rollout")
    .action(async (tag) => (await import('./local-commands')).localPush(tag));
  localCmd
    .command('alarm [name]')
    .description('put an alarm of the running local environment into ALARM and deliver its state-change event (--ok: back to OK)')
    .option('--ok', 'clear the alarm: set it back to OK')
    .action(async (name, opts) => (await import('./local-commands')).localAlarm(name, opts));
  localCmd
    .command('slack <text...>')
    .description('sign a /cutover slash command as Slack does and send it to the running local environment')
    .option('--user <id>', 'Slack user ID', DEMO_CHAT.user)
    .option('--channel <id>', 'Slack channel ID', DEMO_CHAT.channel)
    .action(async (words, opts) => (await import('./local-commands')).localSlack(words, opts));

  // The operator commands against a deployed Cutover, the same as in Slack.
  const operator = (usage: string, description: string, extra: (c: Command) => Command = (c) => c) =>
    extra(program.command(usage).description(description).addOption(stack()).addOption(cutover()).allowExcessArguments(false));
  const sendTo = () => local('send it, as the demo operator, to');
  const send = async (words: Array<string | string[] | undefined>, opts: { stack: string; cutover?: string; full?: boolean; local?: boolean }, verb: string) => {
    const all = [verb, ...words.flat().filter((w): w is string => typeof w === 'string'), ...(opts.full ? ['--full'] : [])];
    // Locally the command goes the way Slack's does: signed, to the chat function of `local up`.
    if (opts.local) return (await import('./local-commands')).localSlack(all, DEMO_CHAT);
    return (await import('./aws-commands')).operator(all.join(' '), opts);
  };
  operator(
    'rollback <service> [reason...]',
    'during a rollout (alias: abort): abort it now, all traffic back on the retained revision; after it completed, within the rollback window: restore the retained revision',
    (c) => c.alias('abort').addOption(sendTo()),
  ).action(async (service, reason, opts) => send([service, reason], opts, 'rollback'));
  operator('promote <service>', 'end the current bake or manual gate (--full: straight to 100%)', (c) => c.option('--full', 'skip the remaining steps: straight to 100%').addOption(sendTo())).action(
    async (service, opts) => send([service], opts, 'promote'),
  );
  operator('pause <service>', 'hold at the current weight after the current step, until resume', (c) => c.addOption(sendTo())).action(async (service, opts) => send([service], opts, 'pause'));
  operator('resume <service>', 'go on after a pause', (c) => c.addOption(sendTo())).action(async (service, opts) => send([service], opts, 'resume'));
  operator('retry <service>', "run the last failed, refused or rolled-back rollout's image again, without a new push (same checks, lock and concurrency policy as a push)", (c) =>
    c.addOption(local('start it in')).option('--json', 'print the started rollout as JSON'),
  ).action(async (service, opts) => (await import('./aws-commands')).retry(service, opts));

  // The read commands: against AWS or the running local environment; none changes anything.
  program
    .command('status [service]')
    .description('the current rollout (progress across the plan, weights, bake time left, alarms, last decision) or the last result; all services when none is named')
    .addOption(stack())
    .addOption(cutover())
    .addOption(local('read from'))
    .option('--json', 'print the status as JSON (with --watch: one JSON object per change)')
    .option('--watch', 'follow the rollout live until it ends; exit code 0 succeeded, 1 rolled back / failed / refused / superseded, 2 --timeout reached')
    .addOption(new Option('--interval <duration>', 'with --watch: time between two reads').argParser(positiveSeconds).default(1, '1s'))
    .addOption(new Option('--timeout <duration>', 'with --watch: give up after this long (exit code 2)').argParser(positiveSeconds).default(2 * 3600, '2h'))
    .addOption(
      new Option('--wait-start <duration>', 'with --watch: when no rollout is in progress, wait this long for one to begin; if none does, the last result, saying there was none new (or none yet)')
        .argParser(parseDuration)
        .default(0, '0s'),
    )
    .addHelpText(
      'after',
      '\nExamples:\n  $ cutover status checkout --watch --stack CutoverExample   # a pipeline waits on the outcome\n  $ cutover status checkout --watch --local --wait-start 30s  # right after `cutover local push`\n  $ cutover status --json\n',
    )
    .action(async (service, opts) => (await import('./read-commands')).status(service, opts));
  program
    .command('history <service>')
    .description('the last rollouts (outcome, trigger, duration, reason) and the last commands with who sent them')
    .addOption(stack())
    .addOption(cutover())
    .addOption(local('read from'))
    .option('--json', 'print them as JSON')
    .action(async (service, opts) => (await import('./read-commands')).history(service, opts));
  program
    .command('plan <service>')
    .description(
      'dry run: the resources, the revision a rollout would register (task-definition diff), the steps with weights and bakes, the alarms, any pre-flight problem and any alarm that would roll it back at once; changes nothing',
    )
    .addOption(stack())
    .addOption(cutover())
    .addOption(local('read from'))
    .option('--image <repository@sha256:digest>', 'the image to preview (a digest, never a tag); default: the live image')
    .option('--json', 'print the preview as JSON')
    .addHelpText(
      'after',
      '\nExit code 0 when a rollout would start and go on; 1 when it would be refused or roll back at once (an alarm in ALARM).\n\nExample:\n  $ cutover plan checkout --image checkout@sha256:4c30… --local\n',
    )
    .action(async (service, opts) => (await import('./read-commands')).plan(service, opts));
  return program;
}

/** Runs the CLI on `argv`; an error ends it with its exit code from the one table and a message on stderr. */
export async function main(argv: readonly string[]): Promise<void> {
  try {
    await buildProgram().parseAsync([...argv]);
  } catch (error) {
    const { exitCode, message } = describeFailure(error);
    console.error(`cutover: ${message}`);
    process.exitCode = exitCode;
  }
}

// Run when executed (`node dist/cli/cutover.mjs`, `tsx bin/cutover.ts`), not when a test imports it.
if (/(^|[\\/])cutover(\.ts|\.mjs|\.js)?$/.test(process.argv[1] ?? '')) void main(process.argv);
