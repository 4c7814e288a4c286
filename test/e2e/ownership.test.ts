/**
 * The ownership protocol on the local runtime, with the interleavings forced at exact points: an execution
 * stopped mid-bake, a lost execution-ended event and a chat rollback, a rollback accepted while Finalize
 * runs, a late delivery of an older push, a refused push while a rollout is in flight, one digest under two
 * tags. End states are read back from the emulator.
 */
import { describe, expect, it } from 'vitest';
import { ecrPushEvent } from '../../infra/local/events';
import { pushAndDeliver, readEndState, until } from '../../infra/local/demo';
import type { LocalRuntime } from '../../infra/local/runtime';
import type { RolloutStore } from '../../functions/core/ports';
import { leaseLeftMs } from '../../functions/core/ownership';
import { useLocalRuntime } from './emulator';

const local = useLocalRuntime({ leaseMs: 50 });
const { start } = local;

/** Waits until the execution is baking on a token recorded on the lock. */
const baking = (rt: LocalRuntime, execution: string) =>
  until(async () => rt.sfn.waitingTasks().some((t) => t.execution === execution && t.state === 'Bake') && (await rt.ports.store.getLock(rt.env.service.name))?.wait?.kind === 'bake');

const historyOf = async (rt: LocalRuntime, rolloutId: string) => (await rt.ports.store.listHistory(rt.env.service.name, 50)).filter((h) => h.rolloutId === rolloutId);

describe('an execution that dies while it owns the service', () => {
  it('stopped mid-bake: the execution-ended event has the service put back on the retained revision, the record closed and the lock released', async () => {
    const rt = await start({
      services: [
        {
          service: {
            plan: {
              steps: [
                { kind: 'setWeight', weight: 25 },
                { kind: 'bake', seconds: 3600 },
                { kind: 'setWeight', weight: 100 },
              ],
            },
          },
        },
      ],
    });
    const before = await readEndState(rt, rt.env.service);
    const push = await pushAndDeliver(rt, 'v2');
    const name = push.executions[0]!;
    await baking(rt, name);
    expect((await readEndState(rt, rt.env.service)).weights).toEqual({ blue: 75, green: 25 });

    expect(rt.sfn.stop(name)).toBe(true);
    await rt.settle();

    const end = await readEndState(rt, rt.env.service);
    expect(rt.sfn.executions.get(name)!.status).toBe('ABORTED');
    expect(end.weights).toEqual({ blue: 100, green: 0 });
    expect(end.liveTaskDefinition).toBe(before.liveTaskDefinition);
    expect(await rt.ports.store.getLock(rt.env.service.name)).toBeUndefined();
    const [record] = await historyOf(rt, name);
    expect(record).toMatchObject({ outcome: 'ROLLED_BACK' });
    expect(record!.reason).toContain(`execution ${name} ended ABORTED`);
    expect(rt.slackApi!.messages.some((m) => m.text.includes('recovered checkout'))).toBe(true);
  });

  it('with the execution-ended event lost, /cutover rollback restores the retained revision itself and says so', async () => {
    const rt = await start({
      services: [
        {
          service: {
            plan: {
              steps: [
                { kind: 'setWeight', weight: 50 },
                { kind: 'bake', seconds: 3600 },
                { kind: 'setWeight', weight: 100 },
              ],
            },
          },
        },
      ],
      // EventBridge never delivers the execution's end to the reconcile function.
      instrument: { invoke: (fn, run) => (fn === 'reconcile' ? async () => ({ recovered: [], ignored: 'dropped by the test' }) : run) },
    });
    const push = await pushAndDeliver(rt, 'v2');
    const name = push.executions[0]!;
    await baking(rt, name);
    rt.sfn.stop(name);
    await rt.settle();
    expect((await readEndState(rt, rt.env.service)).weights).toEqual({ blue: 50, green: 50 });

    // The lease (50 ms here; the function timeout on AWS) must run out before anyone else may write.
    const dead = (await rt.ports.store.getLock(rt.env.service.name))!;
    await until(() => leaseLeftMs(dead, new Date()) === 0);
    const reply = await rt.slack('rollback checkout the canary is dead');
    const outcome = await reply.followUp();

    expect(reply.statusCode).toBe(200);
    expect(outcome.text).toContain('Restored checkout');
    const end = await readEndState(rt, rt.env.service);
    expect(end.weights).toEqual({ blue: 100, green: 0 });
    expect(await rt.ports.store.getLock(rt.env.service.name)).toBeUndefined();
    expect((await historyOf(rt, name))[0]).toMatchObject({ outcome: 'ROLLED_BACK' });
    // The next push is not refused for a split listener or a held lock.
    const next = await pushAndDeliver(rt, 'v3');
    const [done] = await Promise.all(next.executions.map((n) => rt.sfn.wait(n)));
    expect(done!.endState).toBe('Rollout succeeded');
  });
});

