/**
 * `/cutover <verb> <service> [args]`: the operator commands, shared by the Slack endpoint and the CLI.
 *
 * Every command acts through the same paths the alarms use: `rollback` records an abort on the service's
 * lock and fails the waiting task token, `promote` succeeds it, `pause` / `resume` set the lock's pause and
 * succeed the hold's token. Each takes effect at once, at the latest at the next state.
 *
 * Replies are Slack text (the CLI prints them too): every piece from outside (an operator's reason, a
 * command as typed, alarm and ECS reasons in records) goes through {@link slackText} where it enters a
 * reply, so it cannot mention a channel or a user or add a link. Records keep such text as it came; only
 * the mentions Cutover builds itself (`<@user>` of the operator who sent the command) stay live.
 */
import type { ServiceConfig } from '../core/config';
import { ErrorName } from '../core/errors';
import { restoreAfterCompletion } from '../core/restore';
import {
  realSleep,
  type Alarms,
  type Clock,
  type CommandRecord,
  type Ecs,
  type Executions,
  type HistoryRecord,
  type LockRecord,
  type Log,
  type Notifier,
  type RolloutStore,
  type Sleep,
  type Traffic,
  type AnalysisAlarms,
} from '../core/ports';
import { describeStep, formatDuration } from '../core/plan';
import { liveSlotFromWeights, type Weights } from '../core/rollout';
import { driftProblems } from '../core/drift';
import { abortRollout } from '../core/abort';
import { isDead, recoverService } from '../core/ownership';
import { slackText } from '../core/slack-text';
import { readStatus } from '../read/status';
import { cohortStatusText } from '../core/test-cohort';

export const VERBS = ['status', 'rollback', 'promote', 'pause', 'resume', 'history', 'help'] as const;
export type Verb = (typeof VERBS)[number];

export interface Command {
  readonly verb: Verb;
  readonly service?: string;
  readonly args: readonly string[];
}

/** Who sent the command, and from where. */
export interface Actor {
  /** Slack user ID (`U0123ABCD`) or the CLI user's name. */
  readonly user: string;
  /** Slack channel ID. */
  readonly channel?: string;
  /** CLI callers are authorised by IAM; Slack callers by each service's `chat` access list. */
  readonly via: 'slack' | 'cli';
}

/** The answer: an HTTP-like status and the text the operator sees. */
export interface Reply {
  readonly status: 200 | 202 | 400 | 403 | 404 | 409;
  readonly text: string;
}

export interface CommandDeps {
  readonly services: readonly ServiceConfig[];
  readonly store: RolloutStore;
  readonly executions: Executions;
  readonly alarms: Alarms;
  readonly traffic: Traffic;
  readonly ecs: Ecs;
  readonly clock: Clock;
  readonly log: Log;
  /** Link to a rollout's execution (by its name, the rollout id) in the console. @default none */
  readonly executionUrl?: (rolloutId: string) => string;
  /** Rollout messages (a recovery posts one). @default none */
  readonly notifier?: Notifier;
  readonly leaseMs?: number;
  /** @default real time */
  readonly sleep?: Sleep;
  /** Deletes a dead rollout's canary analysis alarms when a command recovers its service. @default none */
  readonly analysis?: AnalysisAlarms;
}

export const HELP = [
  'Usage: /cutover <command> [service] [args]',
  '  status [service]            current rollout or last result (all services when none is named)',
  '  rollback <service> [reason] abort the rollout now; after completion, within the rollback window, restore the retained revision',
  '  promote <service> [--full]  end the current bake or manual gate; --full goes straight to 100%',
  '  pause <service>             hold at the current weight after the current step, until resume',
  '  resume <service>            go on after a pause',
  '  history <service>           the last rollouts and commands',
].join('\n');

