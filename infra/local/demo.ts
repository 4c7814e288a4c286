/**
 * `npm run demo`: a full rollout on the local runtime. Pushes a new image to the emulator's ECR, delivers
 * the push event through the local bus, runs the real state machine with the real handlers, and reads the
 * end state back from the emulator.
 *
 * Scenarios:
 * - `happy`: 10% → 25% → 50% → 100%, every alarm OK: SUCCEEDED.
 * - `alarm`: `checkout-5xx` goes into ALARM during the 25% bake (set on CloudWatch, delivered as the
 *   CloudWatch → EventBridge event): ROLLED_BACK.
 * - `unstable`: the new revision's tasks never start: ROLLED_BACK after the steady-state checks run out.
 * - `busy`: the service is configured with `concurrency: 'reject'` (the default is `supersede`), and a second
 *   push arrives while the first rollout runs: the second is refused (RolloutBusy) and changes nothing; the
 *   first succeeds.
 * - `broken-old`: the old (blue) slot breaks during the 10% bake (its tasks stop, its targets fail their health
 *   checks): the next check finds the rollback target cannot take the traffic back and holds at 10% with the
 *   reason (status, Slack, the decision) instead of shifting further; the slot is fixed and `/cutover resume`
 *   lets the check run again, and the rollout completes.
 * - `regression`: checkout has a canary analysis (`analysis` with its defaults, and `onInconclusive: 'rollback'`
 *   so that a bake it cannot judge rolls back instead of waiting for a human) and simulated traffic in which
 *   the new revision fails 4% of its requests against 0.5% on the old one, same p99. At 10% that moves the
 *   service-wide 5xx rate to 0.85%; `checkout-5xx` stays OK (the simulator evaluates the comparison alarms only,
 *   and nothing sets it: bench/analysis.ts measures a service-wide alarm). The error-rate comparison alarm fires during
 *   the first bake (10 minutes, so that even on a slow machine it holds several simulated periods):
 *   ROLLED_BACK, and the rollback deletes the comparison alarms.
 *
 * The emulator is started (or adopted from `AWS_ENDPOINT_URL`) before the runtime, with a progress line for
 * each stage: finding or installing moto and waiting for it take seconds on a cold machine.
 */
