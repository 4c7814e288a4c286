/**
 * Prepare: validate the input, take the service's lock, read the live state and run the pre-flight checks.
 * A refusal (busy, bad input, failed pre-flight) changes nothing: the lock is released again and the
 * reason is written to the history record.
 */
import { watchedAnalysisAlarms } from '../core/canary-analysis';
import { DEFAULT_SCAN_TIMEOUT_SECONDS, otherSlot, SCAN_SEVERITIES, type ServiceConfig, type Slot } from '../core/config';
import { testRuleProblems } from '../core/test-cohort';
import { LockLostError, RecoveryPendingError, PreflightFailedError, RolloutBusyError, RolloutQueuedError, ScanPendingError, SupersededError } from '../core/errors';
import { supersede, wakeNextAfterRelease } from '../core/turns';
import { ENDED, fenced, isDead, recoverService, type Owner } from '../core/ownership';
import { slackText } from '../core/slack-text';
import { isScanPending } from '../core/scan';
import { assertRolloutInput } from '../core/input';
import {
  realSleep,
  type Alarms,
  type Clock,
  type Ecs,
  type Executions,
  type ImageDescription,
  type LockRecord,
  type Log,
  type Notifier,
  type PushRef,
  type Registry,
  type RolloutStore,
  type ServiceState,
  type ServiceView,
  type Sleep,
  type Traffic,
  type AnalysisAlarms,
} from '../core/ports';
import { describeStep } from '../core/plan';
import { indexProblems, isIndex, notAnImage, platformText, taskPlatform, type Platform } from '../core/manifests';
import {
  inactiveRevision,
  isNewerPush,
  pushTimeOf,
  liveSlotFromWeights,
  shortRevision,
  slotWeights,
  targetGroupWeights,
  weightsFor,
  weightsText,
  type LiveState,
  type RolloutState,
  type Weights,
} from '../core/rollout';

export interface PrepareDeps {
  readonly ecs: Ecs;
  readonly traffic: Traffic;
  readonly alarms: Alarms;
  readonly store: RolloutStore;
  readonly registry: Registry;
  readonly executions: Executions;
  readonly clock: Clock;
  readonly log: Log;
  /** Rollout messages (best effort). @default none */
  readonly notifier?: Notifier;
  /** The writer's lease (the function's timeout). @default DEFAULT_LEASE_MS */
  readonly leaseMs?: number;
  /** @default real time */
  readonly sleep?: Sleep;
  /** Deletes a dead rollout's canary analysis alarms when Prepare recovers its service. @default none */
  readonly analysis?: AnalysisAlarms;
}

/** What pre-flight read; enough to decide and to explain. */
interface Observed {
  readonly problems: string[];
  readonly weights?: Weights;
  readonly liveSlot?: Slot;
  readonly live?: { taskDefinition: string; desiredCount: number };
  readonly idle?: { taskDefinition: string };
  readonly alarmStates: ReadonlyArray<{ name: string; state: string }>;
  /** What Cutover last left the service as (the drift reference, and the newest push that took it). */
  readonly expected?: ServiceState;
}

/**
 * The checks of the push itself, which need no lock: the image is in ECR (and when it was pushed) and passes
 * the scan gate. They run before the push may supersede or queue anything, so a refused push disturbs nothing.
 */
export async function pushChecks(
  service: ServiceConfig,
  image: RolloutState['image'],
  deps: Pick<PrepareDeps, 'registry' | 'ecs' | 'traffic'>,
  scanWait?: RolloutState['scanWait'],
): Promise<{ problems: string[]; pushedAt?: string; scanPending?: boolean; decision?: string }> {
  const [found, scan] = await Promise.all([deps.registry.describeImage(image.repository, image.digest), service.imageScan ? deps.registry.scanFindings(image.repository, image.digest) : undefined]);
  const problems: string[] = [];
  if (!found) return { problems: [`image ${image.digest} is not in ECR repository ${image.repository}`] };
  // An image the service cannot run is refused at once, without waiting for its scan.
  const unrunnable = await manifestProblems(service, image, found, deps);
  if (unrunnable.length) return { problems: unrunnable, pushedAt: found.pushedAt };
  const gate = service.imageScan;
  if (gate && scan && isScanPending(scan.status)) {
    if (!scanWait?.timedOut) return { problems, pushedAt: found.pushedAt, scanPending: true };
    const waited = `no scan of the image completed within ${gate.timeoutSeconds ?? DEFAULT_SCAN_TIMEOUT_SECONDS} s (it is ${scan.status}; does the repository scan on push?)`;
    if ((gate.onTimeout ?? 'refuse') === 'refuse') return { problems: [`${waited}; imageScan.onTimeout is refuse`], pushedAt: found.pushedAt };
    return { problems, pushedAt: found.pushedAt, decision: `${waited}; rolled out without the scan's verdict (imageScan.onTimeout: rollout)` };
  }
  if (gate && scan) problems.push(...scanProblems(scan, gate.failOn));
  return { problems, pushedAt: found.pushedAt };
}