/** Parses the text after `/cutover`. Unknown verbs and malformed service names are reported, not guessed. */
export function parseCommand(text: string): Command | { error: string } {
  const words = text.trim().split(/\s+/).filter(Boolean);
  const [verb, service, ...args] = words;
  if (!verb) return { verb: 'help', args: [] };
  const v = verb.toLowerCase();
  if (!(VERBS as readonly string[]).includes(v)) return { error: `unknown command "${verb.slice(0, 40)}". ${HELP}` };
  if (service !== undefined && !/^[A-Za-z0-9_-]{1,40}$/.test(service)) return { error: `"${service.slice(0, 40)}" is not a service name (letters, digits, - and _ only)` };
  return { verb: v as Verb, service, args };
}

/** Whether `actor` may use commands on `service`, and if not, why. */
export function authorise(service: ServiceConfig, actor: Actor): { ok: true } | { ok: false; reason: string } {
  if (actor.via === 'cli') return { ok: true };
  const { channels = [], users = [] } = service.chat ?? {};
  if (channels.length === 0 && users.length === 0) return { ok: false, reason: `chat commands are not enabled for ${service.name} (its configuration lists no Slack channel or user)` };
  if (channels.length > 0 && !channels.includes(actor.channel ?? '')) return { ok: false, reason: `${service.name} cannot be steered from this channel` };
  if (users.length > 0 && !users.includes(actor.user)) return { ok: false, reason: `<@${actor.user}> may not steer ${service.name}` };
  return { ok: true };
}

const ago = (from: string | undefined, now: Date) => (from ? `${formatDuration(Math.max(0, Math.round((now.getTime() - Date.parse(from)) / 1000)))} ago` : '');
const weightsText = (w: Weights) => `blue ${w.blue} / green ${w.green}`;

async function readWeights(service: ServiceConfig, deps: CommandDeps): Promise<Weights | undefined> {
  const forward = await deps.traffic.readForward(service.listenerArn);
  if (!forward) return undefined;
  return { blue: forward.weights[service.slots.blue.targetGroupArn] ?? 0, green: forward.weights[service.slots.green.targetGroupArn] ?? 0 };
}

/** Drift of an idle service: the next rollout would refuse it (unless adoptDrift). */
async function driftOf(service: ServiceConfig, weights: Weights, deps: CommandDeps): Promise<string[]> {
  const liveSlot = liveSlotFromWeights(weights);
  const expected = await deps.store.getServiceState(service.name);
  if (!liveSlot || !expected) return [];
  const live = await deps.ecs.describeService(service.cluster, service.slots[liveSlot].serviceName);
  return live ? driftProblems(expected, liveSlot, live) : [];
}

async function statusOf(service: ServiceConfig, deps: CommandDeps): Promise<string> {
  const now = deps.clock.now();
  // The read side the CLI and the local runtime show too (functions/read/status.ts), as Slack text.
  const { active, weights, alarms, recent } = await readStatus(service, { store: deps.store, traffic: deps.traffic, alarms: deps.alarms, clock: deps.clock });
  const alarmText = alarms.map((a) => `${a.name} ${a.state}`).join(', ');
  const w = weights ? weightsText(weights) : 'listener not found';
  if (active) {
    const total = service.plan.steps.length;
    const index = active.stepIndex ?? 0;
    const step = service.plan.steps[Math.min(index, total - 1)];
    const left = active.wait?.until ? Math.max(0, Math.round((Date.parse(active.wait.until) - now.getTime()) / 1000)) : undefined;
    const waiting = active.wait
      ? active.wait.kind === 'hold'
        ? active.pause?.reason
          ? `held by ${active.pause.by}: ${slackText(active.pause.reason)}; /cutover resume ${service.name} when fixed, or roll back`
          : `paused by ${active.pause?.by ?? 'an operator'}, holding`
        : active.wait.kind === 'gate'
          ? `manual gate, waiting for promote (${formatDuration(left ?? 0)} until its timeout)`
          : `baking, ${formatDuration(left ?? 0)} left`
      : active.pause
        ? `pause requested by ${active.pause.by}`
        : 'in progress';
    const link = deps.executionUrl ? `\n  execution: ${deps.executionUrl(active.rolloutId)}` : '';
    const aborted = active.abort ? `\n  aborting: ${slackText(active.abort.reason)}` : '';
    return (
      `*${service.name}*: rolling out ${active.rolloutId} (started ${ago(active.startedAt, now)})\n` +
      `  step ${Math.min(index + 1, total)}/${total}${step ? ` (${describeStep(step, active.newSlot)})` : ''}: ${waiting}\n` +
      `  weights: ${w}\n${active.testRule ? `  test cohort: ${slackText(cohortStatusText(active.testRule, w))}\n` : ''}  alarms: ${alarmText}${aborted}${link}`
    );
  }
  const [last] = recent.filter((h) => h.outcome !== 'REFUSED');
  const lastText = last ? `last rollout ${last.rolloutId}: ${last.outcome} ${ago(last.endedAt ?? last.startedAt, now)}${last.reason ? ` (${slackText(last.reason)})` : ''}` : 'no rollout yet';
  const drift = weights ? await driftOf(service, weights, deps) : [];
  return `*${service.name}*: idle, ${w}\n  ${lastText}\n  alarms: ${alarmText}${drift.map((d) => `\n  ${d}`).join('')}`;
}