import { CloudWatchClient, DescribeAlarmsCommand, SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import { ANALYSIS_DEFAULTS as A, analysisAlarmPrefix } from '../../functions/core/analysis';
import type { ServiceConfig, Slot } from '../../functions/core/config';
import { canary, type CanaryPlan } from '../../functions/core/plan';
import type { HistoryRecord } from '../../functions/core/ports';
import { liveSlotFromWeights, shortRevision, slotWeights, type Outcome, type Weights } from '../../functions/core/rollout';
import { decisionOf, resultKeys } from '../../functions/read/status';
import { readRolloutDefinition } from '../../state-machines/definition';
import { clientConfig, DEMO } from './environment';
import { alarmStateChangeEvent, ecrPushEvent } from './events';
import { startEmulator, type Emulator } from './moto';
import { LocalRuntime, type LocalRuntimeOptions, type LocalSdkClient } from './runtime';
import type { LocalEvent, LocalExecution } from './sfn';
import { byRevision, type SlotBehaviour } from './traffic-simulator';
import { StateName } from '../../state-machines/states';

/** Where each state of the definition writes its result: where its decision is. */
const RESULT_KEYS = resultKeys(JSON.parse(readRolloutDefinition()));

export const SCENARIOS = ['happy', 'alarm', 'unstable', 'busy', 'broken-old', 'regression'] as const;
export type Scenario = (typeof SCENARIOS)[number];

/** The end state, read back from the emulator. */
export interface EndState {
  readonly outcome: Outcome | 'RUNNING' | 'NONE';
  readonly weights: Weights;
  readonly liveSlot: Slot | 'split';
  readonly liveTaskDefinition: string;
  readonly retainedTaskDefinition?: string;
  readonly idleSlot?: Slot;
  readonly idleTaskDefinition?: string;
  readonly idleDesiredCount?: number;
  readonly image?: string;
  readonly reason?: string;
  readonly lockHeld: boolean;
  readonly history: readonly HistoryRecord[];
}

export interface DemoResult extends EndState {
  readonly scenario: Scenario;
  /** States of the (first) rollout's execution, in order. */
  readonly states: readonly string[];
  readonly executions: ReadonlyArray<{ name: string; status: string; endState?: string; error?: string }>;
  /** `broken-old`: the hold as it was seen, before the slot was fixed and the rollout resumed. */
  readonly hold?: { readonly reason: string; readonly weights: Weights; readonly state?: string; readonly status: string };
  /** `regression`: what the canary analysis did, read back before the runtime stopped. */
  readonly analysis?: RegressionReport;
}

/** The `regression` scenario's traffic: the old revision fails 0.5% of its requests, the new one 4%, same p99. */
export const REGRESSION = {
  stable: { errorRate: 0.005, p99Ms: 120 } satisfies SlotBehaviour,
  canary: { errorRate: 0.04, p99Ms: 120 } satisfies SlotBehaviour,
  /**
   * 10% → bake 10m → 25% → 5m → 50% → 5m → 100%: the first bake holds 10 simulated periods (3 s at the demo's
   * time scale), so the comparison (2 of 3 periods) has room to fire even when ticks run late on a slow machine.
   */
  plan: { steps: [...canary([10, 25], 600).steps.slice(0, 2), ...canary([25, 50, 100], 300).steps] } satisfies CanaryPlan,
  seed: 1,
} as const;

/** What the canary analysis did in the `regression` scenario. */
export interface RegressionReport {
  /** The comparison alarms that existed once the canary took traffic. */
  readonly alarmsCreated: readonly string[];
  /** Every state change the traffic simulator made (CloudWatch's evaluation), with its reason. */
  readonly alarmChanges: ReadonlyArray<{ readonly alarmName: string; readonly to: string; readonly reason: string }>;
  /** The canary's weights, in the order Shift traffic set them. */
  readonly canaryWeights: readonly number[];
  /** The service's own alarms at the end. */
  readonly serviceAlarms: ReadonlyArray<{ readonly name: string; readonly state: string }>;
  /** Comparison alarms left on the emulator after the rollout ended (none: the rollback deletes them). */
  readonly alarmsLeft: readonly string[];
  /** Per simulated period while the canary took traffic: each slot's requests and 5xx. */
  readonly periods: ReadonlyArray<{ readonly tick: number; readonly green: { requests: number; errors: number }; readonly blue: { requests: number; errors: number } }>;
}

/** Reads a service's end state from the emulator: listener weights, both slots, its history and lock. */
export async function readEndState(runtime: LocalRuntime, service: ServiceConfig): Promise<EndState> {
  const { traffic, ecs, store } = runtime.ports;
  const forward = await traffic.readForward(service.listenerArn);
  const weights = slotWeights(forward?.weights ?? {}, service.slots);
  const live = liveSlotFromWeights(weights);
  const [blue, green] = await Promise.all([ecs.describeService(service.cluster, service.slots.blue.serviceName), ecs.describeService(service.cluster, service.slots.green.serviceName)]);
  const bySlot = { blue, green };
  const liveSvc = live ? bySlot[live] : undefined;
  const idleSlot: Slot | undefined = live ? (live === 'blue' ? 'green' : 'blue') : undefined;
  const idleSvc = idleSlot ? bySlot[idleSlot] : undefined;
  const liveTd = liveSvc ? await ecs.describeTaskDefinition(liveSvc.taskDefinition) : undefined;
  const history = await store.listHistory(service.name, 10);
  const last = history.find((h) => h.outcome !== 'REFUSED') ?? history[0];
  const lock = await store.getLock(service.name);
  return {
    outcome: (last?.outcome as EndState['outcome']) ?? 'NONE',
    weights,
    liveSlot: live ?? 'split',
    liveTaskDefinition: liveSvc ? shortRevision(liveSvc.taskDefinition) : '',
    retainedTaskDefinition: last?.retainedTaskDefinitionArn ? shortRevision(last.retainedTaskDefinitionArn) : undefined,
    idleSlot,
    idleTaskDefinition: idleSvc ? shortRevision(idleSvc.taskDefinition) : undefined,
    idleDesiredCount: idleSvc?.desiredCount,
    image: liveTd?.definition.containerDefinitions.find((c) => c.name === service.containerName)?.image,
    reason: last?.reason,
    lockHeld: lock !== undefined,
    history,
  };
}

/** Resolves when `check` is true, polling every `everyMs`; rejects after `timeoutMs`. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 20_000, everyMs = 5): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Puts an alarm into ALARM on CloudWatch and delivers the state-change event as EventBridge would. */
export async function fireAlarm(runtime: LocalRuntime, alarmName: string, reason: string) {
  const cw = new CloudWatchClient(clientConfig(runtime.emulator.endpoint));
  await cw.send(new SetAlarmStateCommand({ AlarmName: alarmName, StateValue: 'ALARM', StateReason: reason }));
  cw.destroy();
  return runtime.deliver(alarmStateChangeEvent({ alarmName, state: 'ALARM', reason }));
}

/** Pushes a new image to the demo repository and delivers the push event. Returns the execution names started. */
export async function pushAndDeliver(runtime: LocalRuntime, tag: string, env = runtime.env): Promise<{ digest: string; executions: string[]; delivery: Awaited<ReturnType<LocalRuntime['deliver']>> }> {
  const { digest } = await env.pushImage(tag);
  const delivery = await runtime.deliver(ecrPushEvent({ repository: env.service.repository, digest, tag }));
  const started = ((delivery.result as { started?: Array<{ executionArn: string }> } | undefined)?.started ?? []).map((s) => s.executionArn.split(':').pop()!);
  return { digest, executions: started, delivery };
}

const isShiftTo = (e: LocalEvent, weight: number) =>
  e.type === 'StateExited' && e.state === StateName.ShiftTraffic && JSON.stringify((e.output as { shift?: unknown })?.shift ?? '').includes(`"green":${weight}`);

export interface DemoOptions extends Pick<LocalRuntimeOptions, 'timeScale' | 'emulator' | 'log'> {
  readonly scenario?: Scenario;
  /** Progress lines. @default none */
  readonly print?: (line: string) => void;
}

/**
 * Prints one line per decision as a rollout runs: each state's `decision`, each failure, each end.
 * Returns the events seen (for scenarios that wait on them) and the elapsed-time stamp.
 */
export function progressPrinter(print: (line: string) => void) {
  const t0 = Date.now();
  const stamp = () => `+${((Date.now() - t0) / 1000).toFixed(1)}s`.padStart(7);
  const events: LocalEvent[] = [];
  const onEvent = (e: LocalEvent) => {
    const previous = events.findLast((p) => p.execution === e.execution);
    events.push(e);
    if (e.type === 'StateEntered' || e.stateType === 'Fail') return;
    if (e.type === 'StateExited') {
      // A caught failure was printed when it failed; its output carries older decisions.
      const quiet = previous?.error === 'States.Timeout' || previous?.error === 'PauseLifted';
      if ((previous?.type === 'StateCaught' || previous?.type === 'StateFailed') && !quiet) return;
      const decision = e.state ? decisionOf(e.state, e.output, RESULT_KEYS) : undefined;
      if (decision) print(`${stamp()}  ${e.execution.padEnd(43)}  ${e.state}: ${decision}`);
    } else if (e.type === 'StateFailed' && !((e.state === StateName.Bake || e.state === StateName.ManualGate) && e.error === 'States.Timeout') && e.error !== 'PauseLifted') {
      print(`${stamp()}  ${e.execution.padEnd(43)}  ${e.state} failed: ${e.error}: ${e.cause}`);
    } else if (e.type === 'ExecutionSucceeded' || e.type === 'ExecutionFailed') {
      print(`${stamp()}  ${e.execution.padEnd(43)}  ended in "${e.state}"${e.error ? ` (${e.error})` : ''}`);
    }
  };
  return { events, onEvent, stamp };
}

/** Runs one demo scenario end to end and returns the end state read back from the emulator. */
export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const scenario = options.scenario ?? 'happy';
  const print = options.print ?? (() => {});
  const { events, onEvent, stamp } = progressPrinter(print);
  const started: Emulator | undefined = options.emulator ? undefined : await startEmulator({ onProgress: (line) => print(`${stamp()}  ${line}`) });
  const emulator = options.emulator ?? started!;
  let runtime: LocalRuntime;
  const brokenServices = new Set<string>();
  // regression: the revisions live before the rollout behave as the stable slot; set once the environment exists.
  let stable: string[] = [];
  const alarmChanges: Array<{ alarmName: string; to: string; reason: string }> = [];
  const alarmsCreated: string[] = [];
  try {
    print(`${stamp()}  provisioning the example environment (${DEMO.service}: ALB listener, two target groups, ECS services, ECR repository, alarms)…`);
    runtime = await LocalRuntime.start({
      timeScale: options.timeScale ?? 0.005,
      emulator,
      log: options.log,
      onEvent,
      unstableNewRevisions: scenario === 'unstable',
      brokenServices,
      // busy shows the lock refusing a second rollout; the other policies are in the README and the tests.
      services: [{ service: scenario === 'busy' ? { concurrency: 'reject' } : scenario === 'regression' ? { analysis: { onInconclusive: 'rollback' }, plan: REGRESSION.plan } : {} }],
      ...(scenario === 'regression'
        ? {
            // Seen as the functions send them: the comparison alarms exist before the canary's first request.
            instrument: {
              client: (client) =>
                watchAlarmsCreated(client, (names) => {
                  for (const n of names.filter((x) => !alarmsCreated.includes(x))) {
                    alarmsCreated.push(n);
                    print(`${stamp()}  comparison alarm created (PutMetricAlarm): ${n}`);
                  }
                }),
            },
            traffic: {
              seed: REGRESSION.seed,
              behaviour: (t) => byRevision(stable, REGRESSION.stable, REGRESSION.canary)(t),
              onAlarmEvent: (event, delivered) => {
                const { alarmName, state } = event.detail;
                alarmChanges.push({ alarmName, to: state.value, reason: state.reason });
                const d = delivered as { target?: string; result?: unknown; error?: { name: string; message: string } } | undefined;
                const answer = d?.error ? `${d.error.name}: ${d.error.message}` : JSON.stringify(d?.result ?? 'no rule matched');
                // Called once the event was handed over, so the rollout's own lines about it may come first.
                print(`${stamp()}  CloudWatch (simulated) set ${alarmName} → ${state.value}: ${state.reason}`);
                print(`${stamp()}  its Alarm State Change event went to the ${d?.target ?? 'no'} function: ${answer}`);
              },
            },
          }
        : {}),
    });
  } catch (error) {
    await started?.stop();
    throw error;
  }
  try {
    print(`${stamp()}  emulator at ${runtime.emulator.endpoint}; ${DEMO.service}: blue live on ${shortRevision(runtime.env.initialTaskDefinitionArn)}, green idle`);
    if (scenario === 'busy') print(`${stamp()}  ${DEMO.service} is configured with concurrency "reject" (the default is "supersede"): a push while a rollout runs is refused`);
    if (scenario === 'regression') {
      stable = [runtime.env.initialTaskDefinitionArn];
      print(
        `${stamp()}  ${DEMO.service} has a canary analysis (defaults: 5xx rate +${A.maxIncreasePoints} point, p99 +${A.maxIncreaseMs} ms, ${A.datapointsToAlarm} of ${A.evaluationPeriods} periods of ${A.periodSeconds} s, ≥ ${A.minRequests} requests a period on each slot; ` +
          `onInconclusive "rollback" here, so a bake it cannot judge rolls back instead of waiting for a human); plan 10% → 10m → 25% → 5m → 50% → 5m → 100%`,
      );
      print(
        `${stamp()}  simulated traffic: 100 requests/s; ${shortRevision(runtime.env.initialTaskDefinitionArn)} fails 0.5%, the new revision 4% (same p99 120 ms); ` +
          `one simulated minute every ${Math.round(60_000 * (options.timeScale ?? 0.005))} ms`,
      );
    }
    const first = await pushAndDeliver(runtime, 'v2');
    print(`${stamp()}  pushed ${DEMO.repository}:v2 (${first.digest.slice(0, 19)}…) → started ${first.executions.join(', ') || 'nothing'}`);
    const name = first.executions[0];
    if (!name) throw new Error(`the push started no rollout: ${JSON.stringify(first.delivery)}`);

    if (scenario === 'alarm') {
      // Wait until the 25% bake is waiting on its token, then fire the alarm.
      await until(() => events.some((e) => isShiftTo(e, 25)) && runtime.sfn.waitingTasks().some((t) => t.execution === name));
      const delivery = await fireAlarm(runtime, DEMO.alarms[0], 'Threshold Crossed: 1 datapoint [42.0] was greater than the threshold (10.0).');
      print(`${stamp()}  ${DEMO.alarms[0]} → ALARM; delivered to ${delivery.target}: ${JSON.stringify(delivery.result ?? delivery.error)}`);
    }
    if (scenario === 'busy') {
      await until(() => events.some((e) => e.execution === name && e.type === 'StateExited' && e.state === 'Prepare rollout'));
      const second = await pushAndDeliver(runtime, 'v3');
      print(`${stamp()}  pushed ${DEMO.repository}:v3 while ${name} runs → started ${second.executions.join(', ')}`);
    }

    let hold: DemoResult['hold'];
    if (scenario === 'broken-old') hold = await breakOldSlotMidRollout(runtime, name, brokenServices, events, (line) => print(`${stamp()}  ${line}`));

    const all = await runtime.sfn.waitAll();
    if (scenario === 'regression') await runtime.settle();
    const end = await readEndState(runtime, runtime.env.service);
    const analysis = scenario === 'regression' ? await regressionReport(runtime, name, events, alarmsCreated, alarmChanges) : undefined;
    if (analysis) {
      for (const p of analysis.periods) {
        const rate = (x: { requests: number; errors: number }) => `${x.requests} requests, ${x.errors} 5xx (${x.requests ? ((100 * x.errors) / x.requests).toFixed(1) : '0.0'}%)`;
        print(`${stamp()}  simulated minute ${p.tick}: green (canary) ${rate(p.green)}; blue ${rate(p.blue)}`);
      }
      print(`${stamp()}  service-wide alarms: ${analysis.serviceAlarms.map((a) => `${a.name} ${a.state}`).join(', ')}; comparison alarms left: ${analysis.alarmsLeft.length || 'none'}`);
    }
    const execution = runtime.sfn.executions.get(name) as LocalExecution;
    return {
      scenario,
      ...end,
      states: execution.states,
      executions: all.map((e) => ({ name: e.name, status: e.status, endState: e.endState, error: e.error })),
      ...(hold ? { hold } : {}),
      ...(analysis ? { analysis } : {}),
    };
  } finally {
    await runtime.stop();
    await started?.stop();
  }
}