/**
 * Whether the pushed manifest is an image the service can run: a container image, not an artifact; or an
 * image index with an image for the platform of the service's task definition (ECS picks it at task start).
 * Only the index document is read, never a layer. A single image's platform is left to ECS: a wrong one fails
 * at task start, and ECS's failure event aborts the rollout.
 */
async function manifestProblems(service: ServiceConfig, image: RolloutState['image'], found: ImageDescription, deps: Pick<PrepareDeps, 'registry' | 'ecs' | 'traffic'>): Promise<string[]> {
  const notImage = notAnImage(found);
  if (notImage) return [`image ${image.digest.slice(0, 19)}… is not rolled out: ${notImage}`];
  if (!isIndex(found.manifestMediaType)) return [];
  const [read, platforms] = await Promise.all([deps.registry.readManifest(image.repository, image.digest), servingPlatforms(service, deps)]);
  if (!read) return [`image ${image.digest} is not in ECR repository ${image.repository}`];
  if ('unreadable' in read) return [`image index ${image.digest.slice(0, 19)}… cannot be read: ${read.unreadable}`];
  return indexProblems(image.digest, read.document, platforms);
}

/**
 * The platforms of the task definitions the slots with traffic run: the live revision a rollout clones (and,
 * while another rollout is in flight, its clone). Read without the lock; empty when they cannot be read, which
 * pre-flight under the lock refuses itself.
 */
async function servingPlatforms(service: ServiceConfig, deps: Pick<PrepareDeps, 'ecs' | 'traffic'>): Promise<Platform[]> {
  const forward = await deps.traffic.readForward(service.listenerArn);
  if (!forward) return [];
  const weights = slotWeights(forward.weights, service.slots);
  const definitions = await Promise.all(
    (['blue', 'green'] as const)
      .filter((slot) => weights[slot] > 0)
      .map(async (slot) => {
        const svc = await deps.ecs.describeService(service.cluster, service.slots[slot].serviceName);
        return svc && (await deps.ecs.describeTaskDefinition(svc.taskDefinition))?.definition;
      }),
  );
  const platforms = definitions.flatMap((d) => (d ? [taskPlatform(d)] : []));
  return platforms.filter((p, i) => platforms.findIndex((q) => platformText(q) === platformText(p)) === i);
}

/** How long Prepare waits out a dead owner's lease itself (its own timeout is 30 s). */
const PREPARE_RECOVERY_WAIT_MS = 15_000;

/**
 * What ECS would do behind Cutover's back: a service on the CodeDeploy or external controller refuses the
 * UpdateService Cutover deploys with, and one on ECS's own blue/green, canary or linear strategy moves the
 * load balancer's traffic itself.
 */
export function deploymentProblems(slot: Slot, svc: Pick<ServiceView, 'serviceName' | 'deploymentController' | 'deploymentStrategy'>): string[] {
  const problems: string[] = [];
  if (svc.deploymentController && svc.deploymentController !== 'ECS') {
    problems.push(`ECS service ${svc.serviceName} (${slot} slot) uses the ${svc.deploymentController} deployment controller; Cutover deploys with UpdateService, which needs the ECS controller`);
  }
  if (svc.deploymentStrategy && svc.deploymentStrategy !== 'ROLLING') {
    problems.push(
      `ECS service ${svc.serviceName} (${slot} slot) uses ECS's own ${svc.deploymentStrategy} deployments, which move the load balancer's traffic themselves; set its deployment strategy to ROLLING and let Cutover shift the traffic`,
    );
  }
  return problems;
}

