/**
 * Production semantics on the local runtime: concurrency policies, fan-out and tag filters, pre-flight
 * refusals (missing alarm, drift, image scan), ECS failure events, revision retention, stale locks and the
 * per-step history. Every end state is read back from the emulator.
 */
import { ECSClient, DescribeTaskDefinitionCommand, ListTaskDefinitionsCommand, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { describe, expect, it } from 'vitest';
import { clientConfig, DEMO, type ProvisionOptions } from '../../infra/local/environment';
import { ecrPushEvent } from '../../infra/local/events';
import { pushAndDeliver, readEndState, until } from '../../infra/local/demo';
import type { LocalRuntimeOptions } from '../../infra/local/runtime';
import { canary } from '../../functions/core/plan';
import { useLocalRuntime } from './emulator';

const local = useLocalRuntime();
const { events } = local;
const start = (services: ProvisionOptions[] = [{}], options: Partial<LocalRuntimeOptions> = {}) => local.start({ services, ...options });

const ecs = () => new ECSClient(clientConfig(local.emulator().endpoint));
/** Waits until the push's execution owns the service: the next push arrives while it is in flight. */
/** Waits until the push's wait for its image's scan is recorded (a task token, no lock). */
const scanWaiting = (rt: Awaited<ReturnType<typeof start>>, execution: string, digest: string) =>
  until(
    async () =>
      rt.sfn.waitingTasks().some((t) => t.execution === execution && t.state === 'Wait for image scan') && (await rt.ports.store.scanWait(rt.env.service.name, digest))?.rolloutId === execution,
  );
const owning = (rt: Awaited<ReturnType<typeof start>>, execution: string) => until(async () => (await rt.ports.store.getLock(rt.env.service.name))?.rolloutId === execution);
const entered = (execution: string, state: string) => events.find((e) => e.execution === execution && e.type === 'StateEntered' && e.state === state);

describe('a second push while the first owns the service', () => {
  it('supersede (the default): the first rolls back cleanly, the newest rolls out, never both at once', async () => {
    const rt = await start();
    const first = await pushAndDeliver(rt, 'v2');
    await owning(rt, first.executions[0]!);
    const second = await pushAndDeliver(rt, 'v3');
    const all = await rt.sfn.waitAll();

    const [one, two] = [first.executions[0]!, second.executions[0]!].map((n) => all.find((e) => e.name === n)!);
    const end = await readEndState(rt, rt.env.service);
    expect(one!.endState).toBe('Rolled back');
    expect(two!.endState).toBe('Rollout succeeded');
    expect(end.image).toContain(second.digest);
    expect(end.weights).toEqual({ blue: 0, green: 100 });
    expect(end.history.find((h) => h.rolloutId === one!.name)?.reason).toContain(`superseded by the newer push ${two!.name}`);
    // The newer one waited for its turn and changed nothing until the first had rolled back.
    expect(two!.states.slice(0, 3)).toEqual(['Prepare rollout', 'Wait for turn', 'Prepare rollout']);
    const firstDone = events.find((e) => e.execution === one!.name && e.type === 'ExecutionFailed')!.at;
    expect(entered(two!.name, 'Register new revision')!.at).toBeGreaterThanOrEqual(firstDone);
  });

  it('queue: both roll out, in push order', async () => {
    const rt = await start([{ service: { concurrency: 'queue' } }]);
    const first = await pushAndDeliver(rt, 'v2');
    await owning(rt, first.executions[0]!);
    const second = await pushAndDeliver(rt, 'v3');
    const all = await rt.sfn.waitAll();

    const [one, two] = [first.executions[0]!, second.executions[0]!].map((n) => all.find((e) => e.name === n)!);
    const end = await readEndState(rt, rt.env.service);
    expect([one!.endState, two!.endState]).toEqual(['Rollout succeeded', 'Rollout succeeded']);
    expect(end.image).toContain(second.digest);
    expect(end.liveTaskDefinition).toBe('checkout:3');
    expect(end.weights).toEqual({ blue: 100, green: 0 }); // two rollouts: blue → green → blue
    expect(entered(two!.name, 'Register new revision')!.at).toBeGreaterThanOrEqual(events.find((e) => e.execution === one!.name && e.state === 'Finalize rollout' && e.type === 'StateExited')!.at);
  });

  it('reject: the second is refused with the reason and changes nothing', async () => {
    const rt = await start([{ service: { concurrency: 'reject' } }]);
    const first = await pushAndDeliver(rt, 'v2');
    await owning(rt, first.executions[0]!);
    const second = await pushAndDeliver(rt, 'v3');
    await rt.sfn.waitAll();

    const end = await readEndState(rt, rt.env.service);
    expect(rt.sfn.executions.get(second.executions[0]!)!.endState).toBe('Rollout refused');
    expect(end.image).toContain(first.digest);
    expect(end.history.find((h) => h.rolloutId === second.executions[0])?.reason).toContain('concurrency: reject');
  });
});

describe('which pushes roll out', () => {
  it('rolls one repository out to every service that uses it', async () => {
    const rt = await start([{}, { name: 'checkout-eu', service: { repository: 'checkout' } }]);
    const pushed = await pushAndDeliver(rt, 'v2');
    await rt.sfn.waitAll();

    expect(pushed.executions).toHaveLength(2);
    for (const env of rt.environments) {
      const end = await readEndState(rt, env.service);
      expect(end.outcome, env.service.name).toBe('SUCCEEDED');
      expect(end.image, env.service.name).toContain(pushed.digest);
    }
  });

  it("rolls out only the tags a service's filter matches, and says why it ignores the rest", async () => {
    const rt = await start([{ service: { tagFilter: 'v*' } }]);
    const ignored = await pushAndDeliver(rt, 'main-41');
    const started = await pushAndDeliver(rt, 'v2');
    await rt.sfn.waitAll();

    expect(ignored.executions).toEqual([]);
    expect((ignored.delivery.result as { ignored?: string }).ignored).toBe('tag main-41 of checkout matches the tag filter of no service (checkout: v*)');
    expect(started.executions).toHaveLength(1);
    expect((await readEndState(rt, rt.env.service)).image).toContain(started.digest);
  });
});

describe('pre-flight refusals change nothing', () => {
  it('refuses a service whose configured alarm does not exist', async () => {
    const rt = await start([{ service: { alarms: ['checkout-5xx', 'checkout-5xxx'] } }]);
    await pushAndDeliver(rt, 'v2');
    const [execution] = await rt.sfn.waitAll();

    const end = await readEndState(rt, rt.env.service);
    expect(execution!.endState).toBe('Rollout refused');
    expect(end.history[0]?.reason).toContain('alarm checkout-5xxx does not exist');
    expect(end).toMatchObject({ weights: { blue: 100, green: 0 }, liveTaskDefinition: 'checkout:1', idleTaskDefinition: 'checkout:1', lockHeld: false });
  });

  it('refuses to roll out over a live slot changed by hand (drift), and adopts it when told to', async () => {
    const rt = await start();
    await pushAndDeliver(rt, 'v2');
    await rt.sfn.waitAll();
    const client = ecs();
    await client.send(new UpdateServiceCommand({ cluster: DEMO.cluster, service: 'checkout-green', desiredCount: 5 }));
    const status = JSON.parse((await rt.slack('status checkout')).body) as { text: string };

    const drifted = await pushAndDeliver(rt, 'v3');
    await rt.sfn.waitAll();
    const refused = await readEndState(rt, rt.env.service);

    expect(rt.sfn.executions.get(drifted.executions[0]!)!.endState).toBe('Rollout refused');
    expect(refused.history.find((h) => h.rolloutId === drifted.executions[0])?.reason).toContain('the live service wants 5 tasks, Cutover left 2');
    expect(refused.liveTaskDefinition).toBe('checkout:2');
    expect(status.text).toContain('drift since'); // status shows it before anyone pushes
    expect(status.text).toContain('the live service wants 5 tasks, Cutover left 2');
    client.destroy();
  });

  it('adopts drift when the configuration says so', async () => {
    const rt = await start([{ service: { adoptDrift: true } }]);
    await pushAndDeliver(rt, 'v2');
    await rt.sfn.waitAll();
    const client = ecs();
    await client.send(new UpdateServiceCommand({ cluster: DEMO.cluster, service: 'checkout-green', desiredCount: 5 }));
    client.destroy();

    await pushAndDeliver(rt, 'v3');
    await rt.sfn.waitAll();

    const end = await readEndState(rt, rt.env.service);
    expect(end.outcome).toBe('SUCCEEDED');
    expect(end.liveTaskDefinition).toBe('checkout:3');
  });

  it.each([
    ['HIGH', 'refused', 'CVE-9999-9999 (HIGH)'],
    ['CRITICAL', 'rolled out', undefined],
  ] as const)('scan gate failOn %s: an image with a HIGH finding is %s, once its scan completed', async (failOn, _outcome, named) => {
    const rt = await start([{ service: { imageScan: { failOn } } }]);
    const push = await pushAndDeliver(rt, 'v2');
    // Scan on push runs a while on AWS: the push waits for it, holding nothing.
    await scanWaiting(rt, push.executions[0]!, push.digest);
    expect(await rt.ports.store.getLock(rt.env.service.name)).toBeUndefined();
    const woken = await rt.completeScan(push.digest);
    expect(woken.result).toMatchObject({ scanned: [{ service: 'checkout', rolloutId: push.executions[0] }] });
    const [execution] = await rt.sfn.waitAll();

    const end = await readEndState(rt, rt.env.service);
    if (named) {
      expect(execution!.endState).toBe('Rollout refused');
      expect(end.history[0]?.reason).toContain(named);
      expect(end.weights).toEqual({ blue: 100, green: 0 });
    } else {
      expect(execution!.endState).toBe('Rollout succeeded');
    }
  });
});

describe('the image scan gate on a scan that takes its time', () => {
  it('a push waiting for its scan leaves the rollout in flight alone; once its scan completes, it supersedes it', async () => {
    const rt = await start([
      {
        service: {
          imageScan: { failOn: 'CRITICAL' },
          plan: {
            steps: [
              { kind: 'setWeight', weight: 50 },
              { kind: 'bake', seconds: 3600 },
              { kind: 'setWeight', weight: 100 },
            ],
          },
        },
      },
    ]);
    const first = await pushAndDeliver(rt, 'v2');
    await rt.completeScan(first.digest);
    await until(async () => (await rt.ports.store.getLock(rt.env.service.name))?.wait?.kind === 'bake');
    const second = await pushAndDeliver(rt, 'v3');
    await scanWaiting(rt, second.executions[0]!, second.digest);

    const lock = await rt.ports.store.getLock(rt.env.service.name);
    expect(lock).toMatchObject({ rolloutId: first.executions[0], wait: { kind: 'bake' } });
    expect(lock?.abort).toBeUndefined();
    expect((await readEndState(rt, rt.env.service)).weights).toEqual({ blue: 50, green: 50 });

    await rt.completeScan(second.digest);
    await rt.sfn.wait(first.executions[0]!);
    await owning(rt, second.executions[0]!);
    expect(rt.sfn.executions.get(first.executions[0]!)!.endState).toBe('Rolled back');
  });

  it('a push stopped while it waits for its scan gets its record and leaves no wait behind', async () => {
    const rt = await start([{ service: { imageScan: { failOn: 'CRITICAL' } } }]);
    const push = await pushAndDeliver(rt, 'v2');
    await scanWaiting(rt, push.executions[0]!, push.digest);

    rt.sfn.stop(push.executions[0]!);
    await rt.settle();

    expect(await rt.ports.store.scanWait('checkout', push.digest)).toBeUndefined();
    const end = await readEndState(rt, rt.env.service);
    expect(end.history[0]).toMatchObject({ rolloutId: push.executions[0], outcome: 'FAILED' });
    expect(end.weights).toEqual({ blue: 100, green: 0 });
  });

  it('refuses the push with a record when no scan completes in time (imageScan.onTimeout: refuse)', async () => {
    const rt = await start([{ service: { imageScan: { failOn: 'CRITICAL', timeoutSeconds: 60 } } }]);
    const push = await pushAndDeliver(rt, 'v2');
    const [execution] = await rt.sfn.waitAll();

    expect(execution!.states).toContain('Image scan timed out');
    expect(execution!.endState).toBe('Rollout refused');
    const end = await readEndState(rt, rt.env.service);
    expect(end.history[0]).toMatchObject({ rolloutId: push.executions[0], outcome: 'REFUSED' });
    expect(end.history[0]!.reason).toContain('no scan of the image completed within 60 s');
    expect(end.weights).toEqual({ blue: 100, green: 0 });
  });
});

describe('ECS failure events', () => {
  it("abort the rollout at once when the new slot's deployment fails, before the steady checks run out", async () => {
    // 400 checks 15 s apart: 100 minutes, near the most the execution history budget allows.
    const rt = await start([{ service: { timings: { steadyMaxChecks: 400, steadyPollSeconds: 15 } } }], { unstableNewRevisions: true });
    const { executions } = await pushAndDeliver(rt, 'v2');
    await until(() => events.some((e) => e.execution === executions[0] && e.state === 'Check new tasks are steady' && e.type === 'StateExited'));

    const delivery = await rt.deliver({
      version: '0',
      id: 'f1f3c1a2-0000-4000-8000-000000000001',
      'detail-type': 'ECS Deployment State Change',
      source: 'aws.ecs',
      account: DEMO.account,
      time: new Date().toISOString(),
      region: DEMO.region,
      resources: [`arn:aws:ecs:${DEMO.region}:${DEMO.account}:service/${DEMO.cluster}/checkout-green`],
      detail: {
        eventType: 'ERROR',
        eventName: 'SERVICE_DEPLOYMENT_FAILED',
        deploymentId: 'ecs-svc/123',
        updatedAt: new Date().toISOString(),
        reason: 'ECS deployment circuit breaker: tasks failed to start.',
      },
    });
    const [execution] = await rt.sfn.waitAll();

    const end = await readEndState(rt, rt.env.service);
    expect(delivery).toMatchObject({ rule: 'AbortOnEcsFailure', target: 'alarm', result: { aborted: [{ service: 'checkout' }] } });
    expect(execution!.endState).toBe('Rolled back');
    expect(end.reason).toContain('DeploymentFailed: ECS SERVICE_DEPLOYMENT_FAILED on checkout-green: ECS deployment circuit breaker');
    expect(execution!.states.filter((s) => s === 'Check new tasks are steady').length).toBeLessThan(10_000);
    expect(end.weights).toEqual({ blue: 100, green: 0 });
  });
});

describe('revisions and history', () => {
  it('keeps the live, retained and last N revisions registered and deregisters older ones it registered, never one registered by hand', async () => {
    const rt = await start([{ service: { keepRevisions: 1 } }]);
    for (const tag of ['v2', 'v3', 'v4', 'v5']) {
      await pushAndDeliver(rt, tag);
      await rt.sfn.waitAll();
    }
    const client = ecs();
    const active = (await client.send(new ListTaskDefinitionsCommand({ familyPrefix: 'checkout', status: 'ACTIVE' }))).taskDefinitionArns!.map((a) => a.split('/').pop());
    const first = await client.send(new DescribeTaskDefinitionCommand({ taskDefinition: 'checkout:1' }));
    const second = await client.send(new DescribeTaskDefinitionCommand({ taskDefinition: 'checkout:2' }));
    client.destroy();

    const end = await readEndState(rt, rt.env.service);
    expect(end.liveTaskDefinition).toBe('checkout:5');
    expect(end.retainedTaskDefinition).toBe('checkout:4');
    // live (5), retained (4), 1 more (3); checkout:1 was registered by hand (the environment's first revision)
    expect(active.sort()).toEqual(['checkout:1', 'checkout:3', 'checkout:4', 'checkout:5']);
    expect(first.taskDefinition?.status).toBe('ACTIVE');
    expect(second.taskDefinition?.status).toBe('INACTIVE');
  });

  it('records every step with its weights, durably and by service', async () => {
    const rt = await start([{ service: { plan: canary([10, 50, 100], 60) } }]);
    const { executions } = await pushAndDeliver(rt, 'v2');
    await rt.sfn.waitAll();

    const steps = await rt.ports.store.listSteps('checkout', executions[0]!);
    expect(steps.map((s) => s.weights)).toEqual([
      { blue: 90, green: 10 },
      { blue: 50, green: 50 },
      { blue: 0, green: 100 },
    ]);
    expect(steps.map((s) => s.index)).toEqual([0, 2, 4]);
  });

  it('takes over a lock left by an execution that has ended, and rolls out', async () => {
    const rt = await start();
    const { executions } = await pushAndDeliver(rt, 'v2');
    await rt.sfn.waitAll();
    // As if that execution had been stopped by hand while it held the lock.
    await rt.ports.store.acquireLock({ service: 'checkout', rolloutId: executions[0]!, startedAt: new Date().toISOString(), alarms: [...DEMO.alarms] });

    const next = await pushAndDeliver(rt, 'v3');
    await rt.sfn.waitAll();

    expect(rt.sfn.executions.get(next.executions[0]!)!.endState).toBe('Rollout succeeded');
    expect((await readEndState(rt, rt.env.service)).image).toContain(next.digest);
  });
});

describe('bad pushes', () => {
  it('refuses a push whose digest ECR does not have, before any change', async () => {
    const rt = await start();
    const delivery = await rt.deliver(ecrPushEvent({ repository: 'checkout', digest: `sha256:${'ab'.repeat(32)}`, tag: 'v9' }));
    const [execution] = await rt.sfn.waitAll();

    expect(delivery.target).toBe('start');
    expect(execution!.endState).toBe('Rollout refused');
    expect((await readEndState(rt, rt.env.service)).history[0]?.reason).toContain(`image sha256:${'ab'.repeat(32)} is not in ECR repository checkout`);
  });
});