function describeHistory(h: HistoryRecord, now: Date): string {
  const took = h.endedAt ? `, took ${formatDuration(Math.max(0, Math.round((Date.parse(h.endedAt) - Date.parse(h.startedAt)) / 1000)))}` : '';
  return `• ${h.startedAt} ${h.rolloutId}: ${h.outcome ?? 'RUNNING'} (${slackText(h.trigger ?? 'unknown trigger')}${took}, ${ago(h.startedAt, now)})${h.reason ? ` — ${slackText(h.reason)}` : ''}`;
}

async function rollback(service: ServiceConfig, lock: LockRecord | undefined, reason: string, actor: Actor, deps: CommandDeps): Promise<{ reply: Reply; rolloutId?: string }> {
  const by = actor.via === 'slack' ? `<@${actor.user}>` : actor.user;
  // The abort, the task's cause and the history keep the reason as typed; the reply shows it escaped.
  const why = `rollback requested by ${by}${reason ? `: ${reason}` : ''}`;
  const said = `rollback requested by ${by}${reason ? `: ${slackText(reason)}` : ''}`;
  if (lock && (await isDead(lock, deps))) {
    // Its execution has ended (stopped, crashed): no state will ever see an abort. Restore it here, under the protocol.
    const out = await recoverService(service, lock, `${lock.rolloutId} had ended without releasing ${service.name}; ${why}`, { ...deps, sleep: deps.sleep ?? realSleep }, RECOVERY_WAIT_MS);
    // The decision quotes the cause (the reason as typed): escaped whole, the operator's mention in it too.
    if (out.status === 'recovered') return { rolloutId: lock.rolloutId, reply: { status: 200, text: `Restored ${service.name}: ${slackText(out.decision)}` } };
    if (out.status === 'wait') {
      return {
        rolloutId: lock.rolloutId,
        reply: {
          status: 202,
          text: `${service.name}: ${lock.rolloutId} has ended but ${slackText(out.decision)}; Cutover restores the retained revision as soon as it cannot write any more (the execution-ended event triggers it). Run status in a minute.`,
        },
      };
    }
    lock = await deps.store.getLock(service.name);
  }
  if (lock && (lock.role ?? 'rollout') === 'rollout') {
    const aborted = await abortRollout(lock, ErrorName.RolloutAborted, why, deps, deps);
    if (aborted) {
      return {
        rolloutId: lock.rolloutId,
        reply: {
          status: 200,
          text: aborted.restored
            ? `Rolling back ${service.name} now (${lock.rolloutId}): all traffic is back on the retained revision${aborted.resumed ? '' : '; the rest follows at its next state'}. ${said}`
            : `Rolling back ${service.name} now (${lock.rolloutId})${aborted.resumed ? '' : ', at its next state'}: all traffic goes back to the retained revision. ${said}`,
        },
      };
    }
  }
  // After completion (or while its last steps finish): restore the retained revision without re-running
  // the canary, as an owner of its own. A holder that is finishing (Finalize's release, the scale-down) has
  // the lock for a moment only: try a few times.
  for (let attempt = 1; ; attempt++) {
    // Slack wants its answer within 3 s: a longer wait for an earlier owner's lease is answered with when to try.
    // After the window the old slot is cold: it is scaled up and its targets waited for (bounded by this
    // function's run time) before the traffic moves; a warm one is looked at the same way.
    const out = await restoreAfterCompletion(service, why, { ...deps, leaseWaitMs: RECOVERY_WAIT_MS }, { scaleUp: true, maxWaitMs: RESTORE_WAIT_MS, pollMs: RESTORE_POLL_MS });
    if (out.status === 'restored') return { rolloutId: out.rolloutId, reply: { status: 200, text: `Restored ${service.name}: ${out.decision}. ${said}` } };
    if (!out.busy || attempt >= RESTORE_ATTEMPTS) {
      return {
        rolloutId: out.rolloutId,
        reply: { status: 409, text: out.busy ? `${out.reason}, run status and try again` : out.waitMs ? `${out.reason}; run the rollback again after that` : out.reason },
      };
    }
    await (deps.sleep ?? realSleep)(RESTORE_RETRY_MS);
  }
}