/**
 * `broken-old`: once the 10% bake waits, the old slot's tasks stop (its targets fail their health checks). The
 * next check holds the rollout at 10% with the reason; the hold is read back (lock, weights), then the slot is
 * fixed and `/cutover resume` sent as Slack would: the check runs again and the rollout goes on.
 */
export async function breakOldSlotMidRollout(
  runtime: LocalRuntime,
  execution: string,
  broken: Set<string>,
  events: readonly LocalEvent[],
  print: (line: string) => void,
): Promise<NonNullable<DemoResult['hold']>> {
  const service = runtime.env.service;
  const old = service.slots.blue.serviceName;
  await until(() => events.some((e) => isShiftTo(e, 10)) && runtime.sfn.waitingTasks().some((t) => t.execution === execution));
  broken.add(old);
  print(`${old}: its tasks stopped, its targets fail their health checks (the rollback target is broken)`);
  let reason = '';
  await until(async () => {
    const lock = await runtime.ports.store.getLock(service.name);
    reason = lock?.wait?.kind === 'hold' ? (lock.pause?.reason ?? '') : '';
    return reason !== '';
  }, 60_000);
  const end = await readEndState(runtime, service);
  const state = runtime.sfn.executions.get(execution)?.states.at(-1);
  const status = await runtime.slack(`status ${service.name}`);
  print(`held at blue ${end.weights.blue} / green ${end.weights.green}: ${reason}`);
  print(`/cutover status ${service.name} → ${replyText(status.body)}`);
  broken.delete(old);
  const resumed = await runtime.slack(`resume ${service.name}`);
  print(`${old} fixed; /cutover resume ${service.name} → ${replyText(resumed.body)}`);
  return { reason, weights: end.weights, state, status: replyText(status.body) };
}