/**
 * The checks of the service, read under its lock: what is live, and whether a rollout can start from it.
 * `release` is the user's revision a config release (functions/release) rolls out: it runs the live image
 * again on purpose, so only a live revision already cloned from that revision leaves nothing to roll out.
 */
export async function preflight(service: ServiceConfig, image: RolloutState['image'], deps: PrepareDeps, release?: RolloutState['release']): Promise<Observed> {
  const imageUri = image.uri;
  const problems: string[] = [];
  const { blue, green } = service.slots;

  const [expected, forward, existingGroups, alarmStates, blueSvc, greenSvc] = await Promise.all([
    deps.store.getServiceState(service.name),
    deps.traffic.readForward(service.listenerArn),
    deps.traffic.existingTargetGroups([blue.targetGroupArn, green.targetGroupArn]),
    deps.alarms.describe(service.alarms),
    deps.ecs.describeService(service.cluster, blue.serviceName),
    deps.ecs.describeService(service.cluster, green.serviceName),
  ]);

  // CloudWatch treats a missing alarm as never firing: a typo would silently disable rollback.
  for (const name of service.alarms) {
    if (!alarmStates.some((a) => a.name === name)) problems.push(`alarm ${name} does not exist (a missing alarm never fires, so it cannot stop a bad rollout)`);
  }
  for (const [slot, cfg] of Object.entries(service.slots)) {
    if (!existingGroups.has(cfg.targetGroupArn)) problems.push(`target group of the ${slot} slot does not exist: ${cfg.targetGroupArn}`);
  }
  if (!blueSvc) problems.push(`ECS service ${blue.serviceName} (blue slot) not found in cluster ${service.cluster}`);
  if (!greenSvc) problems.push(`ECS service ${green.serviceName} (green slot) not found in cluster ${service.cluster}`);
  for (const [slot, svc] of [
    ['blue', blueSvc],
    ['green', greenSvc],
  ] as const)
    if (svc) problems.push(...deploymentProblems(slot, svc));

  let weights: Weights | undefined;
  let liveSlot: Slot | undefined;
  if (!forward) {
    problems.push(`listener ${service.listenerArn} not found`);
  } else {
    const fw = forward.weights;
    const known = [blue.targetGroupArn, green.targetGroupArn];
    for (const [slot, cfg] of Object.entries(service.slots)) {
      if (!(cfg.targetGroupArn in fw)) problems.push(`the listener does not forward to the ${slot} slot's target group`);
    }
    const others = Object.entries(fw).filter(([arn, w]) => !known.includes(arn) && w > 0);
    if (others.length) problems.push(`the listener also forwards to target groups Cutover does not manage: ${others.map(([a]) => a).join(', ')}`);
    // Exact shares: ALB weights are relative, so raw 999/1 is 99.9 / 0.1, split, and never reads as 100/0.
    weights = slotWeights(fw, service.slots);
    liveSlot = liveSlotFromWeights(weights);
    if (!liveSlot) {
      const what = weights.blue === 0 && weights.green === 0 ? 'neither slot has traffic' : 'traffic is split';
      problems.push(`${what} (${weightsText(weights)}); a rollout starts only from 100/0`);
    }
  }

  // The test cohort's rule is made later (new tasks steady): refuse now what could not be made then.
  if (forward) problems.push(...(await testRuleProblems(service, deps)));
  const liveSvc = liveSlot === 'blue' ? blueSvc : liveSlot === 'green' ? greenSvc : undefined;
  if (liveSlot && liveSvc && expected && !service.adoptDrift) problems.push(...driftProblems(expected, liveSlot, liveSvc));
  const idleSvc = liveSlot === 'blue' ? greenSvc : liveSlot === 'green' ? blueSvc : undefined;
  if (liveSvc) {
    const td = await deps.ecs.describeTaskDefinition(liveSvc.taskDefinition);
    if (!td) {
      problems.push(`the live task definition ${liveSvc.taskDefinition} cannot be read`);
    } else {
      const inactive = inactiveRevision(liveSvc.taskDefinition, td);
      if (inactive) problems.push(`the live revision ${inactive}; it cannot be the retained revision a rollback returns to`);
      const container = td.definition.containerDefinitions.find((c) => c.name === service.containerName);
      if (!container) {
        const names = td.definition.containerDefinitions.map((c) => c.name).join(', ');
        problems.push(`container ${service.containerName} is not in ${liveSvc.taskDefinition} (it has: ${names})`);
      } else if (release) {
        if (container.image === imageUri && td.tags[Tag.CLONED_FROM] === shortRevision(release.taskDefinitionArn)) {
          problems.push(
            `the live revision ${shortRevision(liveSvc.taskDefinition)} already runs the released configuration ${shortRevision(release.taskDefinitionArn)} with ${imageUri}; nothing to roll out`,
          );
        }
      } else if (container.image === imageUri) {
        problems.push(`the live revision already runs ${imageUri}; nothing to roll out`);
      }
    }
  }
  return {
    problems,
    weights,
    liveSlot,
    live: liveSvc ? { taskDefinition: liveSvc.taskDefinition, desiredCount: liveSvc.desiredCount } : undefined,
    idle: idleSvc ? { taskDefinition: idleSvc.taskDefinition } : undefined,
    alarmStates,
    expected,
  };
}

