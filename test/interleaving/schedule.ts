/**
 * Seeded schedules of what happens to one or two managed services: pushes (delivered late, twice, under two
 * tags, at the same instant as another push, or of a digest ECR does not hold), alarms going to ALARM and
 * back, operator commands, crashes of a function before or after one of its AWS calls, executions stopped by
 * hand, and the new slot scaled to zero by someone else.
 *
 * Each event fires at a virtual time, or when an execution of its service enters a named state (plus a few
 * ms): the moments where races live (a rollback while Finalize runs, a push during the rollback window).
 * A schedule is plain data, made from the seed alone: the same seed gives the same schedule.
 */
import { createHash } from 'node:crypto';
import { withDefaults, type ServiceConfig } from '../../functions/core/config';
import type { CanaryPlan, PlanStep } from '../../functions/core/plan';
import { readRolloutDefinition } from '../../state-machines/definition';
import { Random } from './random';
import { ACCOUNT, REGION, type Fault } from './world';

/** When an event happens: at a virtual time, or when an execution of `service` enters `state`. */
export type Trigger = { readonly atMs: number } | { readonly onState: string; readonly service: string; readonly afterMs: number };

/** One delivery of a push's EventBridge event to the start function. */
export interface PushDelivery {
  readonly afterMs: number;
  readonly tag: string;
}

/** What happens. */
export type Action =
  | {
      readonly kind: 'push';
      readonly repository: string;
      readonly digest: string;
      /** Pushed at the same ECR instant as this earlier push (a tie broken by the digest). */
      readonly sameInstantAs?: string;
      /** False: the event names a digest ECR does not hold; the push must be refused. */
      readonly inEcr: boolean;
      /** Its tasks never start: the deployment fails (and ECS sends a deployment failure event). */
      readonly broken: boolean;
      /** Its tasks take that many steady checks to start (0: at once). */
      readonly slowChecks: number;
      readonly deliveries: readonly PushDelivery[];
    }
  | { readonly kind: 'alarm'; readonly alarm: string; readonly okAfterMs: number }
  | { readonly kind: 'command'; readonly service: string; readonly text: 'rollback' | 'promote' | 'promote --full' }
  | { readonly kind: 'pause'; readonly service: string; readonly resumeAfterMs: number }
  | { readonly kind: 'crash'; readonly fault: Fault }
  | { readonly kind: 'stop'; readonly service: string }
  | { readonly kind: 'scale-new-slot'; readonly service: string };

export interface ScheduledEvent {
  readonly trigger: Trigger;
  readonly action: Action;
}

export interface Schedule {
  readonly seed: number;
  readonly services: readonly ServiceConfig[];
  readonly events: readonly ScheduledEvent[];
}

/** The Task states of the definition, where state-triggered events strike. */
export const TASK_STATES: readonly string[] = Object.entries(JSON.parse(readRolloutDefinition()).States as Record<string, { Type: string }>)
  .filter(([, s]) => s.Type === 'Task')
  .map(([name]) => name);

/** The functions a crash may hit, with how often. */
const CRASH_TARGETS = {
  prepare: 3,
  register: 2,
  deploy: 2,
  'check-steady': 1,
  'check-alarms': 2,
  shift: 3,
  bake: 2,
  finalize: 4,
  retire: 3,
  rollback: 4,
  start: 1,
  alarm: 2,
  reconcile: 3,
  chat: 2,
} as const;

/** How a crash fails the call: the sandbox dies (timeout, runtime crash, Lambda service), or the call throws. */
const CRASH_ERRORS = { 'Sandbox.Timedout': 3, 'Lambda.Unknown': 1, 'Lambda.ServiceException': 2, AwsTransient: 2 } as const;

const PLANS: ReadonlyArray<readonly PlanStep[]> = [
  [
    { kind: 'setWeight', weight: 10 },
    { kind: 'bake', seconds: 20 },
    { kind: 'setWeight', weight: 100 },
  ],
  [
    { kind: 'setWeight', weight: 10 },
    { kind: 'bake', seconds: 8 },
    { kind: 'setWeight', weight: 50 },
    { kind: 'bake', seconds: 8 },
    { kind: 'setWeight', weight: 100 },
  ],
  [
    { kind: 'setWeight', weight: 20 },
    { kind: 'pause', timeoutSeconds: 25, onTimeout: 'promote' },
    { kind: 'setWeight', weight: 100 },
  ],
  [
    { kind: 'setWeight', weight: 25 },
    { kind: 'pause', timeoutSeconds: 20, onTimeout: 'rollback' },
    { kind: 'bake', seconds: 5 },
    { kind: 'setWeight', weight: 100 },
  ],
  [{ kind: 'setWeight', weight: 100 }],
];