/** How long a restore waits for the old slot's targets to be healthy: within the chat function's 30 s run time. */
const RESTORE_WAIT_MS = 20_000;
const RESTORE_POLL_MS = 2_000;
const RESTORE_ATTEMPTS = 5;
const RESTORE_RETRY_MS = 400;
/** How long the chat function may wait for a dead holder's lease (Slack expects an answer within 3 s). */
const RECOVERY_WAIT_MS = 1_500;

/**
 * Verbs that may take longer than Slack waits for an answer (3 s, a cold start included): a rollback may wait
 * for a lease ({@link RECOVERY_WAIT_MS}), retry a busy lock ({@link RESTORE_ATTEMPTS}) and move traffic and
 * slots. The Slack endpoint acknowledges them at once and posts their outcome to the request's `response_url`.
 */
export const DEFERRED_VERBS: readonly Verb[] = ['rollback'];

/** `status` without a service reads every service the caller may steer; beyond this many, it is deferred too. */
export const STATUS_DIRECT_MAX_SERVICES = 5;

/**
 * Whether `text` is a command to acknowledge now and run after the answer (see {@link DEFERRED_VERBS}). Pure:
 * decided before anything is read, so a command runs in exactly one place. Commands refused on sight (unknown
 * verb or service, a caller not on the service's list) are not deferred: {@link execute} answers them at once.
 */
export function mayTakeLong(text: string, actor: Actor, services: readonly ServiceConfig[]): boolean {
  const parsed = parseCommand(text);
  if ('error' in parsed) return false;
  if (parsed.verb === 'status' && !parsed.service) return services.filter((s) => authorise(s, actor).ok).length > STATUS_DIRECT_MAX_SERVICES;
  if (!DEFERRED_VERBS.includes(parsed.verb)) return false;
  const service = services.find((s) => s.name === parsed.service);
  return service !== undefined && authorise(service, actor).ok;
}

/**
 * Whether `text` is a rollback of a rollout in flight whose execution runs: its abort puts the traffic back
 * at once (one hop, a few calls), so the Slack endpoint runs it in the request itself instead of deferring it
 * (see {@link mayTakeLong}). Two reads; anything else (a restore after completion, a dead owner) is deferred.
 */
