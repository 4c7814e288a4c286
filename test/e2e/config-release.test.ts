/**
 * The config-change path of "your IaC and Cutover never fight" (README, "Your IaC and Cutover: who owns
 * what"), on the local runtime: the user's `cdk deploy` registers a changed revision of the service's task
 * definition (an environment variable, CPU, the template's image tag) and CloudFormation invokes the
 * release custom resource with it; the change rolls out through the canary with the live image, on the same
 * state machine as a push. A later deploy's live-state custom resource answers what is live, and refuses
 * while a rollout holds the service. Every assertion reads the end state back from the emulator.
 */
import { DescribeTaskDefinitionCommand, ECSClient, RegisterTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import { describe, expect, it } from 'vitest';
import type { LiveStateProperties } from '../../functions/live-state/live-state';
import type { ReleaseProperties } from '../../functions/release/release';
import { shortRevision } from '../../functions/core/rollout';
import { StateName } from '../../state-machines/states';
import { pushAndDeliver, readEndState, until } from '../../infra/local/demo';
import { clientConfig, DEMO } from '../../infra/local/environment';
import type { LocalRuntime, LocalSdkClient } from '../../infra/local/runtime';
import type { LocalEvent } from '../../infra/local/sfn';
import { useLocalRuntime } from './emulator';

const local = useLocalRuntime();
const { start, events } = local;

/** The template's image, as `ContainerImage.fromEcrRepository(repo, 'v1')` writes it: a tag, not a digest. */
const TEMPLATE_IMAGE = `${DEMO.account}.dkr.ecr.${DEMO.region}.amazonaws.com/${DEMO.repository}:v1`;

/** Every write to a slot service and to the listener, in the order the emulator took them. */
type Write = { kind: 'service'; service: string; taskDefinition?: string; desiredCount?: number } | { kind: 'weights'; weights: Record<string, number> };

/** A runtime that records each UpdateService call (before it is sent) and each weight change (once made). */
async function recordingRuntime(options: Parameters<typeof start>[0] = {}): Promise<{ rt: LocalRuntime; writes: Write[] }> {
  const writes: Write[] = [];
  const client = (c: LocalSdkClient) => {
    if (!(c instanceof ECSClient)) return;
    c.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'UpdateServiceCommand') {
          const input = args.input as { service: string; taskDefinition?: string; desiredCount?: number };
          writes.push({ kind: 'service', service: input.service, taskDefinition: input.taskDefinition, desiredCount: input.desiredCount });
        }
        return next(args);
      },
      { step: 'initialize', name: 'recordUpdateService' },
    );
  };
  const rt = await start({
    ...options,
    instrument: { client },
    onWeights: (change) => writes.push({ kind: 'weights', weights: Object.fromEntries(change.weights.map((w) => [w.targetGroupArn, w.weight])) }),
  });
  return { rt, writes };
}

/**
 * What the user's `cdk deploy` does to the task definition before any custom resource runs: CloudFormation
 * replaces it, registering a new revision of the same family from the template (the image is the template's
 * tag; the environment and CPU are the user's change).
 */
async function deployChangedTaskDefinition(rt: LocalRuntime): Promise<string> {
  const ecs = new ECSClient(clientConfig(rt.emulator.endpoint));
  try {
    const out = await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: DEMO.service,
        networkMode: 'awsvpc',
        requiresCompatibilities: ['FARGATE'],
        cpu: '512',
        memory: '1024',
        executionRoleArn: `arn:aws:iam::${DEMO.account}:role/${DEMO.service}-execution`,
        taskRoleArn: `arn:aws:iam::${DEMO.account}:role/${DEMO.service}-task`,
        containerDefinitions: [
          {
            name: DEMO.container,
            image: TEMPLATE_IMAGE,
            essential: true,
            portMappings: [{ containerPort: 8080, protocol: 'tcp' }],
            environment: [
              { name: 'PORT', value: '8080' },
              { name: 'FEATURE_NEW_CHECKOUT', value: 'on' },
            ],
          },
        ],
        tags: [{ key: 'team', value: 'payments' }],
      }),
    );
    return out.taskDefinition!.taskDefinitionArn!;
  } finally {
    ecs.destroy();
  }
}

async function taskDefinition(rt: LocalRuntime, arn: string) {
  const ecs = new ECSClient(clientConfig(rt.emulator.endpoint));
  try {
    return (await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn, include: ['TAGS'] }))).taskDefinition!;
  } finally {
    ecs.destroy();
  }
}