/** A digest made from the seed and a number: 64 lowercase hex. */
function digestOf(seed: number, n: number): string {
  return `sha256:${createHash('sha256').update(`cutover-interleaving-${seed}-${n}`).digest('hex')}`;
}

function serviceConfig(name: string, repository: string, rng: Random): ServiceConfig {
  const base = `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}`;
  const plan: CanaryPlan = { steps: rng.pick(PLANS) };
  return withDefaults({
    name,
    cluster: 'prod',
    slots: {
      blue: { serviceName: `${name}-blue`, targetGroupArn: `${base}:targetgroup/${name}-blue/0123456789abcdef` },
      green: { serviceName: `${name}-green`, targetGroupArn: `${base}:targetgroup/${name}-green/fedcba9876543210` },
    },
    listenerArn: `${base}:listener/app/${name}/0123456789abcdef/fedcba9876543210`,
    containerName: 'app',
    repository,
    plan,
    alarms: [`${name}-5xx`, `${name}-latency`],
    timings: { rollbackWindowSeconds: rng.int(10, 40), steadyPollSeconds: rng.int(1, 3), steadyMaxChecks: 5 },
    concurrency: rng.weighted({ supersede: 7, queue: 2, reject: 1 }),
    keepRevisions: rng.int(0, 2),
  });
}

/** A trigger: a virtual time in the schedule's span, or a state some execution of `service` enters. */
function triggerOf(rng: Random, service: string, spanMs: number, stateShare: number): Trigger {
  if (rng.chance(stateShare)) return { onState: rng.pick(TASK_STATES), service, afterMs: rng.int(0, 8) };
  return { atMs: rng.int(0, spanMs) };
}

/** The schedule of `seed`. */
export function scheduleOf(seed: number): Schedule {
  const rng = new Random(seed);
  const two = rng.chance(0.3);
  const shared = two && rng.chance(0.5);
  const services = [serviceConfig('checkout', 'checkout', rng)];
  if (two) services.push(serviceConfig('payments', shared ? 'checkout' : 'payments', rng));
  const repositories = [...new Set(services.map((s) => s.repository))];
  const events: ScheduledEvent[] = [];

  // Pushes: close together (the same second), a few seconds apart, or after a rollout had time to finish.
  const pushes = rng.int(1, 5);
  let at = rng.int(0, 2000);
  const previous = new Map<string, { digest: string; atMs: number }>();
  for (let i = 0; i < pushes; i++) {
    const repository = rng.pick(repositories);
    const digest = digestOf(seed, i);
    const last = previous.get(repository);
    const sameInstant = last !== undefined && rng.chance(0.15);
    const pushAt = sameInstant ? last.atMs : at;
    const tag = `v${i + 1}`;
    const deliveries: PushDelivery[] = [{ afterMs: rng.chance(0.15) ? rng.int(3000, 20000) : rng.int(0, 400), tag }];
    if (rng.chance(0.2)) deliveries.push({ afterMs: rng.int(0, 3000), tag });
    if (rng.chance(0.1)) deliveries.push({ afterMs: rng.int(0, 400), tag: `release-${i + 1}` });
    const service = services.find((s) => s.repository === repository)!.name;
    const trigger: Trigger = !sameInstant && rng.chance(0.25) ? { onState: rng.pick(TASK_STATES), service, afterMs: rng.int(0, 8) } : { atMs: pushAt };
    events.push({
      trigger,
      action: {
        kind: 'push',
        repository,
        digest,
        sameInstantAs: sameInstant ? last.digest : undefined,
        inEcr: rng.chance(0.92),
        broken: rng.chance(0.08),
        slowChecks: rng.chance(0.2) ? rng.int(1, 6) : 0,
        deliveries,
      },
    });
    previous.set(repository, { digest, atMs: pushAt });
    at += rng.weighted({ sameSecond: 3, seconds: 4, later: 3 }) === 'sameSecond' ? rng.int(1, 900) : rng.chance(0.5) ? rng.int(1000, 8000) : rng.int(10000, 45000);
  }
  const spanMs = at + 10000;

  // Everything else that happens meanwhile; a quarter of the schedules are pushes alone.
  const others = rng.chance(0.25) ? 0 : rng.int(1, 6);
  for (let i = 0; i < others; i++) {
    const service = rng.pick(services);
    const kind = rng.weighted({ alarm: 3, rollback: 3, promote: 2, full: 1, pause: 1.5, crash: 5, stop: 1.5, scale: 0.7 });
    const trigger = triggerOf(rng, service.name, spanMs, 0.5);
    let action: Action;
    if (kind === 'alarm') action = { kind: 'alarm', alarm: rng.pick(service.alarms), okAfterMs: rng.int(200, 15000) };
    else if (kind === 'rollback' || kind === 'promote' || kind === 'full') action = { kind: 'command', service: service.name, text: kind === 'full' ? 'promote --full' : kind };
    else if (kind === 'pause') action = { kind: 'pause', service: service.name, resumeAfterMs: rng.int(100, 10000) };
    else if (kind === 'stop') action = { kind: 'stop', service: service.name };
    else if (kind === 'scale') action = { kind: 'scale-new-slot', service: service.name };
    else {
      const error = rng.weighted(CRASH_ERRORS);
      const kill = error !== 'AwsTransient';
      const when = rng.weighted({ before: 2, after: 2, late: kill ? 1 : 0 });
      action = { kind: 'crash', fault: { fn: rng.weighted(CRASH_TARGETS), call: rng.int(1, 6), when, error, kill } };
    }
    events.push({ trigger, action });
  }
  return { seed, services, events };
}