describe('the committed slot emptied outside Cutover in the rollback window', () => {
  const plan = { steps: [{ kind: 'setWeight', weight: 100 }] } as const;
  /** Waits until the execution waits out its rollback window, then scales its new (live) slot to 0 by hand. */
  const emptyNewSlotInWindow = async (rt: LocalRuntime, name: string) => {
    await until(async () => rt.sfn.executions.get(name)?.states.includes('Keep old slot warm') ?? false);
    const { cluster, slots } = rt.env.service;
    await rt.ports.ecs.updateService(cluster, slots.green.serviceName, { desiredCount: 0 });
  };

  it('at the end of the window, the warm old slot takes the traffic back instead of being scaled down', async () => {
    const rt = await start({ services: [{ service: { plan, timings: { rollbackWindowSeconds: 1 } } }] });
    const before = await readEndState(rt, rt.env.service);
    const push = await pushAndDeliver(rt, 'v2');
    const name = push.executions[0]!;
    await emptyNewSlotInWindow(rt, name);
    await rt.sfn.wait(name);
    await rt.settle();

    const end = await readEndState(rt, rt.env.service);
    expect(end.weights).toEqual({ blue: 100, green: 0 });
    expect(end.liveTaskDefinition).toBe(before.liveTaskDefinition);
    const [record] = await historyOf(rt, name);
    expect(record).toMatchObject({ outcome: 'ROLLED_BACK', liveSlot: 'blue' });
    expect(record!.reason).toContain('scaled to 0 outside Cutover');
    expect(await rt.ports.store.getLock(rt.env.service.name)).toBeUndefined();
    expect(rt.slackApi!.messages.some((m) => m.text.includes('blue takes 100% again'))).toBe(true);
  });

  it('stopped in the window, the execution-ended event has the warm old slot take the traffic back', async () => {
    const rt = await start({ services: [{ service: { plan, timings: { rollbackWindowSeconds: 3600 } } }] });
    const push = await pushAndDeliver(rt, 'v2');
    const name = push.executions[0]!;
    await emptyNewSlotInWindow(rt, name);

    expect(rt.sfn.stop(name)).toBe(true);
    await rt.settle();

    expect((await readEndState(rt, rt.env.service)).weights).toEqual({ blue: 100, green: 0 });
    const [record] = await historyOf(rt, name);
    expect(record).toMatchObject({ outcome: 'ROLLED_BACK', liveSlot: 'blue' });
    expect(record!.reason).toContain('scaled to 0 outside Cutover');
    expect(rt.slackApi!.messages.some((m) => m.text.includes(`${name} ended ABORTED in its rollback window`))).toBe(true);
  });
});

describe('accepted means done', () => {
  it('a rollback accepted while Finalize runs (after its commit) still rolls the service back', async () => {
    const rt = await start();
    const store = rt.ports.store;
    let reply: Awaited<ReturnType<LocalRuntime['slack']>> | undefined;
    // The moment after Finalize committed the new revision and wrote the service state, before it releases.
    const wrapped: RolloutStore = {
      ...store,
      async putServiceState(state) {
        await store.putServiceState(state);
        // Finalize waits here until the rollback (answered through response_url) has run.
        if (!reply && (await store.getLock(state.service))?.target?.phase === 'committed') {
          reply = await rt.slack('rollback checkout too late?');
          await reply.followUp();
        }
      },
    };
    rt.ports.store = wrapped;
    const push = await pushAndDeliver(rt, 'v2');
    const [done] = await Promise.all(push.executions.map((n) => rt.sfn.wait(n)));

    expect(reply?.statusCode).toBe(200);
    expect(done!.endState).toBe('Rolled back');
    const end = await readEndState(rt, rt.env.service);
    expect(end.weights).toEqual({ blue: 100, green: 0 });
    expect(end.image).not.toContain(push.digest);
    expect((await historyOf(rt, done!.name))[0]).toMatchObject({ outcome: 'ROLLED_BACK' });
    expect(await store.getLock(rt.env.service.name)).toBeUndefined();
  });
});

