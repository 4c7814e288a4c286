/**
 * Alarm: a watched alarm went into ALARM → abort every rollout in flight that watches it, now.
 *
 * The abort is recorded on the lock first (atomically, returning the current bake token), then the token
 * is failed. A rollout between two states sees the recorded abort at its next state; a bake that starts
 * after the abort refuses to wait. No alarm is lost in the gap.
 *
 * In one hop: the abort's write also fences the rollout's generation, and this function puts all traffic
 * back on the retained slot itself, while the task's failure starts the rollback that does the rest. It knows
 * from its configuration which services watch the alarm, so before the listener write there are two AWS
 * calls side by side: the abort's write on each such service's lock and the listener read. See
 * `functions/core/abort.ts`.
 */
import { abortRollout, abortWatching, type Aborted, type AbortErrorName } from '../core/abort';
import { ErrorName } from '../core/errors';
import { parseAlarmChange, parseEcsFailure } from '../core/events';
import type { Writer } from '../core/lease';
import { analysisRolloutKey, parseAnalysisAlarm } from '../core/analysis';
import type { Clock, Executions, HistoryStore, LockRecord, Log, LockStore, Notifier, Traffic } from '../core/ports';
import { slackText } from '../core/slack-text';
import { watches, type Watcher } from '../core/watchers';

export interface AlarmDeps {
  /** Locks; a dry-run analysis's verdict goes into the rollout's steps. */
  readonly store: LockStore & Pick<HistoryStore, 'putStep'>;
  readonly executions: Executions;
  readonly clock: Clock;
  readonly log: Log;
  /** To put the traffic back at once; without it the rollback function does (two hops). @default none */
  readonly traffic?: Traffic;
  /** This invocation, as a writer (the Lambda adapter's). */
  readonly writer?: Writer;
  readonly leaseMs?: number;
  /**
   * The services and the alarms they watch (the construct's configuration): with `traffic`, an alarm aborts
   * each watching service with one write and no read before it. @default none: the rollouts in flight are read first
   */
  readonly services?: readonly Watcher[];
  /**
   * Where a dry-run analysis's verdict is posted (the rollout's thread). The deployed alarm function has none:
   * Slack's client would weigh on the reaction path's cold start; the verdict is in the rollout's steps. @default none
   */
  readonly notifier?: Notifier;
}

export interface AbortedRollout {
  readonly service: string;
  readonly rolloutId: string;
  readonly resumedBake: boolean;
  /** Whether this function put all traffic back on the retained slot itself. */
  readonly restored: boolean;
}

export interface AlarmResult {
  readonly aborted: readonly AbortedRollout[];
  readonly ignored?: string;
  /** A dry-run canary analysis failed a check: recorded on these rollouts, nothing else done. */
  readonly dryRun?: ReadonlyArray<{ readonly service: string; readonly rolloutId: string }>;
}

/** Aborts each rollout, all at once (one service's abort never waits for another's), in one hop when it can. */
async function abortAll(locks: readonly LockRecord[], error: AbortErrorName, reason: string, deps: AlarmDeps): Promise<AbortedRollout[]> {
  const oneHop = deps.traffic ? { traffic: deps.traffic, log: deps.log, writer: deps.writer, leaseMs: deps.leaseMs } : undefined;
  const done = await Promise.all(locks.map(async (lock) => reported(await abortRollout(lock, error, reason, deps, oneHop), error, reason, deps)));
  return done.filter((a) => a !== undefined);
}

export async function onAlarm(event: unknown, deps: AlarmDeps): Promise<AlarmResult> {
  if ((event as { source?: unknown } | null)?.source === 'aws.ecs') return onEcsFailure(event, deps);
  const change = parseAlarmChange(event);
  if (change.kind === 'ignore') {
    deps.log.info('event ignored', { reason: change.reason });
    return { aborted: [], ignored: change.reason };
  }
  if (change.state !== 'ALARM') {
    const reason = `alarm ${change.alarmName} went to ${change.state}, not ALARM`;
    deps.log.info('alarm change ignored', { reason });
    return { aborted: [], ignored: reason };
  }
  const reason = `alarm ${change.alarmName} in ALARM${change.reason ? `: ${change.reason}` : ''}`;
  const dryRun = (deps.services ?? []).filter((s) => s.comparisonAlarms?.dryRun && watches(s, change.alarmName) && !s.alarms.includes(change.alarmName));
  if (dryRun.length) return recordDryRun(dryRun, change.alarmName, reason, deps);
  // One hop, knowing the watchers: each service's lock written at once. Otherwise: read the rollouts in flight first.
  const locks = deps.traffic && deps.services ? undefined : await deps.store.activeLocksWatching(change.alarmName);
  const aborted = locks ? await abortAll(locks, ErrorName.AlarmFired, reason, deps) : await abortWatchers(change.alarmName, reason, deps);
  if (locks ? locks.length === 0 : aborted.length === 0) {
    const ignored = `no rollout in flight watches alarm ${change.alarmName}`;
    deps.log.info('alarm change ignored', { reason: ignored });
    return { aborted: [], ignored };
  }
  return { aborted };
}

