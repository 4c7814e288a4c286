/**
 * What the reliability tests share: the two scenarios the fault matrix runs on the local runtime (a rollout
 * that succeeds, and one an alarm rolls back at 10%), EventBridge's redelivery of a failed event, a bounded
 * wait for the end, and the end state read back from the emulator.
 */
import { CloudWatchClient, SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeTaskDefinitionCommand, ECSClient, ListTaskDefinitionsCommand } from '@aws-sdk/client-ecs';
import { expect } from 'vitest';
import type { HistoryRecord, LockRecord } from '../../functions/core/ports';
import { canary } from '../../functions/core/plan';
import { shortRevision } from '../../functions/core/rollout';
import { until } from '../../infra/local/demo';
import { clientConfig, DEMO } from '../../infra/local/environment';
import { alarmStateChangeEvent, ecrPushEvent } from '../../infra/local/events';
import { FaultInjector, type Fault } from '../../infra/local/faults';
import type { Emulator } from '../../infra/local/moto';
import { LocalRuntime, type Delivery, type LocalRuntimeOptions } from '../../infra/local/runtime';
import type { LocalEvent, LocalExecution } from '../../infra/local/sfn';
import type { Expected, Scenario } from './fault-matrix';

/** How long a run may take before it counts as hung. Runs take about half a second. */
export const RUN_BOUND_MS = 30_000;

/** Bakes of 60 s at time scale 0.001: 60 ms. */
const ROLLOUT_PLAN = canary([10, 100], 60);
/** A bake long enough (1.2 s here) for the alarm to arrive in it, and short enough to wait out. */
const ALARMED_PLAN = canary([10, 100], 1200);

/** A fresh environment on the shared emulator, instrumented; notifications off (they are not AWS calls). */
export async function startRuntime(emulator: Emulator, scenario: Scenario, options: Partial<LocalRuntimeOptions> = {}) {
  const faults = new FaultInjector();
  const events: LocalEvent[] = [];
  const runtime = await LocalRuntime.start({
    emulator,
    timeScale: 0.001,
    retryMs: 1,
    notifications: false,
    instrument: faults.instrumentation,
    onEvent: (e) => events.push(e),
    services: [{ service: { plan: scenario === 'rollout' ? ROLLOUT_PLAN : ALARMED_PLAN, timings: { rollbackWindowSeconds: 10, steadyPollSeconds: 1 } } }],
    ...options,
  });
  return { runtime, faults, events };
}

/**
 * Delivers an event as EventBridge invokes a function (asynchronously): a failed invocation is retried
 * twice by Lambda. Returns every attempt.
 * @see https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html
 */
export async function deliverAsync(runtime: LocalRuntime, event: unknown): Promise<Delivery[]> {
  const attempts: Delivery[] = [];
  for (let i = 0; i < 3; i++) {
    const delivery = await runtime.deliver(event);
    attempts.push(delivery);
    if (!delivery.error) break;
  }
  return attempts;
}

/** Waits for every execution to end and the reconcile deliveries that follow, or fails naming the states they hang in. */
export async function waitBounded(runtime: LocalRuntime, ms = RUN_BOUND_MS): Promise<LocalExecution[]> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const running = [...runtime.sfn.executions.values()].filter((e) => e.status === 'RUNNING').map((e) => `${e.name} in ${e.states.at(-1)}`);
      reject(new Error(`executions still running after ${ms} ms: ${running.join(', ')}`));
    }, ms);
  });
  try {
    // Every execution ended, and every delivery that follows from an end (reconcile's recovery) is done.
    await Promise.race([runtime.settle(), hung]);
    return [...runtime.sfn.executions.values()];
  } finally {
    clearTimeout(timer);
  }
}

export interface Run {
  readonly runtime: LocalRuntime;
  readonly faults: FaultInjector;
  readonly events: LocalEvent[];
  readonly executions: LocalExecution[];
  /** Every delivery attempt of the push (and of the alarm event, in the rollback scenario). */
  readonly deliveries: Delivery[];
}

/**
 * Runs one scenario with `fault` armed (or none): push → rollout, and in the `rollback` scenario an alarm
 * during the bake at 10%, delivered once the bake's task token is on the lock.
 */
