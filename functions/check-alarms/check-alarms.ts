/**
 * Check alarms: on entering every step and after every bake. Aborts (throws) when the rollout was marked
 * aborted by the alarm event path or an operator, or when any watched alarm is in ALARM now. The second
 * check catches alarms that were already in ALARM when the step began (CloudWatch sends no event then).
 *
 * It also notices changes made outside Cutover that no event reports, rather than trusting what Prepare
 * read: the new slot's service scaled to 0 or with no task running once it was steady (traffic on it would
 * find nothing to serve it), and the retained revision deregistered (the last known good is gone).
 *
 * And it checks that the rollback target is known to work (see `core/rollback-target.ts`): the retained slot's
 * service exists, is ACTIVE, runs the retained revision and, while warm, has at least its desired count of
 * healthy targets. If not, it holds the rollout where it is, through the operator's pause: it records a pause
 * by Cutover with the reason on the lock and reports `paused`, so the state machine holds at the current
 * weight on a task token (`Hold (paused)`, no polling) instead of shifting further or finalizing; it posts an
 * escalation to the rollout's thread. `/cutover resume` lifts the hold and this check runs again.
 */
import { AlarmFiredError, InvalidInputError, LockLostError, RolloutAbortedError } from '../core/errors';
import { abortError } from '../core/errors';
import type { AlarmView, Alarms, AnalysisAlarms, Clock, Ecs, Log, LockRecord, LockStore, Notifier, Traffic } from '../core/ports';
import { judgeBake, watchedAnalysisAlarms, type BakeJudgement } from '../core/canary-analysis';
import { MAX_BAKE_EXTENSIONS, resolvedAnalysis } from '../core/analysis';
import { cannotServe, inactiveRevision, type LiveState, type RolloutState } from '../core/rollout';
import { holdEscalation, rollbackTargetProblem } from '../core/rollback-target';
import { slackText } from '../core/slack-text';

export interface CheckAlarmsDeps {
  readonly alarms: Alarms;
  /** Both slots' services and the retained revision, read at every check. */
  readonly ecs: Pick<Ecs, 'describeService' | 'describeTaskDefinition'>;
  /** The retained slot's target health, read at every check. */
  readonly traffic: Pick<Traffic, 'targetHealth'>;
  readonly store: LockStore;
  readonly clock: Clock;
  readonly log: Log;
  /** Where a hold is escalated (the rollout's thread). @default none */
  readonly notifier?: Notifier;
  /** The canary's request counts, for the analysis's verdict at a bake's end (services with `analysis`). @default none */
  readonly analysis?: AnalysisAlarms;
}

/** Who the pause of a hold is by, when Cutover holds the rollout itself (not an operator). */
export const HELD_BY_CUTOVER = 'Cutover';

export interface AlarmCheck {
  readonly alarms: readonly AlarmView[];
  /** An operator paused the rollout, or Cutover held it: the state machine holds before the next step. */
  readonly paused: boolean;
  /** Why the retained slot cannot take the traffic back (the rollout holds); absent when it can. */
  readonly held?: string;
  /** The canary analysis could not judge the bake just done: the state machine runs that bake again. */
  readonly extend?: boolean;
  readonly decision: string;
}

export { abortError };