/** The services configured to watch the alarm, each aborted with its own write and no read before it. */
async function abortWatchers(alarm: string, reason: string, deps: AlarmDeps): Promise<AbortedRollout[]> {
  const oneHop = { traffic: deps.traffic!, log: deps.log, writer: deps.writer, leaseMs: deps.leaseMs };
  const watchers = (deps.services ?? []).filter((s) => watches(s, alarm));
  const done = await Promise.all(watchers.map(async (watcher) => reported(await abortWatching(watcher, alarm, ErrorName.AlarmFired, reason, deps, oneHop), ErrorName.AlarmFired, reason, deps)));
  return done.filter((a) => a !== undefined);
}

/**
 * A comparison alarm of a dry-run canary analysis: what it would have done is recorded as a step of the rollout
 * it belongs to (and posted to its thread), and nothing else happens. An alarm of an earlier rollout is ignored.
 */
async function recordDryRun(watchers: readonly Watcher[], alarm: string, reason: string, deps: AlarmDeps): Promise<AlarmResult> {
  const parsed = parseAnalysisAlarm(alarm);
  const recorded: Array<{ service: string; rolloutId: string }> = [];
  for (const watcher of watchers) {
    const lock = await deps.store.getLock(watcher.name);
    if (!lock || !parsed || parsed.service !== watcher.name || analysisRolloutKey(lock.rolloutId) !== parsed.rolloutId) continue;
    const decision = `canary analysis (dry run) would roll back now: ${reason}`;
    await deps.store.putStep({
      service: watcher.name,
      rolloutId: lock.rolloutId,
      index: lock.stepIndex ?? 0,
      // Beside the step's own record (the shift's weights), one per check: a duplicate delivery rewrites itself.
      note: `dry-run-${parsed.check}`,
      at: deps.clock.now().toISOString(),
      state: 'Canary analysis (dry run)',
      weights: lock.weights,
      decision,
    });
    deps.log.warn('canary analysis (dry run) failed a check; nothing done', { service: watcher.name, rolloutId: lock.rolloutId, alarm, reason });
    await deps.notifier?.post(`*${watcher.name}* ${slackText(decision)}`, lock.thread);
    recorded.push({ service: watcher.name, rolloutId: lock.rolloutId });
  }
  return recorded.length ? { aborted: [], dryRun: recorded } : { aborted: [], ignored: `no rollout in flight has the dry-run comparison alarm ${alarm}` };
}

/** An abort as the result lists it, logged. */
function reported(out: Aborted | undefined, error: AbortErrorName, reason: string, deps: AlarmDeps): AbortedRollout | undefined {
  if (!out) return undefined; // finished meanwhile, or nothing in flight watches it
  const aborted = { service: out.lock.service, rolloutId: out.lock.rolloutId, resumedBake: out.resumed, restored: out.restored };
  deps.log.warn(error === ErrorName.AlarmFired ? 'rollout aborted by alarm' : 'rollout aborted by ECS', { ...aborted, reason });
  return aborted;
}

/** The last part of a cluster name or ARN. */
const clusterName = (cluster: string) => cluster.split('/').pop() ?? cluster;

/**
 * ECS says the new slot's deployment failed (circuit breaker) or its tasks cannot start or be placed:
 * abort the rollout deploying to that service now, instead of waiting for the steady-state checks to run out.
 */
async function onEcsFailure(event: unknown, deps: AlarmDeps): Promise<AlarmResult> {
  const failure = parseEcsFailure(event);
  if (failure.kind === 'ignore') {
    deps.log.info('event ignored', { reason: failure.reason });
    return { aborted: [], ignored: failure.reason };
  }
  const locks = (await deps.store.activeLocks()).filter((l) => l.idleService?.serviceName === failure.serviceName && clusterName(l.idleService.cluster) === failure.cluster);
  if (locks.length === 0) {
    const reason = `no rollout in flight deploys to ${failure.cluster}/${failure.serviceName}`;
    deps.log.info('ECS event ignored', { reason, eventName: failure.eventName });
    return { aborted: [], ignored: reason };
  }
  const reason = `ECS ${failure.eventName} on ${failure.serviceName}: ${failure.reason}`;
  return { aborted: await abortAll(locks, ErrorName.DeploymentFailed, reason, deps) };
}