/** The release resource's Update, as CloudFormation sends it when the template's revision changed. */
const releaseUpdate = (rt: LocalRuntime, revision: string, previous: string) =>
  rt.customResource<ReleaseProperties>('release', 'Update', 'CheckoutRelease', { Service: DEMO.service, TaskDefinition: revision }, { Service: DEMO.service, TaskDefinition: previous });

/** The live-state resource's properties as the construct writes them for the demo service (iac-ownership.ts). */
const liveStateProps = (rt: LocalRuntime): LiveStateProperties => {
  const s = rt.env.service;
  return {
    Service: s.name,
    Cluster: s.cluster,
    BlueService: s.slots.blue.serviceName,
    GreenService: s.slots.green.serviceName,
    BlueTargetGroup: s.slots.blue.targetGroupArn,
    GreenTargetGroup: s.slots.green.targetGroupArn,
    OwnsWeights: 'true',
    Family: DEMO.service,
    Initial: { BlueDesiredCount: String(DEMO.desiredCount), GreenDesiredCount: '0', BlueWeight: '100', GreenWeight: '0' },
  };
};
/** A later deploy that touches the slot services or the listener (their other properties changed). */
const liveStateUpdate = (rt: LocalRuntime) => {
  const props = liveStateProps(rt);
  return rt.customResource<LiveStateProperties>(
    'live-state',
    'Update',
    'CheckoutLiveState',
    { ...props, Shape: { healthCheckGracePeriod: '60' } },
    { ...props, Shape: { healthCheckGracePeriod: '30' } },
  );
};

/** The new slot's weight after each Shift of an execution, in order. */
const shiftsOf = (execution: string, slot: 'blue' | 'green') =>
  events
    .filter((e: LocalEvent) => e.execution === execution && e.type === 'StateExited' && e.state === StateName.ShiftTraffic)
    .map((e) => (e.output as { shift: { weights: Record<'blue' | 'green', number> } }).shift.weights[slot]);

