/**
 * The real state machine and the real handlers on moto_server: every scenario asserts the end state read
 * back from the emulator (listener weights, the slots' revisions, task definitions, history, lock).
 */
import { CloudWatchClient, SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeTaskDefinitionCommand, ECSClient, ListTaskDefinitionsCommand } from '@aws-sdk/client-ecs';
import { describe, expect, it } from 'vitest';
import { clientConfig, DEMO } from '../../infra/local/environment';
import { ecrPushEvent } from '../../infra/local/events';
import { fireAlarm, pushAndDeliver, readEndState, until } from '../../infra/local/demo';
import type { LocalRuntime } from '../../infra/local/runtime';
import type { LocalEvent } from '../../infra/local/sfn';
import { useLocalRuntime } from './emulator';

/** A fresh demo environment on the shared emulator per test; bakes of 5 minutes last 0.3 s. */
const local = useLocalRuntime();
const { start, events } = local;

const shiftedTo = (weight: number) => (e: LocalEvent) =>
  e.type === 'StateExited' && e.state === 'Shift traffic' && (e.output as { shift?: { weights?: { green?: number } } }).shift?.weights?.green === weight;

async function revisions(rt: LocalRuntime) {
  const ecs = new ECSClient(clientConfig(rt.emulator.endpoint));
  const out = await ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: DEMO.service }));
  ecs.destroy();
  return out.taskDefinitionArns ?? [];
}

