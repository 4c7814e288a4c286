/**
 * Prepare: validate the input, take the service's lock, read the live state and run the pre-flight checks.
 * A refusal (busy, bad input, failed pre-flight) changes nothing: the lock is released again and the
 * reason is written to the history record.
 */
import { otherSlot, SCAN_SEVERITIES, type ServiceConfig, type Slot } from '../core/config';
import { PreflightFailedError, RolloutBusyError, RolloutQueuedError } from '../core/errors';
import { isStale, supersede, wakeNext } from '../core/turns';
import { assertRolloutInput } from '../core/input';
import type { Alarms, Clock, Ecs, Executions, LockRecord, Log, Notifier, Registry, RolloutStore, ServiceState, Traffic } from '../core/ports';
import { describeStep } from '../core/plan';
import { liveSlotFromWeights, shortRevision, type LiveState, type RolloutState, type Weights } from '../core/rollout';

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
}

/** What pre-flight read; enough to decide and to explain. */
interface Observed {
  readonly problems: string[];
  readonly weights?: Weights;
  readonly liveSlot?: Slot;
  readonly live?: { taskDefinition: string; desiredCount: number };
  readonly idle?: { taskDefinition: string };
  readonly alarmStates: ReadonlyArray<{ name: string; state: string }>;
}