/** Scan gate: findings at or above `failOn` refuse the image; so does a scan that has not completed. */
export function scanProblems(scan: { status: string; findings: ReadonlyArray<{ name: string; severity: string }> }, failOn: string): string[] {
  if (scan.status !== 'COMPLETE' && scan.status !== 'ACTIVE') return [`the image scan is ${scan.status}, not COMPLETE: the scan gate cannot pass it`];
  const rank = (severity: string) => (SCAN_SEVERITIES as readonly string[]).indexOf(severity);
  const blocking = scan.findings.filter((f) => rank(f.severity) >= rank(failOn));
  if (blocking.length === 0) return [];
  const names = blocking
    .slice(0, 10)
    .map((f) => `${f.name} (${f.severity})`)
    .join(', ');
  return [`image scan: ${blocking.length} finding(s) at or above ${failOn}: ${names}${blocking.length > 10 ? ', …' : ''}`];
}

export { driftProblems } from '../core/drift';
import { driftProblems } from '../core/drift';
import { Tag } from '../register/register';

/**
 * Closes a push that does not roll out with its one history record, and says so with the error. Keyed by the
 * push's own time, so a retried prepare rewrites the same record instead of adding a second one.
 */
async function refuse(state: RolloutState, outcome: 'REFUSED' | 'SUPERSEDED' | 'FAILED', reason: string, deps: PrepareDeps, pushedAt?: string): Promise<void> {
  const now = deps.clock.now().toISOString();
  const pushTime = pushTimeOf(state, pushedAt);
  const startedAt = pushTime ?? now;
  await deps.store.putHistory({ service: state.service.name, rolloutId: state.rolloutId, startedAt, endedAt: now, outcome, image: state.image.uri, pushedAt, reason, trigger: triggerText(state) });
  deps.log.info(outcome === 'REFUSED' ? 'push refused' : 'push superseded', { rolloutId: state.rolloutId, service: state.service.name, reason });
  // This push may have been woken for its turn: out of the queue, and the turn goes on to the next waiter.
  if (pushTime) await deps.store.dequeue(state.service.name, state.rolloutId, pushTime);
  if (!(await deps.store.getLock(state.service.name))) await wakeNextAfterRelease(state.service, deps);
}

/**
 * Runs prepare.
 * @throws InvalidInputError, PreflightFailedError, RolloutBusyError, SupersededError: all before any change.
 * @throws RolloutQueuedError: this push waits for its turn.
 */
