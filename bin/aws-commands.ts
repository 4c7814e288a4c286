/**
 * The operator commands against a deployed Cutover (`rollback`/`abort`, `promote`, `pause`, `resume`) and
 * `retry`, over AWS with the standard credential chain, or (`retry --local`) against a running `local up`.
 * Loaded only when one of them runs.
 */
import { userInfo } from 'node:os';
import { execute } from '../functions/chat/commands';
import { retryRollout, type RetryResult } from '../functions/start/retry';
import { awsCommandDeps, findTarget, type TargetChoice } from './aws-target';
import { CliError, ExitCode, exitCodeOfReply } from './exit';

/** Slack's `*bold*` as plain text for a terminal. */
const plain = (text: string) => text.replace(/\*([^*]+)\*/g, '$1');

/** Runs one of the chat commands (`rollback checkout bad latency`) as the CLI user, and prints the reply. */
export async function operator(text: string, where: TargetChoice): Promise<void> {
  const deps = await awsCommandDeps(await findTarget(where));
  const reply = await execute(text, { user: userInfo().username, via: 'cli' }, deps);
  console.log(plain(reply.text));
  process.exitCode = exitCodeOfReply(reply.status);
}

const retryText = (r: RetryResult) =>
  r.alreadyStarted
    ? `${r.service}: the retry ${r.rolloutId} of ${r.retryOf} was started already; follow it with: cutover status ${r.service} --watch`
    : `${r.service}: retrying ${r.retryOf} (${r.outcome}) as ${r.rolloutId}, image ${r.image}; follow it with: cutover status ${r.service} --watch`;

/** `retry <service>`: starts the last failed, refused or rolled-back rollout's image again. */
export async function retry(service: string, opts: TargetChoice & { local?: boolean; json?: boolean }): Promise<void> {
  let result: RetryResult;
  if (opts.local) {
    const { toLocal } = await import('./local-commands');
    const { status, text } = await toLocal('/retry', JSON.stringify({ service, user: userInfo().username }));
    const body = JSON.parse(text) as RetryResult & { error?: string };
    if (status !== 200) throw new CliError(body.error ?? `local environment answered ${status}`, ExitCode.REFUSED);
    result = body;
  } else {
    const deps = await awsCommandDeps(await findTarget(opts));
    const config = deps.services.find((s) => s.name === service);
    if (!config) throw new CliError(`unknown service "${service}"; known: ${deps.services.map((s) => s.name).join(', ') || 'none'}`, ExitCode.REFUSED);
    try {
      result = await retryRollout(config, userInfo().username, deps);
    } catch (error) {
      if ((error as Error).name === 'NothingToRetry') throw new CliError((error as Error).message, ExitCode.REFUSED, { cause: error });
      throw error;
    }
  }
  console.log(opts.json ? JSON.stringify(result) : retryText(result));
}
