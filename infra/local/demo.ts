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
 *
 * The emulator is started (or adopted from `AWS_ENDPOINT_URL`) before the runtime, with a progress line for
 * each stage: finding or installing moto and waiting for it take seconds on a cold machine.
 */
import { CloudWatchClient, SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import type { ServiceConfig, Slot } from '../../functions/core/config';
import type { HistoryRecord } from '../../functions/core/ports';
import { liveSlotFromWeights, shortRevision, slotWeights, type Outcome, type Weights } from '../../functions/core/rollout';
import { decisionOf, resultKeys } from '../../functions/read/status';
import { readRolloutDefinition } from '../../state-machines/definition';
import { clientConfig, DEMO } from './environment';
import { alarmStateChangeEvent, ecrPushEvent } from './events';
import { startEmulator, type Emulator } from './moto';
import { LocalRuntime, type LocalRuntimeOptions } from './runtime';
import type { LocalEvent, LocalExecution } from './sfn';
import { StateName } from '../../state-machines/states';

/** Where each state of the definition writes its result: where its decision is. */
const RESULT_KEYS = resultKeys(JSON.parse(readRolloutDefinition()));

export const SCENARIOS = ['happy', 'alarm', 'unstable', 'busy', 'broken-old'] as const;
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
      services: [{ service: scenario === 'busy' ? { concurrency: 'reject' } : {} }],
    });
  } catch (error) {
    await started?.stop();
    throw error;
  }
  try {
    print(`${stamp()}  emulator at ${runtime.emulator.endpoint}; ${DEMO.service}: blue live on ${shortRevision(runtime.env.initialTaskDefinitionArn)}, green idle`);
    if (scenario === 'busy') print(`${stamp()}  ${DEMO.service} is configured with concurrency "reject" (the default is "supersede"): a push while a rollout runs is refused`);
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
    const end = await readEndState(runtime, runtime.env.service);
    const execution = runtime.sfn.executions.get(name) as LocalExecution;
    return {
      scenario,
      ...end,
      states: execution.states,
      executions: all.map((e) => ({ name: e.name, status: e.status, endState: e.endState, error: e.error })),
      ...(hold ? { hold } : {}),
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