export async function runScenario(
  emulator: Emulator,
  scenario: Scenario,
  fault?: Fault,
  options: { readonly instrument?: LocalRuntimeOptions['instrument']; readonly onStart?: (runtime: LocalRuntime) => void } = {},
): Promise<Run> {
  const { runtime, faults, events } = await startRuntime(emulator, scenario, options.instrument ? { instrument: options.instrument } : {});
  options.onStart?.(runtime);
  if (fault) faults.arm(fault);
  const { digest } = await runtime.env.pushImage('v2');
  const deliveries = await deliverAsync(runtime, ecrPushEvent({ repository: DEMO.repository, digest, tag: 'v2' }));
  if (scenario === 'rollback') {
    await until(
      async () =>
        events.some((e) => e.type === 'StateExited' && e.state === 'Shift traffic') &&
        runtime.sfn.waitingTasks().some((t) => t.state === 'Bake') &&
        (await runtime.ports.store.getLock(DEMO.service))?.wait?.kind === 'bake',
      RUN_BOUND_MS,
    );
    const cw = new CloudWatchClient(clientConfig(emulator.endpoint));
    await cw.send(new SetAlarmStateCommand({ AlarmName: DEMO.alarms[0], StateValue: 'ALARM', StateReason: 'Threshold Crossed: 5xx count 42 > 10' }));
    cw.destroy();
    deliveries.push(...(await deliverAsync(runtime, alarmStateChangeEvent({ alarmName: DEMO.alarms[0], state: 'ALARM', reason: 'Threshold Crossed: 5xx count 42 > 10' }))));
  }
  const executions = await waitBounded(runtime);
  return { runtime, faults, events, executions, deliveries };
}

/** The end state, read back from the emulator. */
export interface Observed {
  readonly weights: { blue: number; green: number };
  readonly blue: { taskDefinition: string; desiredCount: number };
  readonly green: { taskDefinition: string; desiredCount: number };
  /** Every revision of the family, with its status. */
  readonly revisions: ReadonlyArray<{ revision: string; status: string }>;
  readonly lock?: LockRecord;
  readonly history: readonly HistoryRecord[];
}

export async function observe(runtime: LocalRuntime): Promise<Observed> {
  const { service } = runtime.env;
  const { traffic, ecs, store } = runtime.ports;
  const forward = await traffic.readForward(service.listenerArn);
  const slot = async (name: string) => {
    const s = await ecs.describeService(service.cluster, name);
    return { taskDefinition: s ? shortRevision(s.taskDefinition) : 'missing', desiredCount: s?.desiredCount ?? -1 };
  };
  const client = new ECSClient(clientConfig(runtime.emulator.endpoint));
  try {
    const arns: string[] = [];
    for (const status of ['ACTIVE', 'INACTIVE'] as const) {
      const out = await client.send(new ListTaskDefinitionsCommand({ familyPrefix: service.name, status }));
      arns.push(...(out.taskDefinitionArns ?? []));
    }
    const revisions = await Promise.all(
      arns.map(async (arn) => ({ revision: shortRevision(arn), status: (await client.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn }))).taskDefinition?.status ?? 'UNKNOWN' })),
    );
    return {
      weights: { blue: forward?.weights[service.slots.blue.targetGroupArn] ?? -1, green: forward?.weights[service.slots.green.targetGroupArn] ?? -1 },
      blue: await slot(service.slots.blue.serviceName),
      green: await slot(service.slots.green.serviceName),
      revisions: revisions.sort((a, b) => a.revision.localeCompare(b.revision, undefined, { numeric: true })),
      lock: await store.getLock(service.name),
      history: await store.listHistory(service.name, 20),
    };
  } finally {
    client.destroy();
  }
}

/**
 * Checks every invariant of the matrix (see `INVARIANTS` in fault-matrix.ts) against what the run left.
 * The first (the run ended) was checked by {@link waitBounded}.
 */
export function assertInvariants(run: Run, end: Observed, want: Expected): void {
  const [execution, ...others] = run.executions;
  // the execution ended in the expected state (one execution, however often the push was delivered)
  expect(others).toEqual([]);
  if (want.endState === undefined) expect(execution, 'no execution may start').toBeUndefined();
  else expect(execution?.endState).toBe(want.endState);
  expect(run.executions.every((e) => e.status !== 'RUNNING')).toBe(true);

  // the weights: exactly 100/0 on one slot (after Rollback failed too: the reconcile function recovered it)
  expect([want.weights].flat()).toContainEqual(end.weights);
  expect([end.weights.blue, end.weights.green].sort()).toEqual([0, 100]);

  // all traffic on a registered revision; the retained one still registered; no duplicates
  const active = end.revisions.filter((r) => r.status === 'ACTIVE').map((r) => r.revision);
  const live = end.weights.blue === 100 ? end.blue : end.weights.green === 100 ? end.green : undefined;
  if (live) expect(active).toContain(live.taskDefinition);
  expect(active).toContain('checkout:1');
  expect(end.revisions).toHaveLength(want.revisions);
  expect(active).toHaveLength(want.revisions);

  // both slots as expected
  expect({ blue: end.blue, green: end.green }).toEqual({ blue: want.blue, green: want.green });

  // the lock
  expect(end.lock !== undefined, `lock ${end.lock ? `held by ${end.lock.rolloutId}` : 'released'}`).toBe(want.lockHeld);

  // the record
  const records = end.history.filter((h) => h.outcome !== 'REFUSED');
  if (want.outcome === 'NONE') {
    expect(end.history).toEqual([]);
  } else {
    expect(records).toHaveLength(1);
    expect(records[0]!.rolloutId).toBe(execution?.name);
    expect(records[0]!.outcome).toBe(want.outcome);
    if (want.reason !== undefined) expect(records[0]!.reason).toContain(want.reason);
  }
}