describe('a task-definition change made in the user’s IaC, released through the canary', () => {
  it('rolls the new configuration out with the live image digest, canary step by step, and retains the previous revision', async () => {
    const { rt, writes } = await recordingRuntime();
    const service = rt.env.service;
    // A first rollout from a push: green is live on checkout:2, its image pinned to the pushed digest.
    const { digest } = await pushAndDeliver(rt, 'v2');
    const [push] = await rt.sfn.waitAll();
    expect(push!.status).toBe('SUCCEEDED');
    const afterPush = await readEndState(rt, service);
    expect(afterPush).toMatchObject({ liveSlot: 'green', liveTaskDefinition: 'checkout:2', idleSlot: 'blue' });
    const liveImage = afterPush.image!;
    expect(liveImage).toBe(`${DEMO.account}.dkr.ecr.${DEMO.region}.amazonaws.com/${DEMO.repository}@${digest}`);
    const pushed = (await rt.ports.ecs.describeService(service.cluster, service.slots.green.serviceName))!.taskDefinition;
    writes.length = 0;

    // The user's deploy: a new revision from the template, then the release resource's Update.
    const templateRevision = await deployChangedTaskDefinition(rt);
    expect(shortRevision(templateRevision)).toBe('checkout:3');
    const { response } = await releaseUpdate(rt, templateRevision, rt.env.initialTaskDefinitionArn);
    const release = (await rt.sfn.waitAll()).find((e) => e.arn === response.Data?.Release);
    await rt.settle();

    // CloudFormation got SUCCESS at once, naming the execution; the deploy does not wait for the rollout.
    expect(response).toMatchObject({ Status: 'SUCCESS', LogicalResourceId: 'CheckoutRelease' });
    expect(release!.name).toBe('checkout-cfg-checkout-3');
    expect(release!.status).toBe('SUCCEEDED');
    expect(release!.endState).toBe('Rollout succeeded');
    // Through the canary: the plan's weights, in order, on the new slot (blue), never straight to 100%.
    const planWeights = service.plan.steps.flatMap((s) => (s.kind === 'setWeight' ? [s.weight] : []));
    expect(planWeights.length).toBeGreaterThan(1);
    expect(shiftsOf(release!.name, 'blue')).toEqual(planWeights);
    expect(release!.states.filter((s) => s === StateName.Bake)).toHaveLength(planWeights.length - 1);

    const end = await readEndState(rt, service);
    expect(end).toMatchObject({ outcome: 'SUCCEEDED', weights: { blue: 100, green: 0 }, liveSlot: 'blue', idleSlot: 'green', lockHeld: false });
    // The live slot runs a new revision: the user's configuration with the live image digest, not the template's tag.
    const released = (await rt.ports.ecs.describeService(service.cluster, service.slots.blue.serviceName))!;
    expect(shortRevision(released.taskDefinition)).toBe('checkout:4');
    expect(released.desiredCount).toBe(DEMO.desiredCount);
    const live = await taskDefinition(rt, released.taskDefinition);
    const app = live.containerDefinitions!.find((c) => c.name === DEMO.container)!;
    expect(live.cpu).toBe('512');
    expect(live.memory).toBe('1024');
    expect(app.environment).toEqual(expect.arrayContaining([{ name: 'FEATURE_NEW_CHECKOUT', value: 'on' }]));
    expect(app.image).toBe(liveImage);
    expect(app.image).not.toBe(TEMPLATE_IMAGE);
    // The old slot keeps the previous revision, registered and ACTIVE, as the retained one.
    expect(end.idleTaskDefinition).toBe('checkout:2');
    expect(end.retainedTaskDefinition).toBe('checkout:2');
    expect((await taskDefinition(rt, pushed)).status).toBe('ACTIVE');

    // Neither slot ever ran the template's revision; the live slot (green) was never pointed at the new
    // configuration; the idle slot (blue) got it before the first weight moved, which then went step by step.
    const serviceWrites = writes.filter((w) => w.kind === 'service');
    expect(serviceWrites.some((w) => w.taskDefinition === templateRevision)).toBe(false);
    expect(serviceWrites.filter((w) => w.service === service.slots.green.serviceName).every((w) => w.taskDefinition === undefined || w.taskDefinition === pushed)).toBe(true);
    const deployed = writes.findIndex((w) => w.kind === 'service' && w.service === service.slots.blue.serviceName && w.taskDefinition === released.taskDefinition);
    const firstWeights = writes.findIndex((w) => w.kind === 'weights');
    expect(deployed).toBeGreaterThanOrEqual(0);
    expect(deployed).toBeLessThan(firstWeights);
    expect(writes[firstWeights]).toEqual({ kind: 'weights', weights: { [service.slots.blue.targetGroupArn]: planWeights[0], [service.slots.green.targetGroupArn]: 100 - planWeights[0]! } });

    // A later deploy that touches the slots or the listener writes back what is live, not the template's values.
    const later = await liveStateUpdate(rt);
    expect(later.response).toMatchObject({ Status: 'SUCCESS', LogicalResourceId: 'CheckoutLiveState' });
    expect(later.response.Data).toEqual({
      BlueTaskDefinition: released.taskDefinition,
      GreenTaskDefinition: pushed,
      BlueDesiredCount: String(DEMO.desiredCount),
      GreenDesiredCount: String(end.idleDesiredCount),
      BlueWeight: '100',
      GreenWeight: '0',
    });
  });

  it('fails a deploy that would touch the slots while the release holds the service, saying why, and changes nothing', async () => {
    // 1.5 s bakes: the deploy must arrive while the release is baking (it takes milliseconds), not after it.
    const { rt, writes } = await recordingRuntime({ timeScale: 0.005 });
    const service = rt.env.service;
    // The demo's live revision runs an image pinned to its digest already.
    const revision = await deployChangedTaskDefinition(rt);
    const { response } = await releaseUpdate(rt, revision, rt.env.initialTaskDefinitionArn);
    expect(response.Status).toBe('SUCCESS');
    const name = response.Data!.Release!.split(':').pop()!;
    await until(() => shiftsOf(name, 'green').length > 0 && rt.sfn.waitingTasks().some((t) => t.execution === name && t.state === StateName.Bake));
    const writesBefore = writes.length;

    const during = await liveStateUpdate(rt);

    expect(during.response.Status).toBe('FAILED');
    expect(during.response.Reason).toContain(`rollout ${name} holds service ${service.name}`);
    expect(during.response.Reason).toContain('Deploy again once it has ended');
    expect(during.response.Data).toBeUndefined();
    expect(writes.length).toBe(writesBefore);
    const [execution] = await rt.sfn.waitAll();
    expect(execution!.status).toBe('SUCCEEDED');
    expect((await readEndState(rt, service)).liveSlot).toBe('green');
  });
});