export async function checkAlarms(state: RolloutState, deps: CheckAlarmsDeps): Promise<AlarmCheck> {
  const { service, rolloutId } = state;
  // Only the slots and the retained revision are read here (no write needs the lock's generation).
  const live = state.live;
  if (!live) throw new InvalidInputError('invalid rollout state', ['live: missing (prepare has not run)']);
  const lock = await deps.store.getLock(service.name);
  if (!lock || lock.rolloutId !== rolloutId) throw new LockLostError(service.name, rolloutId, lock?.rolloutId);
  if (lock.abort) {
    deps.log.warn('rollout aborted', { rolloutId, service: service.name, reason: lock.abort.reason });
    throw abortError(lock.abort);
  }
  const newSlot = service.slots[live.idleSlot];
  // The new slot is only held to its count once it was steady; before that, check-steady waits for it.
  const steady = state.steady?.status === 'STEADY';
  const oldSlot = service.slots[live.liveSlot];
  // While the canary takes part of the traffic, its comparison alarms exist: one in ALARM (its event lost or
  // late) stops the rollout here as the service's own alarms do.
  const canaryWeight = state.shift?.weights[live.idleSlot] ?? 0;
  const inCanary = canaryWeight > 0 && canaryWeight < 100;
  const comparison = inCanary ? watchedAnalysisAlarms(service, rolloutId) : [];
  const [seen, newService, retained, oldService, oldHealth] = await Promise.all([
    deps.alarms.describe([...service.alarms, ...comparison]),
    steady ? deps.ecs.describeService(service.cluster, newSlot.serviceName) : undefined,
    deps.ecs.describeTaskDefinition(live.retainedTaskDefinitionArn),
    deps.ecs.describeService(service.cluster, oldSlot.serviceName),
    deps.traffic.targetHealth(oldSlot.targetGroupArn),
  ]);
  const missing = service.alarms.filter((name) => !seen.some((a) => a.name === name));
  if (missing.length) throw new RolloutAbortedError(`watched alarm ${missing.join(', ')} no longer exists`);
  const firing = seen.filter((a) => a.state === 'ALARM');
  if (firing.length) {
    deps.log.warn('alarm in ALARM', { rolloutId, service: service.name, alarms: firing.map((a) => a.name) });
    throw new AlarmFiredError(
      firing.map((a) => a.name),
      firing[0]?.reason,
    );
  }
  const changed = outOfBand(live, newSlot.serviceName, { steady, newService, retained });
  if (changed.length) {
    deps.log.warn('service changed outside Cutover', { rolloutId, service: service.name, changes: changed });
    throw new RolloutAbortedError(changed.join('; '));
  }
  if (state.cursor) await deps.store.updateLock(service.name, rolloutId, { stepIndex: state.cursor.index });
  // Whatever waited before this check is over: its token is spent.
  if (lock.taskToken || lock.wait) await deps.store.clearWait(service.name, rolloutId);
  const index = state.cursor?.index ?? 0;
  const total = state.cursor?.total ?? 0;
  const where = index < total ? `before step ${index + 1}/${total}` : 'before finalizing';
  const states = seen.map((a) => `${a.name} ${a.state}`).join(', ');
  const held = rollbackTargetProblem({ slot: live.liveSlot, serviceName: oldSlot.serviceName, retainedTaskDefinitionArn: live.retainedTaskDefinitionArn, service: oldService, health: oldHealth });
  const judged = inCanary && afterBake(state) && state.shift ? await judgeBake(service, live.idleSlot, { since: new Date(state.shift.at), now: deps.clock.now() }, deps) : undefined;
  const inconclusive = judged?.verdict === 'inconclusive' ? await onInconclusive(state, lock, judged, deps) : undefined;
  const verdict = judged ? `; ${judged.text}${inconclusive === 'noted' ? ' (dry run: nothing done)' : inconclusive === 'resumed' ? ' (resumed by an operator: going on)' : ''}` : '';
  const hold = held ? { reason: held, how: FIX_THEN_RESUME } : inconclusive === 'hold' && judged ? { reason: judged.text, how: DECIDE_WITHOUT_VERDICT } : undefined;
  const pause = await holdIfUnfit(state, lock, hold, where, deps);
  if (!pause && inconclusive === 'extend') return { alarms: seen, paused: false, extend: true, decision: `${where}: ${states}${verdict}: the bake runs again` };
  if (!pause) return { alarms: seen, paused: false, decision: `${where}: ${states}${verdict}` };
  const at = weightsText(lock, live);
  if (hold) {
    const held = hold.reason;
    const by = pause.by === HELD_BY_CUTOVER ? '' : `; paused by ${pause.by} too`;
    return { alarms: seen, paused: true, held, decision: `${where}: ${states}; ${held}: holding at ${at} until resume${by}` };
  }
  return { alarms: seen, paused: true, decision: `${where}: ${states}; paused by ${pause.by}, holding` };
}

/** What a human does about a hold: the rollback target's problem is fixed; an inconclusive analysis is decided. */
const FIX_THEN_RESUME = 'fix the slot, then `/cutover resume {service}` (the check runs again)';
const DECIDE_WITHOUT_VERDICT = '`/cutover resume {service}` goes on without a verdict';

/**
 * True if the step just done was a bake that ran its course (the check after it judges the time the canary
 * spent at its weight). A bake an operator ended early with `promote` is theirs to judge: a failing comparison
 * still fires its alarm, but too few requests is not held against their decision.
 */
function afterBake(state: RolloutState): boolean {
  const index = state.cursor?.index ?? 0;
  return index > 0 && state.service.plan.steps[index - 1]?.kind === 'bake' && !state.wait?.promotedBy;
}

