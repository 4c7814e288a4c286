/**
 * The CLI's read commands: `status [service] [--watch]`, `history <service>` and `plan <service>`, against a
 * deployed Cutover (`--stack`, the standard AWS credential chain) or a running `local up` (`--local`, over
 * 127.0.0.1). None of them changes anything. Each takes `--json`.
 */
import { userInfo } from 'node:os';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { execute } from '../functions/chat/commands';
import type { ServiceConfig } from '../functions/core/config';
import { formatDuration } from '../functions/core/plan';
import { readLocalServer } from '../infra/local/server';
import { awsCommandDeps, awsExecutionReader, awsPlanDeps, findTarget } from './aws-target';
import { buildPlan, type PlanPreview } from '../functions/read/plan';
import { renderPlan } from './plan';
import { changeKey, readStatus, watch, watchStep, WatchExit, type RolloutStatus } from '../functions/read/status';
import { renderStatus, wantsColor } from './view';

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

interface Where {
  readonly stack: string;
  readonly local?: boolean;
}

/** GETs a read-only route of the running `local up`. */
async function fromLocal<T>(path: string): Promise<T> {
  const { url } = readLocalServer();
  const res = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(30_000) });
  const body = (await res.json()) as T & { error?: string };
  if (res.status !== 200) throw new Error(body.error ?? `local environment answered ${res.status}`);
  return body;
}

/** Reads statuses from AWS or the local environment. */
async function statusReader(where: Where): Promise<{ names: string[]; read: (service: string) => Promise<RolloutStatus> }> {
  if (where.local) {
    const all = await fromLocal<RolloutStatus[]>('/status');
    return { names: all.map((s) => s.service), read: (service) => fromLocal<RolloutStatus>(`/status?service=${encodeURIComponent(service)}`) };
  }
  const target = await findTarget(where.stack);
  const deps = await awsCommandDeps(target);
  const executions = awsExecutionReader(target.stateMachineArn);
  const byName = (name: string): ServiceConfig => {
    const found = deps.services.find((s) => s.name === name);
    if (!found) throw new Error(`unknown service "${name}"; known: ${deps.services.map((s) => s.name).join(', ') || 'none'}`);
    return found;
  };
  return { names: deps.services.map((s) => s.name), read: (service) => readStatus(byName(service), { ...deps, executions }) };
}