/** A slash command's answer as text: Slack's JSON message, or a plain-text body. */
function replyText(body: string): string {
  try {
    return (JSON.parse(body) as { text?: string }).text ?? body;
  } catch {
    return body;
  }
}

/** The service's comparison alarms on the emulator, by name. */
async function comparisonAlarmsOf(runtime: LocalRuntime): Promise<string[]> {
  const cw = new CloudWatchClient(clientConfig(runtime.emulator.endpoint));
  try {
    const out = await cw.send(new DescribeAlarmsCommand({ AlarmNamePrefix: analysisAlarmPrefix(runtime.env.service.name) }));
    return (out.MetricAlarms ?? []).map((a) => a.AlarmName!);
  } finally {
    cw.destroy();
  }
}

/** `regression`: the analysis's alarms, the weights the canary got, the periods it served, the service's own alarms. */
async function regressionReport(
  runtime: LocalRuntime,
  execution: string,
  events: readonly LocalEvent[],
  alarmsCreated: readonly string[],
  alarmChanges: RegressionReport['alarmChanges'],
): Promise<RegressionReport> {
  const service = runtime.env.service;
  const canaryWeights = events
    .filter((e) => e.execution === execution && e.type === 'StateExited' && e.state === StateName.ShiftTraffic)
    .map((e) => (e.output as { shift?: { weights?: Weights } }).shift?.weights?.green ?? 0);
  const sim = runtime.trafficSimulator;
  const blue = new Map((sim?.history(service.slots.blue.targetGroupArn) ?? []).map((r) => [r.tick, r]));
  const periods = (sim?.history(service.slots.green.targetGroupArn) ?? [])
    .filter((r) => r.requests > 0)
    .map((g) => ({ tick: g.tick, green: { requests: g.requests, errors: g.errors }, blue: { requests: blue.get(g.tick)?.requests ?? 0, errors: blue.get(g.tick)?.errors ?? 0 } }));
  const own = await runtime.ports.alarms.describe(service.alarms);
  return {
    alarmsCreated,
    alarmChanges,
    canaryWeights,
    serviceAlarms: own.map((a) => ({ name: a.name, state: a.state })),
    alarmsLeft: await comparisonAlarmsOf(runtime),
    periods,
  };
}

/** Reports the alarm names of every PutMetricAlarm the client sends, once CloudWatch (the emulator) answered. */
function watchAlarmsCreated(client: LocalSdkClient, created: (names: string[]) => void): void {
  const stack = client.middlewareStack as unknown as {
    add(
      mw: (next: (args: { input: unknown }) => Promise<unknown>, context: { commandName?: string }) => (args: { input: unknown }) => Promise<unknown>,
      options: { step: 'initialize'; name: string },
    ): void;
  };
  stack.add(
    (next, context) => async (args) => {
      const out = await next(args);
      if (context.commandName === 'PutMetricAlarmCommand') created([(args.input as { AlarmName?: string }).AlarmName ?? '']);
      return out;
    },
    { step: 'initialize', name: 'cutoverDemoAlarmsCreated' },
  );
}