export async function preflight(service: ServiceConfig, image: RolloutState['image'], deps: PrepareDeps): Promise<Observed> {
  const imageUri = image.uri;
  const problems: string[] = [];
  const { blue, green } = service.slots;

  const [expected, imageFound, scan, forward, existingGroups, alarmStates, blueSvc, greenSvc] = await Promise.all([
    deps.store.getServiceState(service.name),
    deps.registry.imageExists(image.repository, image.digest),
    service.imageScan ? deps.registry.scanFindings(image.repository, image.digest) : undefined,
    deps.traffic.readForward(service.listenerArn),
    deps.traffic.existingTargetGroups([blue.targetGroupArn, green.targetGroupArn]),
    deps.alarms.describe(service.alarms),
    deps.ecs.describeService(service.cluster, blue.serviceName),
    deps.ecs.describeService(service.cluster, green.serviceName),
  ]);

  if (!imageFound) problems.push(`image ${image.digest} is not in ECR repository ${image.repository}`);
  if (service.imageScan && scan) problems.push(...scanProblems(scan, service.imageScan.failOn));
  // CloudWatch treats a missing alarm as never firing: a typo would silently disable rollback.
  for (const name of service.alarms) {
    if (!alarmStates.some((a) => a.name === name)) problems.push(`alarm ${name} does not exist (a missing alarm never fires, so it cannot stop a bad rollout)`);
  }
  for (const [slot, cfg] of Object.entries(service.slots)) {
    if (!existingGroups.has(cfg.targetGroupArn)) problems.push(`target group of the ${slot} slot does not exist: ${cfg.targetGroupArn}`);
  }
  if (!blueSvc) problems.push(`ECS service ${blue.serviceName} (blue slot) not found in cluster ${service.cluster}`);
  if (!greenSvc) problems.push(`ECS service ${green.serviceName} (green slot) not found in cluster ${service.cluster}`);

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
    weights = { blue: fw[blue.targetGroupArn] ?? 0, green: fw[green.targetGroupArn] ?? 0 };
    liveSlot = liveSlotFromWeights(weights);
    if (!liveSlot) problems.push(`traffic is split (blue ${weights.blue} / green ${weights.green}); a rollout starts only from 100/0`);
  }

  const liveSvc = liveSlot === 'blue' ? blueSvc : liveSlot === 'green' ? greenSvc : undefined;
  if (liveSlot && liveSvc && expected && !service.adoptDrift) problems.push(...driftProblems(expected, liveSlot, liveSvc));
  const idleSvc = liveSlot === 'blue' ? greenSvc : liveSlot === 'green' ? blueSvc : undefined;
  if (liveSvc) {
    const td = await deps.ecs.describeTaskDefinition(liveSvc.taskDefinition);
    if (!td) {
      problems.push(`the live task definition ${liveSvc.taskDefinition} cannot be read`);
    } else {
      const container = td.definition.containerDefinitions.find((c) => c.name === service.containerName);
      if (!container) {
        const names = td.definition.containerDefinitions.map((c) => c.name).join(', ');
        problems.push(`container ${service.containerName} is not in ${liveSvc.taskDefinition} (it has: ${names})`);
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
  };
}

/** Scan gate: findings at or above `failOn` refuse the image; so does a scan that has not completed. */
export function scanProblems(scan: { status: string; findings: ReadonlyArray<{ name: string; severity: string }> }, failOn: string): string[] {
  if (scan.status !== 'COMPLETE' && scan.status !== 'ACTIVE') return [`the image scan is ${scan.status}, not COMPLETE: the scan gate cannot pass it`];
  const rank = (severity: string) => (SCAN_SEVERITIES as readonly string[]).indexOf(severity);
  const blocking = scan.findings.filter((f) => rank(f.severity) >= rank(failOn));
  if (blocking.length === 0) return [];
  const names = blocking.slice(0, 10).map((f) => `${f.name} (${f.severity})`).join(', ');
  return [`image scan: ${blocking.length} finding(s) at or above ${failOn}: ${names}${blocking.length > 10 ? ', …' : ''}`];
}

export { driftProblems } from '../core/drift';
import { driftProblems } from '../core/drift';

/**
 * Runs prepare.
 * @throws InvalidInputError, RolloutBusyError, PreflightFailedError: all before any change.
 */
export async function prepare(state: unknown, deps: PrepareDeps): Promise<LiveState> {
  assertRolloutInput(state);
  const { rolloutId, service, image } = state as RolloutState;
  const now = deps.clock.now().toISOString();

  const lock = await takeTurn(state as RolloutState, now, deps);
  const startedAt = lock.startedAt;

  const seen = await preflight(service, image, deps);
  if (seen.problems.length || !seen.liveSlot || !seen.live || !seen.idle || !seen.weights) {
    await deps.store.putHistory({
      service: service.name, rolloutId, startedAt, endedAt: now, outcome: 'REFUSED', image: image.uri,
      reason: `pre-flight failed: ${seen.problems.join('; ')}`,
    });
    await deps.store.releaseLock(service.name, rolloutId);
    await wakeNext(service, deps);
    throw new PreflightFailedError(service.name, seen.problems);
  }

  const idleSlot = otherSlot(seen.liveSlot);
  await deps.store.updateLock(service.name, rolloutId, {
    newSlot: idleSlot,
    weights: seen.weights,
    idleService: { cluster: service.cluster, serviceName: service.slots[idleSlot].serviceName },
  });
  await deps.store.putHistory({
    service: service.name, rolloutId, startedAt, outcome: 'RUNNING', image: image.uri,
    trigger: `${state.trigger?.kind ?? 'unknown'}:${state.trigger?.id ?? ''}`,
    liveSlot: seen.liveSlot, retainedTaskDefinitionArn: seen.live.taskDefinition, weights: seen.weights,
  });
  const alarmText = seen.alarmStates.map((a) => `${a.name} ${a.state}`).join(', ');
  const decision =
    `${seen.liveSlot} is live on ${shortRevision(seen.live.taskDefinition)} (${seen.live.desiredCount} tasks); ` +
    `${idleSlot} is idle and takes the new revision; alarms: ${alarmText}`;
  deps.log.info('rollout prepared', { rolloutId, service: service.name, decision });
  const plan = service.plan.steps.map((s) => describeStep(s, idleSlot)).join(' → ');
  const { thread } = (await deps.notifier?.post(`Rolling out *${service.name}*: ${image.tag ? `${image.tag} ` : ''}${image.digest.slice(0, 19)}… (${rolloutId})\nPlan: ${plan}\n${decision}`)) ?? {};
  return {
    thread,
    startedAt,
    liveSlot: seen.liveSlot,
    idleSlot,
    retainedTaskDefinitionArn: seen.live.taskDefinition,
    idleTaskDefinitionArn: seen.idle.taskDefinition,
    desiredCount: seen.live.desiredCount,
    weights: seen.weights,
    decision,
  };
}

/**
 * Takes the service's lock, or applies the concurrency policy when another rollout holds it: a stale lock
 * (its execution ended) is taken over; otherwise `reject` refuses, `queue` waits, `supersede` aborts the
 * holder and waits for its rollback to hand over.
 */
async function takeTurn(state: RolloutState, now: string, deps: PrepareDeps): Promise<LockRecord> {
  const { rolloutId, service, image, trigger } = state;
  const request = { service: service.name, rolloutId, startedAt: now, alarms: service.alarms };
  const taken = await deps.store.acquireLock(request);
  if (taken.acquired) {
    if (trigger?.at) await deps.store.dequeue(service.name, rolloutId, trigger.at);
    return taken.lock;
  }
  const holder = taken.holder;
  if (await isStale(holder, deps)) {
    const took = await deps.store.takeOverLock(holder.rolloutId, request);
    if (took) {
      deps.log.warn('stale lock taken over', { service: service.name, rolloutId, staleHolder: holder.rolloutId });
      if (trigger?.at) await deps.store.dequeue(service.name, rolloutId, trigger.at);
      return took;
    }
  }
  const policy = service.concurrency ?? 'supersede';
  if (policy === 'reject') {
    await deps.store.putHistory({
      service: service.name, rolloutId, startedAt: now, endedAt: now, outcome: 'REFUSED', image: image.uri,
      reason: `busy: rollout ${holder.rolloutId} is in progress (concurrency: reject)`,
    });
    throw new RolloutBusyError(service.name, holder.rolloutId);
  }
  if (policy === 'supersede' && !holder.abort) await supersede(holder, rolloutId, deps);
  throw new RolloutQueuedError(service.name, holder.rolloutId, policy);
}