describe('pushes', () => {
  it('a late delivery of an older push never replaces the newer image, and its record says why', async () => {
    const rt = await start();
    const older = await rt.env.pushImage('v2');
    const newer = await rt.env.pushImage('v3');
    const first = await rt.deliver(ecrPushEvent({ repository: rt.env.service.repository, digest: newer.digest, tag: 'v3' }));
    await rt.settle();
    const late = await rt.deliver(ecrPushEvent({ repository: rt.env.service.repository, digest: older.digest, tag: 'v2' }));
    await rt.settle();

    expect(first.error).toBeUndefined();
    expect(late.error).toBeUndefined();
    const end = await readEndState(rt, rt.env.service);
    expect(end.image).toContain(newer.digest);
    const lateName = [...rt.sfn.executions.keys()].find((n) => n.includes(older.digest.slice(7, 19)))!;
    expect(rt.sfn.executions.get(lateName)!.endState).toBe('Rollout superseded');
    const [record] = await historyOf(rt, lateName);
    expect(record).toMatchObject({ outcome: 'SUPERSEDED' });
    expect(record!.reason).toContain('a late delivery never replaces a newer image');
  });

  it('a push whose digest is not in ECR is refused without disturbing the rollout in flight', async () => {
    // A bake that lasts until promoted: the ghost push arrives while it runs, however busy the machine.
    const rt = await start({
      services: [
        {
          service: {
            plan: {
              steps: [
                { kind: 'setWeight', weight: 25 },
                { kind: 'bake', seconds: 86_400 },
                { kind: 'setWeight', weight: 100 },
              ],
            },
          },
        },
      ],
    });
    const good = await pushAndDeliver(rt, 'v2');
    await baking(rt, good.executions[0]!);
    const ghost = `sha256:${'f'.repeat(64)}`;
    const delivery = await rt.deliver(ecrPushEvent({ repository: rt.env.service.repository, digest: ghost, tag: 'v3' }));
    const [refused] = (delivery.result as { started: Array<{ executionArn: string }> }).started.map((s) => s.executionArn.split(':').pop()!);
    await rt.sfn.wait(refused!);
    expect(await rt.ports.store.getLock(rt.env.service.name)).toMatchObject({ rolloutId: good.executions[0], wait: { kind: 'bake' } });
    expect((await rt.slack('promote checkout')).statusCode).toBe(200);
    await rt.settle();

    expect(rt.sfn.executions.get(good.executions[0]!)!.endState).toBe('Rollout succeeded');
    const end = await readEndState(rt, rt.env.service);
    expect(end.image).toContain(good.digest);
    const ghostName = [...rt.sfn.executions.keys()].find((n) => n.includes('ffffffffffff'))!;
    expect(rt.sfn.executions.get(ghostName)!.endState).toBe('Rollout refused');
    expect((await historyOf(rt, ghostName))[0]?.reason).toContain('is not in ECR');
    expect((await historyOf(rt, good.executions[0]!))[0]?.reason).not.toContain('superseded');
  });

  it('one digest pushed under two tags is one rollout', async () => {
    const rt = await start();
    const { digest } = await rt.env.pushImage('v2');
    const a = await rt.deliver(ecrPushEvent({ repository: rt.env.service.repository, digest, tag: 'v2' }));
    const b = await rt.deliver(ecrPushEvent({ repository: rt.env.service.repository, digest, tag: 'latest' }));
    await rt.settle();

    expect((a.result as { started: unknown[] }).started).toHaveLength(1);
    expect((b.result as { duplicates: unknown[] }).duplicates).toHaveLength(1);
    expect(rt.sfn.executions.size).toBe(1);
    expect((await rt.ports.store.listHistory(rt.env.service.name, 10)).filter((h) => h.image?.includes(digest))).toHaveLength(1);
  });
});

describe("the alarm's one-hop write, on the emulator's DynamoDB", () => {
  it('fences the lock at its own generation, opens a lease at that generation, and the lease closes whole', async () => {
    const rt = await start({
      services: [
        {
          service: {
            plan: {
              steps: [
                { kind: 'setWeight', weight: 25 },
                { kind: 'bake', seconds: 3600 },
                { kind: 'setWeight', weight: 100 },
              ],
            },
          },
        },
      ],
    });
    const service = rt.env.service.name;
    const push = await pushAndDeliver(rt, 'v2');
    await baking(rt, push.executions[0]!);
    const held = (await rt.ports.store.getLock(service))!;
    const store: RolloutStore = rt.ports.store;
    const abort = { error: 'AlarmFired', reason: 'test', at: new Date().toISOString() };
    const lease = { leaseUntil: new Date(Date.now() + 60_000).toISOString(), writer: 'test-writer' };

    // Another alarm: nothing written, the lock as it is.
    const other = await store.abortWatching(service, 'not-watched', abort, lease);
    expect(other.written).toBe(false);
    expect(other.lock).toMatchObject({ rolloutId: held.rolloutId, generation: held.generation });
    expect(other.lock!.abort).toBeUndefined();

    const out = await store.abortWatching(service, rt.env.service.alarms[0]!, abort, lease);
    expect(out.written).toBe(true);
    expect(out.lock).toMatchObject({ rolloutId: held.rolloutId, abort, target: held.fallback!.target });
    expect(out.lock!.leases).toContainEqual({ writer: 'test-writer', generation: held.generation, until: lease.leaseUntil });

    await store.closeLeases(service, ['test-writer']);
    expect((await store.getLock(service))!.leases?.some((l) => l.writer === 'test-writer') ?? false).toBe(false);
    await rt.settle();
  });
});