export async function abortsInFlight(text: string, deps: Pick<CommandDeps, 'store' | 'executions'>): Promise<boolean> {
  const parsed = parseCommand(text);
  if ('error' in parsed || parsed.verb !== 'rollback' || !parsed.service) return false;
  const lock = await deps.store.getLock(parsed.service);
  if (!lock || (lock.role ?? 'rollout') !== 'rollout' || !lock.fallback) return false;
  return (await deps.executions.status(lock.rolloutId)) === 'RUNNING';
}

/** Runs one command. Never throws for operator mistakes: they get a specific answer. */
export async function execute(text: string, actor: Actor, deps: CommandDeps): Promise<Reply> {
  const parsed = parseCommand(text);
  if ('error' in parsed) return { status: 400, text: parsed.error };
  const { verb, args } = parsed;
  if (verb === 'help') return { status: 200, text: HELP };

  const visible = deps.services.filter((s) => authorise(s, actor).ok);
  if (verb === 'status' && !parsed.service) {
    if (visible.length === 0) return { status: 403, text: 'no service may be steered from here' };
    return { status: 200, text: (await Promise.all(visible.map((s) => statusOf(s, deps)))).join('\n') };
  }
  if (!parsed.service) return { status: 400, text: `${verb} needs a service: /cutover ${verb} <service>. ${HELP}` };
  const service = deps.services.find((s) => s.name === parsed.service);
  // Only the services this caller may steer are named: the list is no directory for strangers.
  if (!service) return { status: 404, text: `unknown service "${parsed.service}"; known: ${visible.map((s) => s.name).join(', ') || 'none you may steer'}` };
  const auth = authorise(service, actor);
  if (!auth.ok) {
    await audit(service, actor, text, `refused: ${auth.reason}`, undefined, deps);
    return { status: 403, text: auth.reason };
  }

  const { reply, rolloutId } = await act(verb, service, args, actor, deps);
  await audit(service, actor, text, reply.status === 200 ? 'accepted' : `refused: ${reply.text}`, rolloutId, deps);
  return reply;
}