export async function prepare(state: unknown, deps: PrepareDeps): Promise<LiveState> {
  assertRolloutInput(state);
  const { rolloutId, service, image } = state as RolloutState;

  // 1. The push itself, before it may disturb the rollout in flight. A scan still running: wait for it.
  const checked = await pushChecks(service, image, deps, (state as RolloutState).scanWait);
  if (checked.scanPending) throw new ScanPendingError(`the image scan of ${image.digest.slice(0, 19)}… is not complete yet: waiting for it`);
  if (checked.decision) deps.log.warn('image scan gate', { rolloutId, service: service.name, decision: checked.decision });
  if (checked.problems.length) {
    const reason = `pre-flight failed: ${checked.problems.join('; ')}`;
    await refuse(state, 'REFUSED', reason, deps);
    // A retried prepare that held the lock already gives it back, and the next waiting push its turn.
    if (await deps.store.releaseLock(service.name, rolloutId)) await wakeNextAfterRelease(service, deps);
    throw new PreflightFailedError(service.name, checked.problems);
  }
  const push: PushRef = { pushedAt: pushTimeOf(state, checked.pushedAt) ?? deps.clock.now().toISOString(), digest: image.digest };
  await refuseIfOlderThanLive(state, push, (await deps.store.getServiceState(service.name))?.push, deps);

  // 2. Whose turn: take the lock, wait, supersede, or drop this push.
  const lock = await takeTurn(state, push, deps);
  // Stopped while it waited for the lock: the execution-ended event may have come before the lock was
  // taken, so nobody else would ever give it back.
  const status = await deps.executions.status(rolloutId);
  if (ENDED.has(status)) {
    await deps.store.releaseLock(service.name, rolloutId);
    await refuse(state, 'FAILED', `the execution ended ${status} before it changed anything`, deps, push.pushedAt);
    throw new LockLostError(service.name, rolloutId, undefined);
  }
  const owner: Owner = { service: service.name, rolloutId, generation: lock.generation };
  const startedAt = lock.startedAt;

  // 3. The service, under the lock. A newer push may have gone live while this one waited.
  const seen = await preflight(service, image, deps, state.release);
  try {
    await refuseIfOlderThanLive(state, push, seen.expected?.push, deps);
  } catch (error) {
    await deps.store.releaseLock(service.name, rolloutId);
    await wakeNextAfterRelease(service, deps);
    throw error;
  }
  if (seen.problems.length || !seen.liveSlot || !seen.live || !seen.idle || !seen.weights) {
    await deps.store.putHistory({
      service: service.name,
      rolloutId,
      startedAt,
      endedAt: deps.clock.now().toISOString(),
      outcome: 'REFUSED',
      image: image.uri,
      pushedAt: push.pushedAt,
      trigger: triggerText(state),
      reason: `pre-flight failed: ${seen.problems.join('; ')}`,
    });
    await deps.store.releaseLock(service.name, rolloutId);
    await wakeNextAfterRelease(service, deps);
    throw new PreflightFailedError(service.name, seen.problems);
  }

  const idleSlot = otherSlot(seen.liveSlot);
  const alarmText = seen.alarmStates.map((a) => `${a.name} ${a.state}`).join(', ');
  const decision =
    `${seen.liveSlot} is live on ${shortRevision(seen.live.taskDefinition)} (${seen.live.desiredCount} tasks); ` + `${idleSlot} is idle and takes the new revision; alarms: ${alarmText}`;
  const plan = service.plan.steps.map((s) => describeStep(s, idleSlot)).join(' → ');
  // What recovery restores if this rollout dies from here on: the retained revision on the live slot; and
  // the listener write an abort makes at once to put the traffic back there.
  const retained = { slot: seen.liveSlot, taskDefinitionArn: seen.live.taskDefinition, desiredCount: seen.live.desiredCount, phase: 'retained' } as const;
  const fallback = { listenerArn: service.listenerArn, weights: targetGroupWeights(service.slots, weightsFor(seen.liveSlot, 100)), target: retained };
  await fenced(owner, deps, { target: retained, fallback });
  await deps.store.putHistory({
    service: service.name,
    rolloutId,
    startedAt,
    outcome: 'RUNNING',
    image: image.uri,
    pushedAt: push.pushedAt,
    trigger: triggerText(state),
    liveSlot: seen.liveSlot,
    retainedTaskDefinitionArn: seen.live.taskDefinition,
    weights: seen.weights,
  });
  deps.log.info('rollout prepared', { rolloutId, service: service.name, generation: lock.generation, decision });
  const { thread } =
    (await deps.notifier?.post(`Rolling out *${service.name}*: ${image.tag ? `${slackText(image.tag)} ` : ''}${image.digest.slice(0, 19)}… (${rolloutId})\nPlan: ${plan}\n${decision}`)) ?? {};
  await deps.store.updateLock(service.name, rolloutId, {
    newSlot: idleSlot,
    weights: seen.weights,
    idleService: { cluster: service.cluster, serviceName: service.slots[idleSlot].serviceName },
    thread,
  });
  return {
    thread,
    startedAt,
    generation: lock.generation,
    liveSlot: seen.liveSlot,
    idleSlot,
    retainedTaskDefinitionArn: seen.live.taskDefinition,
    idleTaskDefinitionArn: seen.idle.taskDefinition,
    desiredCount: seen.live.desiredCount,
    weights: seen.weights,
    decision,
  };
}

