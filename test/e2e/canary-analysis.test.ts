/**
 * Canary-vs-stable analysis on the local runtime: the rollout's comparison alarms are created when the canary
 * takes traffic, the traffic simulator writes ALB's per-target-group metrics and evaluates them, and an alarm
 * going to ALARM rolls the rollout back through the alarm path while the service-wide alarm stays quiet. The
 * verdict at a bake's end with too few requests follows the service's policy; a dry run only records. Every
 * wait is on a state (an execution's end, a hold, a record), never on time.
 */
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { describe, expect, it } from 'vitest';
import { analysisAlarmName, analysisAlarmPrefix, type AnalysisConfig } from '../../functions/core/analysis';
import { canary, type CanaryPlan } from '../../functions/core/plan';
import { pushAndDeliver, readEndState } from '../../infra/local/demo';
import { clientConfig } from '../../infra/local/environment';
import type { LocalRuntime } from '../../infra/local/runtime';
import { byRevision, type SlotBehaviour, type TrafficSimulation } from '../../infra/local/traffic-simulator';
import { StateName } from '../../state-machines/states';
import { useLocalRuntime } from './emulator';

const local = useLocalRuntime();
const HEALTHY: SlotBehaviour = { errorRate: 0.005, p99Ms: 120 };
const FAILING: SlotBehaviour = { errorRate: 0.04, p99Ms: 120 };
/** 10% on the canary, then a manual gate: the canary stays at 10% until the test promotes it or an alarm ends it. */
const GATED: CanaryPlan = {
  steps: [
    { kind: 'setWeight', weight: 10 },
    { kind: 'pause', timeoutSeconds: 86_400 },
    { kind: 'setWeight', weight: 100 },
  ],
};

/** A runtime whose checkout service has `analysis`, with simulated traffic where the new revision behaves as `canary`. */
async function start(analysis: AnalysisConfig, plan: CanaryPlan, canaryBehaviour: SlotBehaviour, traffic: Partial<TrafficSimulation> = {}): Promise<LocalRuntime> {
  let stable: string[] = [];
  const rt = await local.start({
    services: [{ service: { analysis, plan } }],
    traffic: { seed: 7, ...traffic, behaviour: (t) => byRevision(stable, HEALTHY, canaryBehaviour)(t) },
  });
  stable = [rt.env.initialTaskDefinitionArn];
  return rt;
}

async function comparisonAlarms(rt: LocalRuntime): Promise<string[]> {
  const cw = new CloudWatchClient(clientConfig(rt.emulator.endpoint));
  try {
    const out = await cw.send(new DescribeAlarmsCommand({ AlarmNamePrefix: analysisAlarmPrefix(rt.env.service.name) }));
    // By name: CloudWatch lists alarms in name order; the emulator in creation order (the puts go side by side).
    return (out.MetricAlarms ?? []).map((a) => a.AlarmName!).sort();
  } finally {
    cw.destroy();
  }
}

/** Resolves when `check` holds (looked at every 20 ms); rejects after 60 s with what it waited for. */
async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The weights each Shift traffic state of the execution set, in order. */
const shifts = (name: string) =>
  local.events.filter((e) => e.execution === name && e.type === 'StateExited' && e.state === StateName.ShiftTraffic).map((e) => (e.output as { shift: { weights: unknown } }).shift.weights);

