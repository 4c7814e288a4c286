/**
 * The benchmark's view of the local runtime: one runtime per variant (Cutover's event-driven definition, or
 * its polling baseline) on a shared emulator, with every state event, Lambda invocation and weight change
 * recorded with its time, and the pure functions that turn those records into figures.
 */
import { CloudWatchClient, SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import type { DemoEnvironment, ProvisionOptions } from '../infra/local/environment';
import { clientConfig } from '../infra/local/environment';
import { alarmStateChangeEvent, ecrPushEvent } from '../infra/local/events';
import type { Emulator } from '../infra/local/moto';
import { operationName } from '../infra/local/faults';
import { LocalRuntime, type LocalInstrumentation, type WeightsChange } from '../infra/local/runtime';
import type { LocalEvent, LocalInvocation } from '../infra/local/sfn';
import { readRolloutDefinition } from '../state-machines/definition';
import { findBake, pollingVariant } from './polling';

/** How a bake waits: on a task token (Cutover), or by polling every N seconds (the baseline). */
export type Variant =
  | { readonly kind: 'event' /** 2: the abort path as it was before one hop (the rollback function moves the traffic). @default 1 */; readonly hops?: 1 | 2 }
  | { readonly kind: 'polling'; readonly intervalSeconds: number };

export const EVENT_DRIVEN: Variant = { kind: 'event' };
/** Cutover's abort path before one hop, for the side-by-side "before". */
export const TWO_HOPS: Variant = { kind: 'event', hops: 2 };
export const polling = (intervalSeconds: number): Variant => ({ kind: 'polling', intervalSeconds });

/** `event-driven`, `event-driven, two hops`, `polling 10s`. */
export const variantName = (v: Variant): string => (v.kind === 'event' ? (v.hops === 2 ? 'event-driven, two hops (before)' : 'event-driven') : `polling ${v.intervalSeconds}s`);

/** The definition text a variant runs. */
export const definitionOf = (v: Variant): string => (v.kind === 'event' ? readRolloutDefinition() : pollingVariant(readRolloutDefinition(), v.intervalSeconds));

/** A Lambda invocation as billed: by the runner (Task states) or by the bus (start, alarm). */
export interface Invocation extends LocalInvocation {
  readonly via: 'state machine' | 'EventBridge';
}

/**
 * One step of what the functions did, in the order it happened: a function invoked (by the runner or the
 * bus), an AWS call sent (`dynamodb:UpdateItem`, `states:SendTaskFailure`), or a mark the benchmark set.
 */
export type TraceEntry = { readonly kind: 'invoke' | 'mark'; readonly name: string } | { readonly kind: 'call' | 'answered'; readonly name: string; readonly id: number };

/** Everything a run records, with `Date.now()` times. */
export interface Probe {
  readonly events: LocalEvent[];
  readonly invocations: Invocation[];
  readonly weights: WeightsChange[];
  /** In order: function invocations, AWS calls and marks. */
  readonly trace: TraceEntry[];
}

export interface BenchRuntime {
  readonly variant: Variant;
  readonly runtime: LocalRuntime;
  readonly probe: Probe;
  readonly timeScale: number;
  /** The definition as parsed, to tell state types apart. */
  readonly states: Readonly<Record<string, { Type: string; Resource?: string }>>;
  /** Name of the bake state (in the polling variant: the Pass that starts the loop). */
  readonly bakeState: string;
  /** Stops what the runtime started for itself (the emulator given to it stays up). */
  stop(): Promise<void>;
}

/**
 * Starts a runtime for `variant` on `emulator` with the given services, recording everything. The emulator
 * stays the caller's to stop.
 */
export async function startBench(options: {
  readonly emulator: Emulator;
  readonly variant: Variant;
  readonly timeScale: number;
  readonly services: readonly ProvisionOptions[];
  /** Pause before a Task's retry, ms (the runner's default is 10). */
  readonly retryMs?: number;
}): Promise<BenchRuntime> {
  const probe: Probe = { events: [], invocations: [], weights: [], trace: [] };
  const definition = definitionOf(options.variant);
  const runtime = await LocalRuntime.start({
    emulator: options.emulator,
    oneHop: !(options.variant.kind === 'event' && options.variant.hops === 2),
    instrument: traced(probe.trace),
    services: options.services,
    timeScale: options.timeScale,
    ...(options.retryMs === undefined ? {} : { retryMs: options.retryMs }),
    definition,
    onEvent: (e) => probe.events.push(e),
    onInvoke: (i) => probe.invocations.push({ ...i, via: 'state machine' }),
    onWeights: (w) => probe.weights.push(w),
  });
  const parsed = JSON.parse(definition) as { States: Record<string, { Type: string; Resource?: string }> };
  return {
    variant: options.variant,
    runtime,
    probe,
    timeScale: options.timeScale,
    states: parsed.States,
    bakeState: findBake(JSON.parse(readRolloutDefinition())).bake,
    stop: () => runtime.stop(),
  };
}

/** Records every invocation and AWS call of the functions, in order (the Step Functions port counts as calls). */
function traced(trace: TraceEntry[]): LocalInstrumentation {
  let ids = 0;
  const call = async <T>(name: string, send: () => Promise<T>): Promise<T> => {
    ids += 1;
    const id = ids;
    trace.push({ kind: 'call', name, id });
    try {
      return await send();
    } finally {
      trace.push({ kind: 'answered', name, id });
    }
  };
  return {
    client(client) {
      const stack = client.middlewareStack as unknown as {
        add(mw: (next: (args: unknown) => Promise<unknown>, context: Record<string, unknown>) => (args: unknown) => Promise<unknown>, options: Record<string, unknown>): void;
      };
      stack.add((next, context) => (args) => call(operationName(String(context.clientName), String(context.commandName)), () => next(args)), {
        step: 'initialize',
        name: 'cutoverBenchTrace',
        priority: 'high',
      });
    },
    executions: (executions) => {
      return {
        start: (name, input) => call('states:StartExecution', () => executions.start(name, input)),
        succeedTask: (token, output) => call('states:SendTaskSuccess', () => executions.succeedTask(token, output)),
        failTask: (token, error, cause) => call('states:SendTaskFailure', () => executions.failTask(token, error, cause)),
        status: (rolloutId) => call('states:DescribeExecution', () => executions.status(rolloutId)),
      };
    },
    invoke: (fn, run) => async (event) => {
      trace.push({ kind: 'invoke', name: fn });
      return run(event);
    },
  };
}

/**
 * What happened between a mark and the first listener write after it: the functions invoked (on AWS, each
 * a cold start on this rarely used path) and the AWS calls sent before that write.
 */
export function beforeListenerWrite(trace: readonly TraceEntry[], mark: string): PathToWrite | undefined {
  const from = trace.findIndex((t) => t.kind === 'mark' && t.name === mark);
  if (from < 0) return undefined;
  const write = trace.findIndex((t, i) => i > from && t.kind === 'call' && /^elasticloadbalancing:Modify(Listener|Rule)$/.test(t.name));
  if (write < 0) return undefined;
  const between = trace.slice(from + 1, write);
  // A call's depth: 1 + the deepest call answered before it was sent. The deepest is the chain of round
  // trips one after the other (calls sent side by side share a depth).
  const depth = new Map<number, number>();
  let deepest = 0;
  const answered: number[] = [];
  for (const t of between) {
    if (t.kind === 'answered' && depth.has(t.id)) answered.push(depth.get(t.id)!);
    if (t.kind !== 'call') continue;
    const d = 1 + Math.max(0, ...answered);
    depth.set(t.id, d);
    deepest = Math.max(deepest, d);
  }
  return {
    invocations: between.filter((t) => t.kind === 'invoke').map((t) => t.name),
    calls: between.filter((t) => t.kind === 'call').map((t) => t.name),
    roundTrips: deepest,
  };
}

/** What happened between an alarm and the listener write that restores the traffic. */
export interface PathToWrite {
  /** Functions invoked, in order. */
  readonly invocations: readonly string[];
  /** AWS calls sent before the write, in order. */
  readonly calls: readonly string[];
  /** Of which one after the other (calls sent side by side count once). */
  readonly roundTrips: number;
}

/** Delivers an event through the local bus, recording the invocation as Lambda would bill it. */
export async function deliverTimed(bench: BenchRuntime, event: unknown) {
  const at = Date.now();
  const t0 = performance.now();
  const delivery = await bench.runtime.deliver(event);
  if (delivery.target) bench.probe.invocations.push({ fn: delivery.target, at, ms: performance.now() - t0, error: delivery.error?.name, via: 'EventBridge' });
  return delivery;
}

/** Pushes an image, then delivers the push event; `pushedAt` is when the event was handed to the bus. */
export async function push(bench: BenchRuntime, env: DemoEnvironment, tag: string): Promise<{ execution: string; pushedAt: number }> {
  const { digest } = await env.pushImage(tag);
  const pushedAt = Date.now();
  const delivery = await deliverTimed(bench, ecrPushEvent({ repository: env.service.repository, digest, tag }));
  const started = (delivery.result as { started?: Array<{ executionArn: string }> } | undefined)?.started ?? [];
  const execution = started[0]?.executionArn.split(':').pop();
  if (!execution) throw new Error(`the push to ${env.service.repository} started no rollout: ${JSON.stringify(delivery)}`);
  return { execution, pushedAt };
}

/** Sets an alarm's state on the emulator; returns the time the emulator had it. */
export async function setAlarm(endpoint: string, alarmName: string, state: 'OK' | 'ALARM', reason: string): Promise<number> {
  const cw = new CloudWatchClient(clientConfig(endpoint));
  try {
    await cw.send(new SetAlarmStateCommand({ AlarmName: alarmName, StateValue: state, StateReason: reason }));
    return Date.now();
  } finally {
    cw.destroy();
  }
}

/** The CloudWatch → EventBridge event for an alarm going to ALARM. */
export const alarmEvent = (alarmName: string, reason: string) => alarmStateChangeEvent({ alarmName, state: 'ALARM', reason });

/** Resolves when `check` is true (polled every `everyMs`); rejects after `timeoutMs`. */
export async function until(check: () => boolean, timeoutMs: number, what: string, everyMs = 1): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

// ---- Pure analysis of the records ----

export interface Interval {
  readonly start: number;
  readonly end: number;
}

/** The events of one execution, in order. */
export const eventsOf = (events: readonly LocalEvent[], execution: string) => events.filter((e) => e.execution === execution);

/**
 * When the execution waited by design: every Wait state, and every task-token wait that ran until its own
 * timeout (a bake that ran its course). A token wait ended early (abort, promote) is not counted: the time
 * between the alarm and that end is the orchestration's reaction, not a wait.
 */
export function designedWaits(events: readonly LocalEvent[], tokenStates: ReadonlySet<string>): Interval[] {
  const out: Interval[] = [];
  let open: { state: string; start: number; token: boolean } | undefined;
  for (const e of events) {
    if (e.type === 'StateEntered') {
      const token = e.stateType === 'Task' && tokenStates.has(e.state ?? '');
      open = e.stateType === 'Wait' || token ? { state: e.state!, start: e.at, token } : undefined;
    } else if (open && e.state === open.state) {
      if (!open.token && e.type === 'StateExited') {
        out.push({ start: open.start, end: e.at });
        open = undefined;
      } else if (open.token && e.type === 'StateFailed') {
        if (e.error === 'States.Timeout') out.push({ start: open.start, end: e.at });
        open = undefined;
      } else if (open.token && e.type === 'StateExited') {
        open = undefined;
      }
    }
  }
  return out;
}

/** Milliseconds of `intervals` that fall inside [from, to]. */
export function overlapMs(intervals: readonly Interval[], from: number, to: number): number {
  return intervals.reduce((sum, i) => sum + Math.max(0, Math.min(i.end, to) - Math.max(i.start, from)), 0);
}

/** Names of the Task states that wait on a task token. */
export function tokenStatesOf(states: Readonly<Record<string, { Type: string; Resource?: string }>>): Set<string> {
  return new Set(
    Object.entries(states)
      .filter(([, s]) => s.Type === 'Task' && String(s.Resource).endsWith('.waitForTaskToken'))
      .map(([n]) => n),
  );
}

/** State transitions as Step Functions bills them: every state entered, and every retry. */
export const transitions = (events: readonly LocalEvent[]) => events.filter((e) => e.type === 'StateEntered' || e.type === 'StateRetried').length;

/**
 * Execution-history events, estimated from the states entered with the event types Step Functions writes
 * (https://docs.aws.amazon.com/step-functions/latest/apireference/API_HistoryEvent.html): a Lambda Task
 * 5 (entered, scheduled, started, succeeded|failed, exited), a `.waitForTaskToken` Task 6 (entered,
 * scheduled, started, submitted, succeeded|failed|timed out, exited), Pass, Choice, Wait and Succeed 2
 * (entered, exited), Fail 1, a retry 3 more (failed, scheduled, started); plus ExecutionStarted and the
 * execution's end.
 */
export function historyEvents(events: readonly LocalEvent[], tokenStates: ReadonlySet<string>): number {
  let n = 2;
  for (const e of events) {
    if (e.type === 'StateRetried') n += 3;
    if (e.type !== 'StateEntered') continue;
    if (e.stateType === 'Task') n += tokenStates.has(e.state ?? '') ? 6 : 5;
    else if (e.stateType === 'Fail') n += 1;
    else n += 2;
  }
  return n;
}

/** A WeightsChange that puts all traffic on one target group, or undefined. */
export const fullOn = (w: WeightsChange) => w.weights.find((x) => x.weight === 100)?.targetGroupArn;
