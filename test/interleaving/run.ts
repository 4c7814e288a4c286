/**
 * Runs one schedule against the real state machine (`LocalStepFunctions` over the real definition) and the
 * real handlers (`localFunctions` of the local runtime) wired to a {@link World}, in virtual time.
 *
 * The scheduler: the caller installs fake timers (setTimeout, setInterval, Date) and hands over a
 * {@link VirtualTimers} that fires the next due timer. Everything that takes time is a fake timer: each port
 * call's seeded delay, the definition's Wait states and task timeouts, the retries, the lease recovery waits
 * out, and the schedule's own events. Firing one timer at a time, each followed by a full turn of the real
 * event loop (which drains every promise it set off), makes the run a pure function of the seed: no
 * wall-clock wait anywhere, however loaded the machine.
 *
 * The run ends when it has settled: every time-triggered event injected, no execution running, no delivery
 * or invocation under way. A run that does not settle within the bounds is a failure of its own.
 */
import { execute, type Actor } from '../../functions/chat/commands';
import { realSleep, silentLog, systemClock, type Executions } from '../../functions/core/ports';
import { alarmEventPattern, ecsFailurePattern, executionEndedPattern, matchesPattern, pushEventPattern, type EventPattern } from '../../infra/rules';
import { alarmStateChangeEvent, ecrPushEvent } from '../../infra/local/events';
import { localFunctions, type LocalPorts } from '../../infra/local/runtime';
import { LocalStepFunctions, type LocalEvent } from '../../infra/local/sfn';
import { checkSettled, type AcceptedAbort, type PushRecord } from './invariants';
import { describeEvent, type Action, type Schedule, type ScheduledEvent } from './schedule';
import { ACCOUNT, REGION, World, type Violation } from './world';

/** The virtual clock, as the test framework drives it. */
export interface VirtualTimers {
  /** Fires the next due timer, then lets every promise it set off run. */
  next(): Promise<void>;
  /** How many timers are pending. */
  pending(): number;
}

export interface RunLimits {
  /** Timers fired before the run counts as not settling. @default 100_000 */
  readonly maxTimers?: number;
  /** Virtual time before the run counts as not settling. @default 10 days (past every wait of the definition but a paused hold's second round) */
  readonly maxVirtualMs?: number;
}

/** What one seed did and what broke. */
export interface RunOutcome {
  readonly seed: number;
  readonly violations: readonly Violation[];
  readonly journal: readonly string[];
  /** Events the schedule holds, and how many of them happened (a state-triggered one may never fire). */
  readonly scheduled: number;
  readonly injected: number;
  readonly executions: number;
  readonly invocations: number;
  readonly calls: number;
  readonly faultsFired: number;
  readonly timersFired: number;
  readonly virtualMs: number;
}

/** The functions' write lease in the world: far above a call's few ms, far below a bake. */
export const LEASE_MS = 2_000;
/** Lambda's retries of an asynchronous invocation (EventBridge targets): after 1 and 2 minutes. */
const ASYNC_RETRY_MS = [60_000, 120_000] as const;
/** Before a Task retry (the definition's backoff is replaced by a fixed pause locally). */
const RETRY_MS = 1_000;

/** ECS's deployment circuit breaker failing a service's deployment, as EventBridge delivers it. */
function ecsDeploymentFailedEvent(cluster: string, serviceName: string) {
  const time = new Date().toISOString();
  return {
    version: '0',
    id: `ecs-${serviceName}-${Date.now()}`,
    'detail-type': 'ECS Deployment State Change',
    source: 'aws.ecs',
    account: ACCOUNT,
    time: time.replace(/\.\d+Z$/, 'Z'),
    region: REGION,
    resources: [`arn:aws:ecs:${REGION}:${ACCOUNT}:service/${cluster}/${serviceName}`],
    detail: { eventType: 'ERROR', eventName: 'SERVICE_DEPLOYMENT_FAILED', deploymentId: `ecs-svc/${Date.now()}`, updatedAt: time, reason: 'ECS deployment circuit breaker: tasks failed to start.' },
  };
}

