/**
 * The read commands' actions: `status [service] [--watch]`, `history <service>` and `plan <service>`, against
 * a deployed Cutover (`--stack`, `--cutover`, the standard AWS credential chain) or a running `local up`
 * (`--local`, over 127.0.0.1). None of them changes anything. Loaded only when one of them runs; the local
 * client only with `--local`.
 */
import { formatDuration } from '../functions/core/plan';
import type { CommandRecord, HistoryRecord } from '../functions/core/ports';
import type { ServiceConfig } from '../functions/core/config';
import { renderHistory } from '../functions/read/history';
import { buildPlan, type PlanPreview } from '../functions/read/plan';
import { renderPlan } from '../functions/read/plan-view';
import { changeKey, readStatus, watch, watchStep, WatchExit, type RolloutStatus } from '../functions/read/status';
import { renderStatus, wantsColor } from '../functions/read/view';
import type { TargetChoice } from './aws-target';
import { CliError, ExitCode } from './exit';

export interface Where extends TargetChoice {
  readonly local?: boolean;
}

const unknownService = (name: string, services: readonly { name: string }[]) => new CliError(`unknown service "${name}"; known: ${services.map((s) => s.name).join(', ') || 'none'}`, ExitCode.REFUSED);

/** Reads statuses from AWS or the local environment. */
async function statusReader(where: Where): Promise<{ names: string[]; read: (service: string) => Promise<RolloutStatus> }> {
  if (where.local) {
    const { fromLocal } = await import('./local-commands');
    const all = await fromLocal<RolloutStatus[]>('/status');
    return { names: all.map((s) => s.service), read: (service) => fromLocal<RolloutStatus>(`/status?service=${encodeURIComponent(service)}`) };
  }
  const { awsCommandDeps, awsExecutionReader, findTarget } = await import('./aws-target');
  const target = await findTarget(where);
  const deps = await awsCommandDeps(target);
  const executions = awsExecutionReader(target.stateMachineArn);
  const byName = (name: string): ServiceConfig => {
    const found = deps.services.find((s) => s.name === name);
    if (!found) throw unknownService(name, deps.services);
    return found;
  };
  return { names: deps.services.map((s) => s.name), read: (service) => readStatus(byName(service), { ...deps, executions }) };
}

/** Visible width of a line (ANSI colour codes take none). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: ESC starts an ANSI colour code, which is what is removed.
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

export async function status(service: string | undefined, opts: Where & { watch?: boolean; json?: boolean; interval: number; timeout: number; waitStart: number }): Promise<void> {
  if (opts.watch && !service) throw new CliError('--watch needs a service: cutover status <service> --watch', ExitCode.REFUSED);
  const reader = await statusReader(opts);
  if (opts.watch) {
    const show = frameWriter(process.stdout, { color: wantsColor(process.stdout), json: Boolean(opts.json) });
    process.exitCode = await watch({ read: () => reader.read(service!), show, intervalMs: opts.interval * 1000, timeoutMs: opts.timeout * 1000, waitStartMs: opts.waitStart * 1000 });
    if (process.exitCode === WatchExit.TIMED_OUT && !opts.json) console.error(`cutover: still running after ${formatDuration(Math.round(opts.timeout))} (--timeout)`);
    return;
  }
  const statuses = await Promise.all((service ? [service] : reader.names).map(async (name) => watchStep(undefined, await reader.read(name), false).view));
  if (opts.json) console.log(JSON.stringify(service ? statuses[0] : statuses));
  else console.log(statuses.map((s) => renderStatus(s, { color: wantsColor(process.stdout) }).join('\n')).join('\n\n'));
}

export async function history(service: string, opts: Where & { json?: boolean }): Promise<void> {
  let found: { rollouts: HistoryRecord[]; commands: CommandRecord[] };
  if (opts.local) {
    const { fromLocal } = await import('./local-commands');
    found = await fromLocal<{ rollouts: HistoryRecord[]; commands: CommandRecord[] }>(`/history?service=${encodeURIComponent(service)}`);
  } else {
    const { awsCommandDeps, findTarget } = await import('./aws-target');
    const deps = await awsCommandDeps(await findTarget(opts));
    if (!deps.services.some((s) => s.name === service)) throw unknownService(service, deps.services);
    const [rollouts, commands] = await Promise.all([deps.store.listHistory(service, 10), deps.store.listCommands(service, 10)]);
    found = { rollouts, commands };
  }
  if (opts.json) return console.log(JSON.stringify({ service, rollouts: found.rollouts, commands: found.commands }));
  console.log(renderHistory(service, found.rollouts, found.commands, new Date()).join('\n'));
}

export async function plan(service: string, opts: Where & { image?: string; json?: boolean }): Promise<void> {
  let preview: PlanPreview;
  if (opts.local) {
    const { fromLocal } = await import('./local-commands');
    preview = await fromLocal<PlanPreview>(`/plan?service=${encodeURIComponent(service)}${opts.image ? `&image=${encodeURIComponent(opts.image)}` : ''}`);
  } else {
    const { awsCommandDeps, awsPlanDeps, findTarget } = await import('./aws-target');
    const target = await findTarget(opts);
    const { services } = await awsCommandDeps(target);
    const config = services.find((s) => s.name === service);
    if (!config) throw unknownService(service, services);
    try {
      preview = await buildPlan(config, opts.image, awsPlanDeps(target));
    } catch (error) {
      if (/^--image /.test((error as Error).message)) throw new CliError((error as Error).message, ExitCode.REFUSED, { cause: error });
      throw error;
    }
  }
  console.log(opts.json ? JSON.stringify(preview) : renderPlan(preview, { color: wantsColor(process.stdout) }).join('\n'));
  // A rollout that would be refused, or would roll back at its first alarm check, would not succeed.
  if (preview.problems.length || (preview.rollsBackAtOnce ?? []).length) process.exitCode = ExitCode.NOT_SUCCEEDED;
}