describe('canary analysis', () => {
  it('rolls back a canary failing 4% of its requests against 0.5% on the stable slot, while the service-wide alarm stays OK', async () => {
    // Arrange
    const rt = await start({}, GATED, FAILING);

    // Act: the canary takes 10% and waits at the gate; only the comparison can end it
    const { executions } = await pushAndDeliver(rt, 'v2');
    const done = await rt.sfn.wait(executions[0]!);
    await rt.settle();
    const end = await readEndState(rt, rt.env.service);

    // Assert: rolled back by the error-rate comparison, with its numbers; traffic never went past 10%
    const alarm = analysisAlarmName('checkout', executions[0]!, 'error-rate');
    expect(done.endState).toBe(StateName.RolledBack);
    expect(end).toMatchObject({ outcome: 'ROLLED_BACK', weights: { blue: 100, green: 0 }, liveSlot: 'blue', lockHeld: false });
    expect(end.reason).toContain(`alarm ${alarm} in ALARM`);
    expect(end.reason).toMatch(/datapoints? \[/);
    expect(shifts(executions[0]!)).toEqual([{ blue: 90, green: 10 }]);
    const changes = rt.trafficSimulator!.changes;
    expect(changes.filter((c) => c.to === 'ALARM').map((c) => c.alarmName)).toEqual([alarm]);
    // The service-wide alarms never fired (the simulator evaluates comparison alarms only; moto keeps them OK).
    const own = await rt.ports.alarms.describe(rt.env.service.alarms);
    expect(own.map((a) => a.state)).toEqual(['OK', 'OK']);
    // The rollback deleted the rollout's comparison alarms.
    expect(await comparisonAlarms(rt)).toEqual([]);
  });

  it('lets a clean canary through, judged, and deletes its comparison alarms when it succeeds', async () => {
    // Arrange
    const rt = await start({}, GATED, HEALTHY);
    const { executions } = await pushAndDeliver(rt, 'v2');
    const name = executions[0]!;
    const green = rt.env.service.slots.green.targetGroupArn;

    // Act: six periods at 10% with both slots at 0.5%, then the operator promotes
    await until(() => rt.trafficSimulator!.history(green).filter((r) => r.requests > 0).length >= 6, 'six periods of canary traffic');
    expect(await comparisonAlarms(rt)).toEqual([analysisAlarmName('checkout', name, 'error-rate'), analysisAlarmName('checkout', name, 'latency-p99')]);
    const promoted = await rt.slack('promote checkout');
    const done = await rt.sfn.wait(name);
    await rt.settle();

    // Assert
    expect(promoted.statusCode).toBe(200);
    expect(done.endState).toBe(StateName.RolloutSucceeded);
    expect(await readEndState(rt, rt.env.service)).toMatchObject({ outcome: 'SUCCEEDED', weights: { blue: 0, green: 100 }, lockHeld: false });
    expect(rt.trafficSimulator!.changes.filter((c) => c.to === 'ALARM')).toEqual([]);
    expect(await comparisonAlarms(rt)).toEqual([]);
  });

  it('rolls back when a bake ends with too few requests on the canary to judge and the policy is rollback', async () => {
    // Arrange: half a request a second: 3 a minute on a 10% canary, under the 500 a period needs
    const rt = await start({ onInconclusive: 'rollback' }, canary([10, 100], 300), HEALTHY, { requestsPerSecond: 0.5 });

    // Act
    const { executions } = await pushAndDeliver(rt, 'v2');
    const done = await rt.sfn.wait(executions[0]!);
    await rt.settle();
    const end = await readEndState(rt, rt.env.service);

    // Assert: never "pass" for lack of data
    expect(done.endState).toBe(StateName.RolledBack);
    expect(end).toMatchObject({ outcome: 'ROLLED_BACK', weights: { blue: 100, green: 0 }, lockHeld: false });
    expect(end.reason).toMatch(/canary analysis inconclusive: 0 of \d+ periods had ≥ 500 requests on the canary \(3 needed/);
    expect(await comparisonAlarms(rt)).toEqual([]);
  });

  it('holds an inconclusive bake for a human (policy pause), once: resumed, the rollout goes on and succeeds', async () => {
    // Arrange
    const rt = await start({ onInconclusive: 'pause' }, canary([10, 100], 300), HEALTHY, { requestsPerSecond: 0.5 });
    const { executions } = await pushAndDeliver(rt, 'v2');
    const name = executions[0]!;

    // Act: held at 10% after the bake; the operator resumes without a verdict
    await until(() => local.events.some((e) => e.execution === name && e.type === 'StateEntered' && e.state === StateName.HoldPaused), 'the hold');
    const lock = await rt.ports.store.getLock('checkout');
    const status = await rt.slack('status checkout');
    await rt.slack('resume checkout');
    const done = await rt.sfn.wait(name);
    await rt.settle();

    // Assert: held with the reason, escalated, then through
    expect(lock?.pause).toMatchObject({ by: 'Cutover' });
    expect(lock?.pause?.reason).toMatch(/^canary analysis inconclusive: 0 of \d+ periods had ≥ 500 requests on the canary/);
    expect(status.body).toContain('canary analysis inconclusive');
    expect(rt.slackApi.messages.some((m) => m.text.includes(':rotating_light:') && m.text.includes('goes on without a verdict'))).toBe(true);
    expect(done.endState).toBe(StateName.RolloutSucceeded);
    expect(local.events.filter((e) => e.execution === name && e.type === 'StateEntered' && e.state === StateName.HoldPaused)).toHaveLength(1);
    expect(await readEndState(rt, rt.env.service)).toMatchObject({ outcome: 'SUCCEEDED', weights: { blue: 0, green: 100 } });
  });

  it('does not hold a bake an operator promoted early for too few requests: the promote is their decision', async () => {
    // Arrange: a day-long bake that cannot be judged (3 requests a minute on the canary)
    const rt = await start({ onInconclusive: 'pause' }, canary([10, 100], 86_400), HEALTHY, { requestsPerSecond: 0.5 });
    const { executions } = await pushAndDeliver(rt, 'v2');
    const name = executions[0]!;
    const entered = (state: string) => local.events.filter((e) => e.execution === name && e.type === 'StateEntered' && e.state === state);

    // Act
    await until(async () => entered(StateName.Bake).length > 0 && (await rt.ports.store.getLock('checkout'))?.wait?.kind === 'bake', 'the bake');
    const promoted = await rt.slack('promote checkout');
    const done = await rt.sfn.wait(name);

    // Assert
    expect(promoted.statusCode).toBe(200);
    expect(done.endState).toBe(StateName.RolloutSucceeded);
    expect(entered(StateName.HoldPaused)).toEqual([]);
  });

  it('runs an inconclusive bake again (policy extend), twice, then asks a human', async () => {
    // Arrange
    const rt = await start({ onInconclusive: 'extend' }, canary([10, 100], 300), HEALTHY, { requestsPerSecond: 0.5 });
    const { executions } = await pushAndDeliver(rt, 'v2');
    const name = executions[0]!;
    const entered = (state: string) => local.events.filter((e) => e.execution === name && e.type === 'StateEntered' && e.state === state);

    // Act: the bake ends inconclusive three times; then held; the operator resumes
    await until(() => entered(StateName.HoldPaused).length > 0, 'the hold after two extensions');
    const lock = await rt.ports.store.getLock('checkout');
    await rt.slack('resume checkout');
    const done = await rt.sfn.wait(name);
    await rt.settle();

    // Assert
    expect(entered(StateName.Bake)).toHaveLength(3);
    expect(entered(StateName.HoldPaused)).toHaveLength(1);
    expect(lock?.inconclusive).toEqual({ step: 2, extended: 2, held: true });
    const decisions = local.events
      .filter((e) => e.execution === name && e.type === 'StateExited' && e.state === StateName.CheckAlarms)
      .map((e) => (e.output as { alarms: { decision: string } }).alarms.decision);
    expect(decisions.filter((d) => d.includes('the bake runs again'))).toHaveLength(2);
    expect(done.endState).toBe(StateName.RolloutSucceeded);
  });

  it('in dry run, records what it would have done and does nothing else', async () => {
    // Arrange
    const rt = await start({ dryRun: true }, GATED, FAILING);
    const { executions } = await pushAndDeliver(rt, 'v2');
    const name = executions[0]!;

    // Act: the comparison fails; the verdict is recorded as a step; then the operator promotes
    const recorded = async () => (await rt.ports.store.listSteps('checkout', name)).find((s) => s.decision?.includes('dry run'));
    await until(async () => (await recorded()) !== undefined, 'the dry-run verdict');
    const step = await recorded();
    await rt.slack('promote checkout');
    const done = await rt.sfn.wait(name);
    await rt.settle();

    // Assert
    expect(step?.decision).toContain(`canary analysis (dry run) would roll back now: alarm ${analysisAlarmName('checkout', name, 'error-rate')} in ALARM`);
    // The verdict stands beside the shift's records, which keep their weights.
    expect((await rt.ports.store.listSteps('checkout', name)).filter((s) => s.state === StateName.ShiftTraffic).map((s) => s.weights)).toEqual([
      { blue: 90, green: 10 },
      { blue: 0, green: 100 },
    ]);
    expect(done.endState).toBe(StateName.RolloutSucceeded);
    expect(await readEndState(rt, rt.env.service)).toMatchObject({ outcome: 'SUCCEEDED', weights: { blue: 0, green: 100 } });
    expect(await comparisonAlarms(rt)).toEqual([]);
  });
});