/** The rollout, alarm or command an event is about: keys the seeded delays of the invocation. */
function labelOf(event: unknown): string {
  const e = event as { rolloutId?: unknown; state?: { rolloutId?: unknown }; detail?: Record<string, unknown> } | null;
  const label = e?.state?.rolloutId ?? e?.rolloutId ?? e?.detail?.name ?? e?.detail?.alarmName ?? e?.detail?.['image-digest'];
  return typeof label === 'string' ? label : '';
}

/**
 * Longest an execution may run: every wait a schedule sets up (bakes, gates, rollback windows, holds until
 * resume, Lambda's async retries) ends well within it; only the definition's safety timeouts (a day waiting
 * for the turn, a week of hold) go past it.
 */
export const PROMPT_MS = 3_600_000;

/**
 * Prompt: no execution ran past {@link PROMPT_MS}, i.e. none waited for a safety timeout to end a wait that
 * an event (a release of the lock, a resume) should have ended. Names the state of its longest wait.
 */
function checkPrompt(sfn: LocalStepFunctions, world: World): Violation[] {
  const violations: Violation[] = [];
  for (const e of sfn.executions.values()) {
    const ran = (e.stoppedAt?.getTime() ?? Date.now()) - e.startedAt.getTime();
    if (ran <= PROMPT_MS) continue;
    let longest = { ms: 0, state: '?' };
    for (let i = 1; i < e.events.length; i++) {
      const gap = e.events[i]!.at - e.events[i - 1]!.at;
      if (gap > longest.ms) longest = { ms: gap, state: e.events[i - 1]!.state ?? '?' };
    }
    violations.push({
      invariant: 'prompt',
      atMs: world.now(),
      detail: `${e.name} ran ${(ran / 3_600_000).toFixed(1)} h: it waited ${(longest.ms / 3_600_000).toFixed(1)} h in "${longest.state}" for that state's timeout`,
    });
  }
  return violations;
}