/** What started a rollout, as its history record keeps it: `ecr-push:<event id>`, `cli:<user> retry of <id>`. */
const triggerText = (state: RolloutState) => `${state.trigger?.kind ?? 'unknown'}:${state.trigger?.id ?? ''}`;

/** A late (or repeated) delivery of a push older than the image live now never replaces it. */
async function refuseIfOlderThanLive(state: RolloutState, push: PushRef, live: PushRef | undefined, deps: PrepareDeps): Promise<void> {
  if (!live || isNewerPush(push, live)) return;
  // A retry runs the newest push again on purpose (its record says it failed or was rolled back); whether
  // that image is live already, pre-flight tells from the live revision itself.
  // A release of the user's new configuration runs the live image again on purpose, with its push time.
  if ((state.retryOf || state.release) && live.digest === push.digest) return;
  const reason =
    live.digest === push.digest
      ? `${push.digest.slice(0, 19)}… is the image live now; nothing to roll out`
      : `pushed at ${push.pushedAt}, before the image live now (${live.digest.slice(0, 19)}…, pushed at ${live.pushedAt}): a late delivery never replaces a newer image`;
  await refuse(state, 'SUPERSEDED', reason, deps, push.pushedAt);
  throw new SupersededError(reason);
}

/**
 * Takes the service's lock, or applies the concurrency policy when another owner holds it: a dead owner is
 * recovered first (once its lease has run out); otherwise `reject` refuses, `queue` waits, and `supersede`
 * aborts an older holder and waits for its rollback to hand over, or drops this push if it is the older one.
 */
async function takeTurn(state: RolloutState, push: PushRef, deps: PrepareDeps): Promise<LockRecord> {
  const { rolloutId, service, image } = state;
  // The canary analysis's alarms are listed now (they exist from the first canary weight): the alarm path
  // aborts this rollout on them, never on a leftover of an earlier rollout's.
  const alarms = [...service.alarms, ...watchedAnalysisAlarms(service, rolloutId)];
  const request = { service: service.name, rolloutId, startedAt: deps.clock.now().toISOString(), alarms, push, image: image.uri };
  let taken = await deps.store.acquireLock(request);
  if (!taken.acquired && (await isDead(taken.holder, deps))) {
    const recovered = await recoverService(
      service,
      taken.holder,
      `rollout ${taken.holder.rolloutId} ended while it owned the service`,
      { ...deps, sleep: deps.sleep ?? realSleep },
      PREPARE_RECOVERY_WAIT_MS,
    );
    // The dead owner's last write may still land for longer than this call may wait: the state machine
    // retries Prepare later (nobody would wake a push queued behind a dead owner).
    if (recovered.status === 'wait') throw new RecoveryPendingError(`${taken.holder.rolloutId} has ended but ${recovered.decision}`);
    taken = await deps.store.acquireLock(request);
  }
  if (taken.acquired) {
    await deps.store.dequeue(service.name, rolloutId, push.pushedAt);
    return taken.lock;
  }
  const holder = taken.holder;
  const policy = service.concurrency ?? 'supersede';
  if (policy === 'reject') {
    await refuse(state, 'REFUSED', `busy: rollout ${holder.rolloutId} is in progress (concurrency: reject)`, deps, push.pushedAt);
    throw new RolloutBusyError(service.name, holder.rolloutId);
  }
  if (policy === 'supersede') {
    const newerWaiting = (await deps.store.queued(service.name)).find((q) => q.rolloutId !== rolloutId && isNewerPush({ pushedAt: q.pushedAt, digest: q.digest ?? q.rolloutId }, push));
    const newer = holder.push && isNewerPush(holder.push, push) ? holder.rolloutId : newerWaiting?.rolloutId;
    if (newer) {
      const reason = `superseded on arrival: the newer push ${newer} is rolling out or waiting`;
      await refuse(state, 'SUPERSEDED', reason, deps, push.pushedAt);
      throw new SupersededError(reason);
    }
    if (!holder.abort && holder.push) await supersede(holder, rolloutId, deps);
  }
  throw new RolloutQueuedError(service.name, holder.rolloutId, policy);
}