const short = (digest: string) => digest.slice(7, 13);

/** One line per event, for the report of a seed. */
export function describeEvent(event: ScheduledEvent): string {
  const t = event.trigger;
  const when = 'atMs' in t ? `t=${t.atMs}ms` : `on ${t.service} entering "${t.onState}"+${t.afterMs}ms`;
  const a = event.action;
  switch (a.kind) {
    case 'push': {
      const how = [
        a.sameInstantAs ? `same instant as ${short(a.sameInstantAs)}` : '',
        a.inEcr ? '' : 'not in ECR',
        a.broken ? 'broken image' : '',
        a.slowChecks ? `starts after ${a.slowChecks} checks` : '',
        a.deliveries.map((d) => `${d.tag}@+${d.afterMs}ms`).join(' '),
      ].filter(Boolean);
      return `${when}: push ${a.repository} ${short(a.digest)} (${how.join(', ')})`;
    }
    case 'alarm':
      return `${when}: alarm ${a.alarm} ALARM, OK after ${a.okAfterMs}ms`;
    case 'command':
      return `${when}: /cutover ${a.text} ${a.service}`;
    case 'pause':
      return `${when}: /cutover pause ${a.service}, resume after ${a.resumeAfterMs}ms`;
    case 'crash':
      return `${when}: crash ${a.fault.fn} ${a.fault.error} ${a.fault.when} call ${a.fault.call}`;
    case 'stop':
      return `${when}: StopExecution of ${a.service}'s rollout`;
    case 'scale-new-slot':
      return `${when}: ${a.service}'s new slot scaled to 0 by hand`;
  }
}

/** The schedule in a few words: services, plans, policies, and the events. */
export function describeSchedule(schedule: Schedule): string {
  const services = schedule.services
    .map(
      (s) =>
        `${s.name}(${s.repository}, ${s.concurrency}, ${s.plan.steps.map((p) => (p.kind === 'setWeight' ? p.weight : p.kind === 'bake' ? `bake${p.seconds}` : `gate${p.timeoutSeconds}${p.onTimeout === 'promote' ? 'p' : 'r'}`)).join('>')}, window ${s.timings.rollbackWindowSeconds}s)`,
    )
    .join(' + ');
  return `${services}; ${schedule.events.map(describeEvent).join('; ')}`;
}