/** Visible width of a line (ANSI colour codes take none). */
const visible = (line: string) => line.replace(/\x1b\[[0-9;]*m/g, '').length;

/**
 * Writes watch frames: on a TTY the view is redrawn in place every tick; anywhere else (a pipe, a CI log)
 * a frame is printed only when something in it changed (not the countdown), so a 5-minute bake is one
 * frame, not 300. With `json`, one JSON status per change (NDJSON).
 */
export function frameWriter(stream: NodeJS.WriteStream, options: { readonly color: boolean; readonly json: boolean }) {
  let rows = 0;
  let last = '';
  return (status: RolloutStatus, final: boolean) => {
    const key = changeKey(status);
    if (options.json) {
      if (key !== last || final) stream.write(`${JSON.stringify(status)}\n`);
      last = key;
      return;
    }
    const lines = renderStatus(status, { color: options.color });
    if (stream.isTTY) {
      if (rows) stream.write(`\x1b[${rows}F\x1b[J`);
      stream.write(`${lines.join('\n')}\n`);
      const columns = stream.columns || 80;
      rows = lines.reduce((n, l) => n + Math.max(1, Math.ceil(visible(l) / columns)), 0);
      return;
    }
    if (key === last && !final) return;
    stream.write(`${last ? '\n' : ''}${lines.join('\n')}\n`);
    last = key;
  };
}

const whereOptions = (command: Command) =>
  command
    .option('--stack <name>', 'the CloudFormation stack that holds the Cutover construct (AWS, standard credential chain)', process.env.CUTOVER_STACK ?? 'CutoverExample')
    .option('--local', 'read from the running `local up` on 127.0.0.1 instead of AWS');

/** Adds `status`, `history` and `plan` to the program. */
export function registerReadCommands(program: Command): void {
  whereOptions(
    program
      .command('status [service]')
      .description('the current rollout (progress across the plan, weights, bake time left, alarms, last decision) or the last result; all services when none is named')
      .option('--watch', 'follow the rollout live until it ends; exit code 0 succeeded, 1 rolled back / failed / refused, 2 --timeout reached')
      .option('--json', 'print the status as JSON (with --watch: one JSON object per change)')
      .addOption(new Option('--interval <duration>', 'with --watch: time between two reads').argParser(positiveSeconds).default(1, '1s'))
      .addOption(new Option('--timeout <duration>', 'with --watch: give up after this long (exit code 2)').argParser(positiveSeconds).default(2 * 3600, '2h'))
      .addOption(
        new Option('--wait-start <duration>', 'with --watch: when no rollout is in progress, wait this long for one to begin before reporting the last result')
          .argParser(parseDuration)
          .default(0, '0s'),
      )
      .addHelpText(
        'after',
        '\nExamples:\n  $ cutover status checkout --watch --stack CutoverExample   # a pipeline waits on the outcome\n  $ cutover status checkout --watch --local --wait-start 30s  # right after `cutover local push`\n  $ cutover status --json\n',
      ),
  ).action(async (service: string | undefined, opts: Where & { watch?: boolean; json?: boolean; interval: number; timeout: number; waitStart: number }) => {
    const reader = await statusReader(opts);
    if (opts.watch) {
      if (!service) throw new InvalidArgumentError('--watch needs a service: cutover status <service> --watch');
      const show = frameWriter(process.stdout, { color: wantsColor(process.stdout), json: Boolean(opts.json) });
      process.exitCode = await watch({ read: () => reader.read(service), show, intervalMs: opts.interval * 1000, timeoutMs: opts.timeout * 1000, waitStartMs: opts.waitStart * 1000 });
      if (process.exitCode === WatchExit.TIMED_OUT && !opts.json) console.error(`cutover: still running after ${formatDuration(Math.round(opts.timeout))} (--timeout)`);
      return;
    }
    const statuses = await Promise.all((service ? [service] : reader.names).map(async (name) => watchStep(undefined, await reader.read(name), false).view));
    if (opts.json) console.log(JSON.stringify(service ? statuses[0] : statuses));
    else console.log(statuses.map((s) => renderStatus(s, { color: wantsColor(process.stdout) }).join('\n')).join('\n\n'));
  });

  whereOptions(
    program
      .command('history <service>')
      .description('the last rollouts (outcome, trigger, duration, reason) and the last commands with who sent them')
      .option('--json', 'print them as JSON'),
  ).action(async (service: string, opts: Where & { json?: boolean }) => {
    if (opts.local) {
      const history = await fromLocal<{ rollouts: Array<Record<string, string | undefined>>; commands: Array<Record<string, string | undefined>> }>(`/history?service=${encodeURIComponent(service)}`);
      if (opts.json) return console.log(JSON.stringify(history));
      console.log(`${service} rollouts:`);
      for (const h of history.rollouts) console.log(`• ${h.startedAt} ${h.rolloutId}: ${h.outcome ?? 'RUNNING'}${h.reason ? ` — ${h.reason}` : ''}`);
      console.log('commands:');
      for (const c of history.commands) console.log(`• ${c.at} ${c.user}: ${c.text} → ${c.result}`);
      return;
    }
    const deps = await awsCommandDeps(await findTarget(opts.stack));
    if (opts.json) {
      if (!deps.services.some((s) => s.name === service)) throw new Error(`unknown service "${service}"`);
      const [rollouts, commands] = await Promise.all([deps.store.listHistory(service, 10), deps.store.listCommands(service, 10)]);
      return console.log(JSON.stringify({ service, rollouts, commands }));
    }
    const reply = await execute(`history ${service}`, { user: userInfo().username, via: 'cli' }, deps);
    console.log(reply.text.replace(/\*([^*]+)\*/g, '$1'));
    if (reply.status !== 200) process.exitCode = 1;
  });

  whereOptions(
    program
      .command('plan <service>')
      .description('dry run: the resources, the revision a rollout would register (task-definition diff), the steps with weights and bakes, the alarms and any pre-flight problem; changes nothing')
      .option('--image <repository@sha256:digest>', 'the image to preview (a digest, never a tag); default: the live image')
      .option('--json', 'print the preview as JSON')
      .addHelpText('after', '\nExit code 0 when pre-flight passes, 1 when a rollout would be refused.\n\nExample:\n  $ cutover plan checkout --image checkout@sha256:4c30… --local\n'),
  ).action(async (service: string, opts: Where & { image?: string; json?: boolean }) => {
    let plan: PlanPreview;
    if (opts.local) {
      plan = await fromLocal<PlanPreview>(`/plan?service=${encodeURIComponent(service)}${opts.image ? `&image=${encodeURIComponent(opts.image)}` : ''}`);
    } else {
      const target = await findTarget(opts.stack);
      const { services } = await awsCommandDeps(target);
      const config = services.find((s) => s.name === service);
      if (!config) throw new Error(`unknown service "${service}"; known: ${services.map((s) => s.name).join(', ') || 'none'}`);
      plan = await buildPlan(config, opts.image, awsPlanDeps(target));
    }
    console.log(opts.json ? JSON.stringify(plan) : renderPlan(plan, { color: wantsColor(process.stdout) }).join('\n'));
    if (plan.problems.length) process.exitCode = 1;
  });
}