async function act(verb: Verb, service: ServiceConfig, args: readonly string[], actor: Actor, deps: CommandDeps): Promise<{ reply: Reply; rolloutId?: string }> {
  const by = actor.via === 'slack' ? `<@${actor.user}>` : actor.user;
  const lock = await deps.store.getLock(service.name);
  switch (verb) {
    case 'status':
      return { reply: { status: 200, text: await statusOf(service, deps) }, rolloutId: lock?.rolloutId };
    case 'history': {
      const now = deps.clock.now();
      const [history, commands] = await Promise.all([deps.store.listHistory(service.name, 10), deps.store.listCommands(service.name, 10)]);
      const rollouts = history.length ? history.map((h) => describeHistory(h, now)).join('\n') : 'no rollout yet';
      // The command as typed is outside text; its result is the reply it got, Slack text already (see audit).
      const cmds = commands.length ? commands.map((c) => `• ${c.at} ${c.via === 'slack' ? `<@${c.user}>` : slackText(c.user)}: ${slackText(c.text)} → ${c.result}`).join('\n') : 'none';
      return { reply: { status: 200, text: `*${service.name}* rollouts:\n${rollouts}\ncommands:\n${cmds}` } };
    }
    case 'rollback':
      // The reason is echoed in the channel: escaped there (rollback()), kept readable and as typed in records.
      return rollback(service, lock, args.join(' ').slice(0, 500), actor, deps);
    case 'promote': {
      const full = args.includes('--full');
      const unknown = args.filter((a) => a !== '--full');
      if (unknown.length) return { reply: { status: 400, text: `promote takes only --full, not "${slackText(unknown.join(' ').slice(0, 40))}"` } };
      if (!lock) return { reply: { status: 409, text: `nothing to promote: no rollout of ${service.name} is in progress` } };
      if (lock.wait?.kind === 'hold') return { reply: { status: 409, text: `${service.name} is paused: /cutover resume ${service.name} first` }, rolloutId: lock.rolloutId };
      // A lifecycle hook's token is the hook's to answer: a promote must not pass it as succeeded.
      if (lock.wait?.kind === 'hook')
        return { reply: { status: 409, text: `nothing to promote: a lifecycle hook of ${service.name} is running (it answers, times out, or a rollback ends it)` }, rolloutId: lock.rolloutId };
      if (!lock.taskToken || !lock.wait)
        return { reply: { status: 409, text: `nothing to promote: ${service.name} is not in a bake or a manual gate right now (run status)` }, rolloutId: lock.rolloutId };
      // The wait's output in the console: who ended it, and how.
      const decision = `${lock.wait.kind === 'gate' ? 'manual gate' : 'bake'} ended early by promote${full ? ' --full (straight to 100%)' : ''} from ${by}`;
      const ok = await deps.executions.succeedTask(lock.taskToken, { promotedBy: by, full, decision });
      if (!ok) return { reply: { status: 409, text: `nothing to promote: the ${lock.wait.kind} of ${service.name} just ended` }, rolloutId: lock.rolloutId };
      return {
        rolloutId: lock.rolloutId,
        reply: {
          status: 200,
          text: full
            ? `Promoting ${service.name} straight to 100% (alarms are checked once more before finalizing), by ${by}`
            : `Promoted ${service.name}: the ${lock.wait.kind === 'gate' ? 'manual gate' : 'bake'} ends now and the next step begins, by ${by}`,
        },
      };
    }
    case 'pause': {
      if (!lock) return { reply: { status: 409, text: `nothing to pause: no rollout of ${service.name} is in progress` } };
      if (lock.pause) return { reply: { status: 409, text: `${service.name} is already paused by ${lock.pause.by}` }, rolloutId: lock.rolloutId };
      const ok = await deps.store.setPause(service.name, lock.rolloutId, { by, at: deps.clock.now().toISOString() });
      if (!ok) return { reply: { status: 409, text: `${service.name}: the rollout ended meanwhile` } };
      const w = await readWeights(service, deps);
      return {
        rolloutId: lock.rolloutId,
        reply: { status: 200, text: `Pausing ${service.name} at ${w ? weightsText(w) : 'its current weights'} once the current step ends; /cutover resume ${service.name} to go on` },
      };
    }
    case 'resume': {
      if (!lock?.pause) return { reply: { status: 409, text: `${service.name} is not paused` }, rolloutId: lock?.rolloutId };
      await deps.store.setPause(service.name, lock.rolloutId, undefined);
      // Read again after lifting the pause: a hold that started meanwhile has recorded its token by now.
      const after = await deps.store.getLock(service.name);
      if (after?.wait?.kind === 'hold' && after.taskToken) await deps.executions.succeedTask(after.taskToken, { resumedBy: by, decision: `resumed by ${by}` });
      return { rolloutId: lock.rolloutId, reply: { status: 200, text: `Resumed ${service.name}, by ${by}` } };
    }
    default:
      return { reply: { status: 200, text: HELP } };
  }
}

/** `text` is the command as typed; `result` is Slack text (the reply, outside pieces escaped), shown as is by history. */
async function audit(service: ServiceConfig, actor: Actor, text: string, result: string, rolloutId: string | undefined, deps: CommandDeps): Promise<void> {
  const record: CommandRecord = {
    service: service.name,
    at: deps.clock.now().toISOString(),
    user: actor.user,
    channel: actor.channel,
    via: actor.via,
    text: text.slice(0, 500),
    rolloutId,
    result: result.slice(0, 500),
  };
  try {
    await deps.store.recordCommand(record);
  } catch (error) {
    // The command already took effect; a lost audit line must be loud, not a failed command.
    deps.log.error('audit record not written', { service: service.name, user: actor.user, error: String(error) });
  }
}