/** Runs `schedule` to the end in virtual time and checks every invariant. */
export async function runSchedule(schedule: Schedule, timers: VirtualTimers, limits: RunLimits = {}): Promise<RunOutcome> {
  const world = new World({ seed: schedule.seed, services: schedule.services });
  const ports: LocalPorts = {
    ecs: world.ecs,
    traffic: world.traffic,
    alarms: world.alarms,
    registry: world.registry,
    store: world.rolloutStore,
    requestLedger: world.requestLedger,
    executions: undefined as unknown as Executions,
    clock: systemClock,
    log: silentLog,
    services: [...schedule.services],
    signingSecret: async () => 'interleaving-signing-secret',
    executionUrl: (rolloutId) => `local execution ${rolloutId}`,
    sleep: realSleep,
    leaseMs: LEASE_MS,
    // Commands run through execute() here, never through the Slack endpoint: nothing is deferred or posted.
    deferral: { defer: async () => Promise.reject(new Error('the interleaving runner sends no slash command')) },
    responses: { post: async () => Promise.reject(new Error('the interleaving runner sends no slash command')) },
    loopbackResponseUrls: false,
  };
  const functions = localFunctions(ports, (fn, run) => (event) => world.invoke(fn, labelOf(event), () => run(event)));

  /** Work under way that the run must wait for: scheduled injections, deliveries, commands. */
  let busy = 0;
  let injected = 0;
  const pushes: PushRecord[] = [];
  const aborts: AcceptedAbort[] = [];
  const armedOnState: ScheduledEvent[] = [];

  const track = (work: () => Promise<unknown>): void => {
    busy++;
    void work()
      .catch((error: Error) => world.note(`driver error: ${error.name}: ${error.message}`))
      .finally(() => busy--);
  };
  const later = (ms: number, work: () => unknown): void => track(() => new Promise<void>((resolve) => setTimeout(resolve, ms)).then(() => work()));

  let sfn: LocalStepFunctions;
  const rules: Array<{ pattern: EventPattern; target: string }> = [];

  /** EventBridge → Lambda, asynchronously: an error is retried twice, a minute and two minutes later. */
  const deliver = async (event: unknown): Promise<unknown> => {
    const rule = rules.find((r) => matchesPattern(r.pattern, event));
    if (!rule) return undefined;
    for (let attempt = 0; ; attempt++) {
      try {
        return await functions[rule.target]!(JSON.parse(JSON.stringify(event)));
      } catch (error) {
        const e = error as Error;
        world.note(`${rule.target} failed: ${e.name}: ${e.message.slice(0, 160)}${attempt < ASYNC_RETRY_MS.length ? '; Lambda retries it' : '; dropped after 3 attempts'}`);
        if (attempt >= ASYNC_RETRY_MS.length) return undefined;
        await new Promise((resolve) => setTimeout(resolve, ASYNC_RETRY_MS[attempt]));
      }
    }
  };

  let operators = 0;
  /** A CLI command through `execute()`, as one invocation of the chat function. */
  const command = async (service: string, text: string): Promise<void> => {
    const actor: Actor = { user: `operator-${++operators}`, via: 'cli' };
    const line = `${text.split(' ')[0]} ${service}${text
      .split(' ')
      .slice(1)
      .map((a) => ` ${a}`)
      .join('')}`;
    try {
      const reply = await world.invoke('chat', line, () => execute(line, actor, ports));
      world.note(`/cutover ${line} → ${reply.status} ${reply.text.slice(0, 200)}`);
      const audited = world.store.allCommands(service).find((c) => c.user === actor.user);
      if (text.startsWith('rollback') && (reply.status === 200 || reply.status === 202) && audited?.rolloutId)
        aborts.push({ service, rolloutId: audited.rolloutId, by: `/cutover ${line} (${reply.status})` });
    } catch (error) {
      world.note(`/cutover ${line} failed: ${(error as Error).name}`);
      throw error;
    }
  };

  const inject = (event: ScheduledEvent): void => {
    injected++;
    world.note(`event: ${describeEvent(event)}`);
    act(event.action);
  };

  const act = (a: Action): void => {
    switch (a.kind) {
      case 'push': {
        const earlier = a.sameInstantAs ? pushes.find((p) => p.digest === a.sameInstantAs) : undefined;
        const pushedAt = earlier?.pushedAt ?? new Date().toISOString();
        if (a.inEcr) world.putImage(a.repository, a.digest, pushedAt, { broken: a.broken, slowDescribes: a.slowChecks });
        pushes.push({ repository: a.repository, digest: a.digest, pushedAt, inEcr: a.inEcr, broken: a.broken, slowChecks: a.slowChecks });
        for (const d of a.deliveries) later(d.afterMs, () => deliver(ecrPushEvent({ repository: a.repository, digest: a.digest, tag: d.tag, time: new Date(pushedAt) })));
        return;
      }
      case 'alarm': {
        world.setAlarm(a.alarm, 'ALARM', 'injected');
        track(async () => {
          const out = (await deliver(alarmStateChangeEvent({ alarmName: a.alarm, state: 'ALARM', previous: 'OK', reason: 'injected' }))) as
            | { aborted?: Array<{ service: string; rolloutId: string }> }
            | undefined;
          for (const x of out?.aborted ?? []) aborts.push({ service: x.service, rolloutId: x.rolloutId, by: `alarm ${a.alarm}` });
        });
        later(a.okAfterMs, () => {
          world.setAlarm(a.alarm, 'OK', 'recovered');
          return deliver(alarmStateChangeEvent({ alarmName: a.alarm, state: 'OK', previous: 'ALARM' }));
        });
        return;
      }
      case 'command':
        track(() => command(a.service, a.text === 'rollback' ? 'rollback interleaving test' : a.text));
        return;
      case 'pause':
        track(() => command(a.service, 'pause'));
        // An operator who paused resumes; a resume lost to a crash is sent again once the failed one has
        // ended, as long as the lock still records a pause.
        later(a.resumeAfterMs, async () => {
          const paused = () => (world.store.rawLock(a.service) as { pause?: unknown } | undefined)?.pause !== undefined;
          for (let attempt = 0; attempt < 5; attempt++) {
            try {
              return await command(a.service, 'resume');
            } catch {
              if (!paused()) return;
            }
          }
        });
        return;
      case 'crash':
        world.arm(a.fault);
        return;
      case 'stop': {
        const holder = (world.store.rawLock(a.service) as { rolloutId?: string } | undefined)?.rolloutId;
        const running = [...sfn.executions.values()].filter((e) => e.status === 'RUNNING' && (e.input as { service?: { name?: string } }).service?.name === a.service);
        const victim = running.find((e) => e.name === holder) ?? running[0];
        if (victim) {
          world.note(`StopExecution ${victim.name} (in ${victim.states[victim.states.length - 1]})`);
          sfn.stop(victim.name);
        }
        return;
      }
      case 'scale-new-slot': {
        const lock = world.store.rawLock(a.service) as { rolloutId?: string; newSlot?: 'blue' | 'green' } | undefined;
        if (lock?.rolloutId && lock.newSlot) {
          world.note(`${a.service} ${lock.newSlot} slot scaled to 0 by hand during ${lock.rolloutId}`);
          world.scaleOutOfBand(world.service(a.service), lock.newSlot, 0);
        }
        return;
      }
    }
  };

  const onEvent = (e: LocalEvent): void => {
    if (e.type === 'ExecutionSucceeded' || e.type === 'ExecutionFailed' || e.type === 'ExecutionAborted') world.note(`${e.execution} ${e.type} in "${e.state}"${e.error ? ` ${e.error}` : ''}`);
    if (e.type !== 'StateEntered' || !e.state) return;
    const service = (sfn.executions.get(e.execution)?.input as { service?: { name?: string } } | undefined)?.service?.name;
    for (let i = 0; i < armedOnState.length; i++) {
      const event = armedOnState[i]!;
      const t = event.trigger;
      if ('onState' in t && t.onState === e.state && t.service === service) {
        armedOnState.splice(i--, 1);
        later(t.afterMs, () => inject(event));
      }
    }
  };

  sfn = new LocalStepFunctions(functions, {
    timeScale: 1,
    retryMs: RETRY_MS,
    onEvent,
    onExecutionEnded: (event) => track(() => deliver(event)),
  });
  ports.executions = world.instrumentExecutions(sfn);
  world.onDeploymentFailed = (cluster, serviceName) =>
    later(500, async () => {
      const out = (await deliver(ecsDeploymentFailedEvent(cluster, serviceName))) as { aborted?: Array<{ service: string; rolloutId: string }> } | undefined;
      for (const x of out?.aborted ?? []) aborts.push({ service: x.service, rolloutId: x.rolloutId, by: `ECS deployment failure of ${serviceName}` });
    });
  rules.push(
    { pattern: pushEventPattern([...new Set(schedule.services.map((s) => s.repository))]), target: 'start' },
    { pattern: alarmEventPattern(schedule.services.flatMap((s) => s.alarms)), target: 'alarm' },
    { pattern: ecsFailurePattern(), target: 'alarm' },
    { pattern: executionEndedPattern(sfn.stateMachineArn), target: 'reconcile' },
  );

  for (const event of schedule.events) {
    const t = event.trigger;
    if ('atMs' in t) later(t.atMs, () => inject(event));
    else armedOnState.push(event);
  }

  const maxTimers = limits.maxTimers ?? 100_000;
  const maxVirtualMs = limits.maxVirtualMs ?? 10 * 86_400_000;
  const running = () => [...sfn.executions.values()].filter((e) => e.status === 'RUNNING');
  const settled = () => busy === 0 && world.running.size === 0 && world.landing === 0 && running().length === 0;
  let fired = 0;
  const stuck: Violation[] = [];
  while (!settled()) {
    if (timers.pending() === 0 || fired >= maxTimers || world.now() > maxVirtualMs) {
      const where = running()
        .map((e) => `${e.name} in "${e.states[e.states.length - 1]}"`)
        .join(', ');
      stuck.push({
        invariant: 'settles',
        atMs: world.now(),
        detail: `did not settle after ${fired} timers (${timers.pending()} pending, ${busy} deliveries, ${world.running.size} invocations: ${world.describeRunning()}, running: ${where || 'none'})`,
      });
      break;
    }
    await timers.next();
    fired++;
  }

  const final = stuck.length ? stuck : [...checkSettled(world, schedule, { pushes, aborts }), ...checkPrompt(sfn, world)];
  for (const v of final) world.note(`VIOLATION ${v.invariant}: ${v.detail}`);
  return {
    seed: schedule.seed,
    violations: [...world.violations, ...final],
    journal: world.journal,
    scheduled: schedule.events.length,
    injected,
    executions: sfn.executions.size,
    invocations: Object.values(world.invocations).reduce((a, b) => a + b, 0),
    calls: world.calls,
    faultsFired: world.faultsFired,
    timersFired: fired,
    virtualMs: world.now(),
  };
}
