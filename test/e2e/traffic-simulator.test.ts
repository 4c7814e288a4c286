/**
 * The traffic simulator on the local runtime: the listener put at 10/90 by hand, the rollout's comparison
 * alarms created on the emulator from comparisonAlarms(...), and the simulator writing ALB's per-target-group
 * metrics and evaluating the alarms from what the emulator stored. Waits on states and events, never on time.
 */
import { CloudWatchClient, DescribeAlarmsCommand, GetMetricDataCommand, PutMetricAlarmCommand } from '@aws-sdk/client-cloudwatch';
import { describe, expect, it } from 'vitest';
import { analysisAlarmName, bakeVerdict, comparisonAlarms, parseAnalysisAlarm, targetGroupDimension, loadBalancerDimension } from '../../functions/core/analysis';
import { parseAlarmChange } from '../../functions/core/events';
import { clientConfig } from '../../infra/local/environment';
import { LocalRuntime } from '../../infra/local/runtime';
import { seeded } from '../../infra/local/random';
import { TrafficSimulator, binomial, byRevision, type AlarmStateChangeEvent, type SimulatedTarget, type SlotBehaviour, type TrafficSimulation } from '../../infra/local/traffic-simulator';
import { useLocalRuntime } from './emulator';

const local = useLocalRuntime();
const ROLLOUT = 'checkout-0123456789abcdef0123456789abcdef0123456';
const HEALTHY: SlotBehaviour = { errorRate: 0.005, p99Ms: 120 };
const FAILING: SlotBehaviour = { errorRate: 0.04, p99Ms: 120 };
/** Green is the canary here (its service runs the same revision as blue in the demo environment: keyed by slot). */
const canaryFails = (canary: SlotBehaviour) => (t: SimulatedTarget) => (t.slot === 'green' ? canary : HEALTHY);

/** 10% on green (the canary), 90% on blue, and the rollout's comparison alarms on the emulator. */
async function canaryAt10(rt: LocalRuntime) {
  const service = rt.env.service;
  const [blue, green] = [service.slots.blue.targetGroupArn, service.slots.green.targetGroupArn];
  await rt.ports.traffic.setWeights(service.listenerArn, [
    { targetGroupArn: blue, weight: 90 },
    { targetGroupArn: green, weight: 10 },
  ]);
  const cloudwatch = new CloudWatchClient(clientConfig(rt.emulator.endpoint));
  const alarms = comparisonAlarms({ service: service.name, rolloutId: ROLLOUT, loadBalancerArn: service.listenerArn, canaryTargetGroupArn: green, stableTargetGroupArn: blue, config: {} });
  for (const alarm of alarms) await cloudwatch.send(new PutMetricAlarmCommand(alarm));
  return { cloudwatch, blue, green, errorRateAlarm: analysisAlarmName(service.name, ROLLOUT, 'error-rate') };
}

async function states(cloudwatch: CloudWatchClient): Promise<Record<string, string | undefined>> {
  const out = await cloudwatch.send(new DescribeAlarmsCommand({ AlarmNamePrefix: 'cutover-analysis-' }));
  return Object.fromEntries((out.MetricAlarms ?? []).map((a) => [a.AlarmName!, a.StateValue]));
}

/** A simulator over the runtime's ports, driven tick by tick by the test. */
function simulator(rt: LocalRuntime, cloudwatch: CloudWatchClient, simulation: TrafficSimulation, events: AlarmStateChangeEvent[]) {
  return new TrafficSimulator(simulation, {
    traffic: rt.ports.traffic,
    ecs: rt.ports.ecs,
    cloudwatch,
    services: rt.ports.services,
    deliver: async (event) => {
      events.push(event);
      return rt.deliver(event);
    },
  });
}