describe('a rollout on the local runtime', () => {
  it('moves all traffic to the new revision in canary steps and keeps the old revision registered', async () => {
    const rt = await start();
    const { digest, executions } = await pushAndDeliver(rt, 'v2');
    const [execution] = await rt.sfn.waitAll();

    const end = await readEndState(rt, rt.env.service);
    expect(executions).toHaveLength(1);
    expect(execution!.status).toBe('SUCCEEDED');
    expect(execution!.endState).toBe('Rollout succeeded');
    expect(end.outcome).toBe('SUCCEEDED');
    expect(end.weights).toEqual({ blue: 0, green: 100 });
    expect(end.liveSlot).toBe('green');
    expect(end.liveTaskDefinition).toBe('checkout:2');
    expect(end.image).toBe(`${DEMO.account}.dkr.ecr.${DEMO.region}.amazonaws.com/checkout@${digest}`);
    expect(end.retainedTaskDefinition).toBe('checkout:1');
    expect(end.idleSlot).toBe('blue');
    expect(end.idleTaskDefinition).toBe('checkout:1');
    expect(end.idleDesiredCount).toBe(0); // scaled down after the rollback window
    expect(end.lockHeld).toBe(false);
    // The weights went 10 → 25 → 50 → 100, in that order, with a bake between.
    const shifts = events.filter((e) => e.type === 'StateExited' && e.state === 'Shift traffic').map((e) => (e.output as { shift: { weights: { green: number } } }).shift.weights.green);
    expect(shifts).toEqual([10, 25, 50, 100]);
    expect(execution!.states.filter((s) => s === 'Bake')).toHaveLength(3);
    // The retained revision is still registered and ACTIVE.
    const ecs = new ECSClient(clientConfig(rt.emulator.endpoint));
    const retained = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: 'checkout:1' }));
    ecs.destroy();
    expect(retained.taskDefinition?.status).toBe('ACTIVE');
  });

  it('rolls back to the retained revision at once when an alarm fires during the 25% bake', async () => {
    const rt = await start({ timeScale: 0.01 }); // 3 s bakes: the alarm must arrive mid-bake, not after it
    const { executions } = await pushAndDeliver(rt, 'v2');
    const name = executions[0]!;
    await until(() => events.some(shiftedTo(25)) && rt.sfn.waitingTasks().some((t) => t.execution === name));
    const delivery = await fireAlarm(rt, 'checkout-5xx', 'Threshold Crossed: 5xx count 42 > 10');
    // One hop: the alarm function itself put all traffic back on the retained slot before it returned.
    const atOnce = await rt.ports.traffic.readForward(rt.env.service.listenerArn);
    const [execution] = await rt.sfn.waitAll();

    const end = await readEndState(rt, rt.env.service);
    expect(delivery.target).toBe('alarm');
    expect(delivery.result).toMatchObject({ aborted: [{ service: 'checkout', rolloutId: name, resumedBake: true, restored: true }] });
    expect(atOnce?.weights).toEqual({ [rt.env.service.slots.blue.targetGroupArn]: 100, [rt.env.service.slots.green.targetGroupArn]: 0 });
    expect(execution!.endState).toBe('Rolled back');
    // The bake was cut short by the failed token, not ended by its timeout.
    const bakeFailures = events.filter((e) => e.type === 'StateFailed' && e.state === 'Bake').map((e) => e.error);
    expect(bakeFailures).toEqual(['States.Timeout', 'AlarmFired']);
    expect(end.outcome).toBe('ROLLED_BACK');
    expect(end.weights).toEqual({ blue: 100, green: 0 });
    expect(end.liveSlot).toBe('blue');
    expect(end.liveTaskDefinition).toBe('checkout:1');
    expect(end.idleSlot).toBe('green');
    expect(end.idleTaskDefinition).toBe('checkout:1');
    expect(end.idleDesiredCount).toBe(0);
    expect(end.reason).toContain('checkout-5xx');
    expect(end.lockHeld).toBe(false);
    expect(execution!.states.filter((s) => s === 'Shift traffic')).toHaveLength(2); // 10% and 25%, never 50%
  });

  it('rolls back when an alarm is already in ALARM as a step begins, with no alarm event at all', async () => {
    const rt = await start();
    const { executions } = await pushAndDeliver(rt, 'v2');
    await until(() => events.some(shiftedTo(10)));
    // CloudWatch sends no event for an alarm that is already in ALARM; only the state changes.
    const cw = new CloudWatchClient(clientConfig(rt.emulator.endpoint));
    await cw.send(new SetAlarmStateCommand({ AlarmName: 'checkout-latency-p99', StateValue: 'ALARM', StateReason: 'p99 2.3 s' }));
    cw.destroy();
    const [execution] = await rt.sfn.waitAll();

    const end = await readEndState(rt, rt.env.service);
    expect(executions).toHaveLength(1);
    expect(rt.sfn.invocations.alarm ?? 0).toBe(0);
    expect(execution!.endState).toBe('Rolled back');
    const failed = events.find((e) => e.type === 'StateFailed' && e.state === 'Check alarms');
    expect(failed?.error).toBe('AlarmFired');
    expect(end.weights).toEqual({ blue: 100, green: 0 });
    expect(end.idleTaskDefinition).toBe('checkout:1');
    expect(end.reason).toContain('checkout-latency-p99');
  });

  it('rolls back without moving traffic when the new revision never becomes steady', async () => {
    const rt = await start({ unstableNewRevisions: true });
    await pushAndDeliver(rt, 'v2');
    const [execution] = await rt.sfn.waitAll();

    const end = await readEndState(rt, rt.env.service);
    expect(execution!.endState).toBe('Rolled back');
    expect(execution!.states).not.toContain('Shift traffic');
    expect(execution!.states.filter((s) => s === 'Check new tasks are steady')).toHaveLength(rt.env.service.timings.steadyMaxChecks);
    expect(end.outcome).toBe('ROLLED_BACK');
    expect(end.reason).toMatch(/^DeploymentTimedOut: checkout-green not steady after 40 checks/);
    expect(end.weights).toEqual({ blue: 100, green: 0 });
    expect(end.liveTaskDefinition).toBe('checkout:1');
    expect(end.idleTaskDefinition).toBe('checkout:1');
    expect(end.idleDesiredCount).toBe(0);
  });

  it('refuses a second rollout of the same service while one holds the lock (concurrency: reject), and changes nothing for it', async () => {
    const rt = await start({ services: [{ service: { concurrency: 'reject' } }] });
    const first = await pushAndDeliver(rt, 'v2');
    await until(() => events.some((e) => e.execution === first.executions[0] && e.type === 'StateExited' && e.state === 'Prepare rollout'));
    const second = await pushAndDeliver(rt, 'v3');
    await rt.sfn.waitAll();

    const one = rt.sfn.executions.get(first.executions[0]!)!;
    const two = rt.sfn.executions.get(second.executions[0]!)!;
    const end = await readEndState(rt, rt.env.service);
    expect(two.endState).toBe('Rollout refused');
    expect(events.find((e) => e.execution === two.name && e.type === 'StateFailed')?.error).toBe('RolloutBusy');
    expect(two.states).toEqual(['Prepare rollout', 'Rollout refused']);
    expect(one.endState).toBe('Rollout succeeded');
    expect(end.image).toContain(first.digest);
    expect(end.weights).toEqual({ blue: 0, green: 100 });
    expect(end.history.find((h) => h.rolloutId === two.name)).toMatchObject({ outcome: 'REFUSED', reason: expect.stringContaining(`busy: rollout ${one.name}`) });
    expect(await revisions(rt)).toHaveLength(2); // checkout:1 and the first rollout's checkout:2 only
  });

  it('starts one rollout for a push event delivered twice', async () => {
    const rt = await start();
    const { digest } = await rt.env.pushImage('v2');
    const event = ecrPushEvent({ repository: 'checkout', digest, tag: 'v2' });
    const once = await rt.deliver(event);
    const twice = await rt.deliver(event);
    await rt.sfn.waitAll();

    expect(once.result).toMatchObject({ started: [{ service: 'checkout' }], duplicates: [] });
    expect(twice.result).toMatchObject({ started: [], duplicates: [{ service: 'checkout' }] });
    expect(rt.sfn.executions.size).toBe(1);
    expect(await revisions(rt)).toHaveLength(2);
    expect((await readEndState(rt, rt.env.service)).weights).toEqual({ blue: 0, green: 100 });
  });

  it('refuses a push without a digest with a clear error and changes nothing', async () => {
    const rt = await start();
    const event = ecrPushEvent({ repository: 'checkout', digest: '', tag: 'latest' });
    delete (event.detail as Record<string, unknown>)['image-digest'];
    const delivery = await rt.deliver(event);

    expect(delivery.target).toBe('start');
    expect(delivery.error?.name).toBe('InvalidInput');
    expect(delivery.error?.message).toContain('detail.image-digest: missing; Cutover deploys image digests, never mutable tags (the push of tag latest carries no digest)');
    expect(rt.sfn.executions.size).toBe(0);
    expect(await revisions(rt)).toHaveLength(1);
    const end = await readEndState(rt, rt.env.service);
    expect(end.weights).toEqual({ blue: 100, green: 0 });
    expect(end.history).toHaveLength(0);
  });

  it('ignores a push for a repository no service uses, says why, and changes nothing', async () => {
    const rt = await start();
    const event = ecrPushEvent({ repository: 'billing', digest: `sha256:${'a'.repeat(64)}`, tag: 'v9' });
    // The rule only matches configured repositories, so EventBridge delivers nothing...
    expect(await rt.deliver(event)).toEqual({});
    // ...and the start function, given the event anyway, ignores it with the reason.
    const result = await rt.functions.start!(event);

    expect(result).toEqual({ started: [], duplicates: [], ignored: 'no service is configured for repository billing' });
    expect(rt.sfn.executions.size).toBe(0);
    expect(await revisions(rt)).toHaveLength(1);
    expect((await readEndState(rt, rt.env.service)).weights).toEqual({ blue: 100, green: 0 });
  });
});
