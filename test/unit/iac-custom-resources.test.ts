/**
 * The two custom resources of the user's deploys, as pure cores over fakes: live state writes back what is
 * live (the template's values on a first deploy) and refuses while an owner holds the service; release starts
 * a rollout of the user's new revision with the live image, through the same start path as a push.
 */
import { describe, expect, it } from 'vitest';
import { respond, type CustomResourceRequest } from '../../functions/core/custom-resource';
import { liveState, type LiveStateDeps, type LiveStateProperties } from '../../functions/live-state/live-state';
import { release, releaseName, type ReleaseDeps, type ReleaseProperties } from '../../functions/release/release';
import type { ServiceConfig } from '../../functions/core/config';

const log = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} } as never;
const BLUE_TG = 'arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/b/1';
const GREEN_TG = 'arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/g/2';
const TD = (n: number) => `arn:aws:ecs:eu-west-1:1:task-definition/checkout:${n}`;
const IMAGE = `1.dkr.ecr.eu-west-1.amazonaws.com/checkout@sha256:${'a'.repeat(64)}`;

const request = <P>(type: 'Create' | 'Update' | 'Delete', props: P, old?: P): CustomResourceRequest<P> => ({
  RequestType: type,
  ResponseURL: 'https://example.invalid',
  StackId: 'arn:aws:cloudformation:eu-west-1:1:stack/app/id',
  RequestId: 'r1',
  LogicalResourceId: 'LiveState',
  ResourceProperties: props as P & { readonly ServiceToken?: string },
  ...(old ? { OldResourceProperties: old } : {}),
});

const props: LiveStateProperties = {
  Service: 'checkout',
  Cluster: 'shop',
  BlueService: 'checkout-blue',
  GreenService: 'checkout-green',
  BlueTargetGroup: BLUE_TG,
  GreenTargetGroup: GREEN_TG,
  OwnsWeights: 'true',
  Family: 'checkout',
  Initial: { BlueDesiredCount: '2', GreenDesiredCount: '0', BlueWeight: '100', GreenWeight: '0' },
};

function liveDeps(over: { services?: boolean; lock?: string } = {}): LiveStateDeps {
  const svc = (name: string, td: string, desiredCount: number) => ({ serviceName: name, status: 'ACTIVE', taskDefinition: td, desiredCount, runningCount: desiredCount, deployments: [] });
  return {
    ecs: {
      describeService: async (_c, name) => (over.services === false ? undefined : name === 'checkout-blue' ? svc(name, TD(3), 0) : svc(name, TD(7), 2)),
      describeTaskDefinition: async () => ({ definition: { family: 'checkout', taskDefinitionArn: TD(1), containerDefinitions: [] } as never, tags: {} }),
    },
    traffic: { forwardTo: async () => ({ weights: { [BLUE_TG]: 0, [GREEN_TG]: 100 } }) },
    store: { getLock: async () => (over.lock ? ({ rolloutId: over.lock, generation: 4 } as never) : undefined) },
    log,
  };
}

describe('live state', () => {
  it("answers the template's values on a first deploy (the services do not exist yet)", async () => {
    expect(await liveState(request('Create', props), liveDeps({ services: false }))).toEqual({
      BlueTaskDefinition: TD(1),
      GreenTaskDefinition: TD(1),
      BlueDesiredCount: '2',
      GreenDesiredCount: '0',
      BlueWeight: '100',
      GreenWeight: '0',
    });
  });

  it('answers what is live after Cutover moved traffic and revisions (green live on :7, blue scaled to 0)', async () => {
    expect(await liveState(request('Update', props), liveDeps())).toEqual({
      BlueTaskDefinition: TD(3),
      GreenTaskDefinition: TD(7),
      BlueDesiredCount: '0',
      GreenDesiredCount: '2',
      BlueWeight: '0',
      GreenWeight: '100',
    });
  });

  it('fails the deploy, saying what to do, while a rollout holds the service', async () => {
    const response = await respond(request('Update', props), () => liveState(request('Update', props), liveDeps({ lock: 'checkout-abc' })));
    expect(response.Status).toBe('FAILED');
    expect(response.Reason).toContain('rollout checkout-abc holds service checkout');
    expect(response.Reason).toContain('Deploy again once it has ended');
  });
});

const service = {
  name: 'checkout',
  cluster: 'shop',
  slots: { blue: { serviceName: 'checkout-blue', targetGroupArn: BLUE_TG }, green: { serviceName: 'checkout-green', targetGroupArn: GREEN_TG } },
  listenerArn: 'arn:l',
  containerName: 'app',
  repository: 'checkout',
} as unknown as ServiceConfig;

function releaseDeps(image = IMAGE): ReleaseDeps & { started: Array<{ name: string; input: any }> } {
  const started: Array<{ name: string; input: any }> = [];
  return {
    started,
    services: [service],
    ecs: {
      describeService: async (_c, name) => ({ serviceName: name, status: 'ACTIVE', taskDefinition: name === 'checkout-green' ? TD(7) : TD(3), desiredCount: 2, runningCount: 2, deployments: [] }),
      describeTaskDefinition: async () => ({ definition: { family: 'checkout', containerDefinitions: [{ name: 'app', image }] } as never, tags: {} }),
    },
    traffic: { readForward: async () => ({ weights: { [BLUE_TG]: 0, [GREEN_TG]: 100 } }) },
    registry: { describeImage: async () => ({ pushedAt: '2030-01-01T00:00:00.000Z' }) as never },
    executions: {
      start: async (name, input) => {
        started.push({ name, input });
        return { executionArn: `arn:x:${name}`, alreadyStarted: false };
      },
    },
    clock: { now: () => new Date('2030-01-02T00:00:00Z') },
    log,
  };
}
const rel = (td: string, old?: string) =>
  request<ReleaseProperties>(old ? 'Update' : 'Create', { Service: 'checkout', TaskDefinition: td }, old ? { Service: 'checkout', TaskDefinition: old } : undefined);

describe('release', () => {
  it('starts a rollout of the new revision with the live image pinned to its digest', async () => {
    const deps = releaseDeps();
    await release(rel(TD(9), TD(8)), deps);
    expect(deps.started).toEqual([
      {
        name: releaseName('checkout', TD(9)),
        input: expect.objectContaining({
          release: { taskDefinitionArn: TD(9) },
          image: expect.objectContaining({ uri: IMAGE, digest: `sha256:${'a'.repeat(64)}` }),
          trigger: expect.objectContaining({ kind: 'config' }),
        }),
      },
    ]);
    expect(releaseName('checkout', TD(9))).toBe('checkout-cfg-checkout-9');
  });

  it.each([
    ['a first deploy (Create)', rel(TD(8))],
    ['an update that did not change the revision', rel(TD(8), TD(8))],
  ])('starts nothing on %s', async (_case, req) => {
    const deps = releaseDeps();
    await release(req, deps);
    expect(deps.started).toEqual([]);
  });

  it("starts nothing, and says why, while the live image is the template's own tag", async () => {
    const deps = releaseDeps('public.ecr.aws/nginx/nginx:stable-alpine');
    expect((await release(rel(TD(9), TD(8)), deps))?.Reason).toContain('not pinned to a digest');
    expect(deps.started).toEqual([]);
  });
});