describe('traffic simulator', () => {
  it('started by the runtime, catches a canary failing 4% against 0.5% on the stable slot: the error-rate alarm goes to ALARM and its event is delivered', async () => {
    // Arrange: the runtime's simulator delivers to the bus; the test hears each event after its delivery
    let heard: (value: { event: AlarmStateChangeEvent; delivered: unknown }) => void = () => {};
    const alarmed = new Promise<{ event: AlarmStateChangeEvent; delivered: unknown }>((resolve) => (heard = resolve));
    const rt = await local.start({
      traffic: {
        seed: 7,
        behaviour: canaryFails(FAILING),
        onAlarmEvent: (event, delivered) => {
          if (event.detail.state.value === 'ALARM') heard({ event, delivered });
        },
      },
    });
    // The simulator already runs: the alarms it finds from now on are evaluated on its next tick.
    const { cloudwatch, errorRateAlarm } = await canaryAt10(rt);

    // Act: wait for the state change event
    const { event, delivered } = await alarmed;
    await rt.trafficSimulator!.stop();

    // Assert: the event is CloudWatch's, names the error-rate alarm, and the emulator holds the state
    expect(event.detail.alarmName).toBe(errorRateAlarm);
    expect(event.detail.state.value).toBe('ALARM');
    expect(event.detail.previousState.value).toBe('OK');
    expect(event.detail.state.reason).toMatch(
      /^Threshold Crossed: \d out of the last 3 datapoints \[.*\] were greater than the threshold \(1\) \(minimum 2 datapoints for OK -> ALARM transition\)\.$/,
    );
    expect(parseAlarmChange(event)).toMatchObject({ kind: 'accept', alarmName: errorRateAlarm, state: 'ALARM' });
    expect(parseAnalysisAlarm(event.detail.alarmName)).toEqual({ service: 'checkout', rolloutId: ROLLOUT, check: 'error-rate' });
    expect(delivered).toBeTypeOf('object');
    const recent = JSON.parse(event.detail.state.reasonData).recentDatapoints as number[];
    expect(recent.filter((v) => v > 1).length).toBeGreaterThanOrEqual(2);
    expect((await states(cloudwatch))[errorRateAlarm]).toBe('ALARM');
    expect(rt.trafficSimulator!.errors).toEqual([]);
  });

  it('writes per-target-group metrics the emulator gives back: requests split by weight, 5xx and p99 per slot', async () => {
    // Arrange
    const rt = await local.start();
    const { cloudwatch, blue, green } = await canaryAt10(rt);
    const events: AlarmStateChangeEvent[] = [];
    const sim = simulator(rt, cloudwatch, { seed: 3, behaviour: canaryFails(FAILING) }, events);

    // Act
    const report = await sim.tick();

    // Assert: what was drawn is what CloudWatch answers for that period
    const [b, g] = [sim.history(blue)[0]!, sim.history(green)[0]!];
    expect(b.requests + g.requests).toBe(6000);
    expect(g.requests).toBeGreaterThan(500);
    expect(g.requests).toBeLessThan(700);
    const dims = (tg: string) => [
      { Name: 'TargetGroup', Value: targetGroupDimension(tg) },
      { Name: 'LoadBalancer', Value: loadBalancerDimension(rt.env.service.listenerArn) },
    ];
    const query = (id: string, tg: string, metric: string, stat: string) => ({
      Id: id,
      MetricStat: { Metric: { Namespace: 'AWS/ApplicationELB', MetricName: metric, Dimensions: dims(tg) }, Period: 60, Stat: stat },
    });
    const out = await cloudwatch.send(
      new GetMetricDataCommand({
        StartTime: new Date(report.timestamp),
        EndTime: new Date(report.timestamp + 60_000),
        MetricDataQueries: [
          query('greq', green, 'RequestCount', 'Sum'),
          query('g5xx', green, 'HTTPCode_Target_5XX_Count', 'Sum'),
          query('breq', blue, 'RequestCount', 'Sum'),
          query('glat', green, 'TargetResponseTime', 'Maximum'),
        ],
      }),
    );
    const value = (id: string) => out.MetricDataResults!.find((r) => r.Id === id)!.Values![0];
    expect(value('greq')).toBe(g.requests);
    expect(value('g5xx')).toBe(g.errors);
    expect(value('breq')).toBe(b.requests);
    expect(value('glat')).toBeCloseTo(g.p99Ms / 1000, 9);
    expect(g.errors).toBeGreaterThan(b.errors * (g.requests / b.requests));
  });

  it('with both slots at 0.5% never goes to ALARM over 300 seeded ticks', async () => {
    // Arrange
    const rt = await local.start();
    const { cloudwatch, green, errorRateAlarm } = await canaryAt10(rt);
    const events: AlarmStateChangeEvent[] = [];
    const sim = simulator(rt, cloudwatch, { seed: 11, behaviour: canaryFails(HEALTHY) }, events);

    // Act
    for (let i = 0; i < 300; i++) await sim.tick();

    // Assert: every period was judged (enough requests), none alarmed
    const judged = sim.evaluations.get(errorRateAlarm)!;
    expect(judged.evaluated).toHaveLength(3);
    // The guard gives exactly 0 to a period it does not judge: a non-zero difference was judged.
    expect(judged.evaluated.some((p) => p.value !== undefined && p.value !== 0)).toBe(true);
    expect(sim.changes).toEqual([]);
    expect(events).toEqual([]);
    expect(Object.values(await states(cloudwatch))).toEqual(['OK', 'OK']);
    expect(bakeVerdict(sim.requestsPerPeriod(green), {})).toBe('pass');
    expect(Math.min(...sim.requestsPerPeriod(green))).toBeGreaterThanOrEqual(50);
    // The same counts, asked as the bake asks CloudWatch (by real time; here the whole test).
    const asked = await sim.requestsBetween({ targetGroup: targetGroupDimension(green), start: new Date(0), end: new Date() });
    expect(asked).toEqual(sim.requestsPerPeriod(green));
    expect(asked).toHaveLength(300);
  });

  it('with too few requests on the canary never goes to ALARM, even failing 50%, and the bake is inconclusive', async () => {
    // Arrange: 0.5 request/s, so 30 a period and about 3 on the canary: below minRequests (50)
    const rt = await local.start();
    const { cloudwatch, green, errorRateAlarm } = await canaryAt10(rt);
    const events: AlarmStateChangeEvent[] = [];
    const sim = simulator(rt, cloudwatch, { seed: 5, requestsPerSecond: 0.5, behaviour: canaryFails({ errorRate: 0.5, p99Ms: 5000 }) }, events);

    // Act
    for (let i = 0; i < 10; i++) await sim.tick();

    // Assert
    expect(sim.changes).toEqual([]);
    expect(Object.values(await states(cloudwatch))).toEqual(['OK', 'OK']);
    expect(sim.requestsPerPeriod(green).every((n) => n < 50)).toBe(true);
    expect(sim.history(green).some((r) => r.errors > 0)).toBe(true);
    // Evaluated every tick, and every period read 0: not judged, so not breaching.
    expect(sim.evaluations.get(errorRateAlarm)!.evaluated.map((p) => p.value)).toEqual([0, 0, 0]);
    expect(bakeVerdict(sim.requestsPerPeriod(green), {})).toBe('inconclusive');
  });

  it('goes back to OK once the canary is healthy again, with an OK event', async () => {
    // Arrange: a canary failing until tick 5, then healthy
    const rt = await local.start();
    const { cloudwatch, errorRateAlarm } = await canaryAt10(rt);
    const events: AlarmStateChangeEvent[] = [];
    let failing = true;
    const healing = simulator(rt, cloudwatch, { seed: 2, behaviour: (t) => (t.slot === 'green' && failing ? FAILING : HEALTHY) }, events);

    // Act
    for (let i = 0; i < 5; i++) await healing.tick();
    failing = false;
    for (let i = 0; i < 5; i++) await healing.tick();

    // Assert
    expect(healing.changes.map((c) => [c.alarmName, c.from, c.to])).toEqual([
      [errorRateAlarm, 'OK', 'ALARM'],
      [errorRateAlarm, 'ALARM', 'OK'],
    ]);
    expect(events.map((e) => e.detail.state.value)).toEqual(['ALARM', 'OK']);
    expect((await states(cloudwatch))[errorRateAlarm]).toBe('OK');
  });

  it('the runtime starts its simulator with the option and stops it on stop', async () => {
    // Started here (not through the fixture) to stop it once, in the test.
    const rt = await LocalRuntime.start({ emulator: local.emulator(), timeScale: 0.001, traffic: { seed: 1 } });
    const sim = rt.trafficSimulator!;
    expect(sim.active).toBe(true);
    await rt.stop();
    expect(sim.active).toBe(false);
    await expect(sim.stop()).resolves.toBeUndefined();
  });

  it('keys a behaviour by revision, and draws 5xx counts binomially from a seed', () => {
    const behaviour = byRevision(['arn:td:1'], HEALTHY, FAILING);
    const target = (taskDefinitionArn?: string): SimulatedTarget => ({ service: 'checkout', slot: 'green', targetGroupArn: 'tg', taskDefinitionArn, weight: 10 });
    expect([behaviour(target('arn:td:1')), behaviour(target('arn:td:2')), behaviour(target(undefined))]).toEqual([HEALTHY, FAILING, HEALTHY]);
    const [a, b] = [seeded(42), seeded(42)];
    const draws = Array.from({ length: 200 }, () => binomial(600, 0.04, a));
    expect(Array.from({ length: 200 }, () => binomial(600, 0.04, b))).toEqual(draws);
    const mean = draws.reduce((x, y) => x + y, 0) / draws.length;
    expect(mean).toBeGreaterThan(21);
    expect(mean).toBeLessThan(27);
    expect(binomial(0, 0.5, a)).toBe(0);
    expect(binomial(50, 1, a)).toBe(50);
  });
});