/**
 * Too few requests reached the canary during the bake to judge it: the service's policy decides. `rollback`
 * throws (the rollout rolls back with the counts in the reason); `extend` runs the bake again, up to
 * {@link MAX_BAKE_EXTENSIONS} times, then asks a human as `pause` does; `pause` holds once per step: after an
 * operator's resume the same verdict lets it go on. A dry run only notes it.
 */
async function onInconclusive(state: RolloutState, lock: LockRecord, judged: BakeJudgement, deps: CheckAlarmsDeps): Promise<'noted' | 'extend' | 'hold' | 'resumed'> {
  const { service, rolloutId } = state;
  const policy = resolvedAnalysis(service.analysis!);
  deps.log.warn('canary analysis inconclusive', { rolloutId, service: service.name, requestsPerPeriod: judged.requestsPerPeriod, policy: policy.onInconclusive, dryRun: policy.dryRun });
  if (policy.dryRun) return 'noted';
  if (policy.onInconclusive === 'rollback') throw new RolloutAbortedError(judged.text);
  const index = state.cursor?.index ?? 0;
  const seen = lock.inconclusive?.step === index ? lock.inconclusive : { step: index, extended: 0 };
  if (seen.held && !lock.pause) return 'resumed';
  const next = policy.onInconclusive === 'extend' && seen.extended < MAX_BAKE_EXTENSIONS && !seen.held ? { ...seen, extended: seen.extended + 1 } : { ...seen, held: true };
  if ((next.held !== seen.held || next.extended !== seen.extended) && !(await deps.store.updateLock(service.name, rolloutId, { inconclusive: next })))
    throw new LockLostError(service.name, rolloutId, undefined);
  return next.held ? 'hold' : 'extend';
}

const weightsText = (lock: LockRecord, live: LiveState) => {
  const w = lock.weights ?? live.weights;
  return `blue ${w.blue} / green ${w.green}`;
};

/**
 * The pause the rollout holds on after this check, if any. A rollback target that cannot take the traffic
 * back, or a canary analysis that could not judge a bake (policy `pause`), holds the rollout with a pause by Cutover (recorded on the lock, escalated once per hold); a pause by
 * Cutover whose reason is gone (the check ran again after the hold's timeout) is lifted. An operator's own
 * pause stands either way.
 */
async function holdIfUnfit(
  state: RolloutState,
  lock: LockRecord,
  hold: { readonly reason: string; readonly how: string } | undefined,
  where: string,
  deps: CheckAlarmsDeps,
): Promise<LockRecord['pause']> {
  const held = hold?.reason;
  const { service, rolloutId } = state;
  if (!held) {
    if (lock.pause?.by !== HELD_BY_CUTOVER) return lock.pause;
    if (!(await deps.store.setPause(service.name, rolloutId, undefined))) throw new LockLostError(service.name, rolloutId, undefined);
    deps.log.info('the reason for the hold is gone: hold lifted', { rolloutId, service: service.name, was: lock.pause.reason });
    return undefined;
  }
  deps.log.warn('holding the rollout', { rolloutId, service: service.name, reason: held });
  if (lock.pause) return lock.pause;
  const pause = { by: HELD_BY_CUTOVER, at: deps.clock.now().toISOString(), reason: held };
  if (!(await deps.store.setPause(service.name, rolloutId, pause))) throw new LockLostError(service.name, rolloutId, undefined);
  // The reason is Cutover's own text, but names read from AWS go into it: escaped as every outside piece is.
  await deps.notifier?.post(holdEscalation(service.name, where, slackText(held), weightsText(lock, state.live!), hold.how), lock.thread ?? state.live?.thread);
  return pause;
}

/** What changed outside Cutover that the rollout cannot go on with, each as a reason; empty when nothing did. */
function outOfBand(
  live: LiveState,
  serviceName: string,
  read: {
    readonly steady: boolean;
    readonly newService: Awaited<ReturnType<Ecs['describeService']>>;
    readonly retained: Awaited<ReturnType<Ecs['describeTaskDefinition']>>;
  },
): string[] {
  const reasons: string[] = [];
  const empty = read.steady ? cannotServe(live.idleSlot, serviceName, read.newService) : undefined;
  if (empty) reasons.push(empty);
  const inactive = inactiveRevision(live.retainedTaskDefinitionArn, read.retained);
  if (inactive) reasons.push(`the retained revision ${inactive}: the last known good revision is gone`);
  return reasons;
}
