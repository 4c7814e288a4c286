/**
 * `cutover plan`: the preview over the real AWS adapters (aws-sdk-client-mock): the task-definition diff
 * made by register's cloneWithImage, the steps, the alarms, prepare's pre-flight problems, and no write.
 */
import { DescribeImagesCommand, ImageNotFoundException } from '@aws-sdk/client-ecr';
import { RegisterTaskDefinitionCommand, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { ModifyListenerCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { buildPlan, jsonDiff, parseImage } from '../../functions/read/plan';
import { renderPlan } from '../../functions/read/plan-view';
import { DIGEST, IMAGE_URI, LIVE_IMAGE_URI, OTHER_DIGEST, serviceConfig } from '../fixtures/state';
import { aws, givenHealthyEnvironment, givenListener, realDeps, resetAws, sdkError, weightedForward, type Deps } from './harness';

let deps: Deps;

beforeEach(() => {
  resetAws();
  deps = realDeps();
  aws.dynamo.on(GetCommand).resolves({});
  aws.ecr.on(DescribeImagesCommand).callsFake((input: { imageIds: Array<{ imageDigest: string }> }) => ({ imageDetails: input.imageIds }));
});

/** Nothing but reads reached AWS. */
function expectNoWrite(): void {
  expect(aws.dynamo).toHaveReceivedCommandTimes(UpdateCommand, 0);
  expect(aws.dynamo).toHaveReceivedCommandTimes(PutCommand, 0);
  expect(aws.dynamo).toHaveReceivedCommandTimes(DeleteCommand, 0);
  expect(aws.elb).toHaveReceivedCommandTimes(ModifyListenerCommand, 0);
  expect(aws.ecs).toHaveReceivedCommandTimes(UpdateServiceCommand, 0);
  expect(aws.ecs).toHaveReceivedCommandTimes(RegisterTaskDefinitionCommand, 0);
}

describe('buildPlan', () => {
  it('previews the revision, the steps and the alarms of a rollout that would start, without writing anything', async () => {
    givenHealthyEnvironment();

    const plan = await buildPlan(serviceConfig(), `checkout@${DIGEST}`, deps);

    expect(plan.image).toMatchObject({ repository: 'checkout', digest: DIGEST, uri: IMAGE_URI, given: true });
    expect(plan.live).toEqual({ slot: 'blue', taskDefinition: expect.stringMatching(/checkout:7$/), desiredCount: 3, weights: { blue: 100, green: 0 } });
    expect(plan.idleSlot).toBe('green');
    expect(plan.revision).toMatchObject({ clonedFrom: 'checkout:7', family: 'checkout' });
    expect(plan.revision!.changes).toEqual([{ path: 'containerDefinitions[app].image', before: LIVE_IMAGE_URI, after: IMAGE_URI }]);
    expect(plan.revision!.tags).toMatchObject({ team: 'payments', 'cutover:image-digest': DIGEST, 'cutover:cloned-from': 'checkout:7' });
    expect(plan.steps.map((s) => [s.text, s.weights])).toEqual([
      ['Shift 10% to green', { blue: 90, green: 10 }],
      ['Bake 5m', undefined],
      ['Shift 25% to green', { blue: 75, green: 25 }],
      ['Bake 5m', undefined],
      ['Shift 50% to green', { blue: 50, green: 50 }],
      ['Bake 5m', undefined],
      ['Shift 100% to green', { blue: 0, green: 100 }],
    ]);
    expect(plan.bakeSeconds).toBe(900);
    expect(plan.alarms).toEqual([
      { name: 'checkout-5xx', state: 'OK' },
      { name: 'checkout-p99-latency', state: 'OK' },
    ]);
    expect(plan.problems).toEqual([]);
    expectNoWrite();
  });

  it('lists every pre-flight problem a rollout would be refused for', async () => {
    givenHealthyEnvironment();
    givenListener([weightedForward(60, 40)]);
    aws.ecr.on(DescribeImagesCommand).rejects(sdkError(ImageNotFoundException, 'not found'));

    const plan = await buildPlan(serviceConfig(), `checkout@${OTHER_DIGEST}`, deps);

    expect(plan.problems).toEqual([`image ${OTHER_DIGEST} is not in ECR repository checkout`, 'traffic is split (blue 60 / green 40); a rollout starts only from 100/0']);
    expect(plan.live).toBeUndefined();
    expectNoWrite();
  });

  it('refuses an image of another repository', async () => {
    givenHealthyEnvironment();

    const plan = await buildPlan(serviceConfig(), `payments@${DIGEST}`, deps);

    expect(plan.problems).toContain('image is from repository payments, but checkout rolls out pushes to checkout');
  });

  it('without --image, previews the live image: no change to the revision, no image problem', async () => {
    givenHealthyEnvironment();

    const plan = await buildPlan(serviceConfig(), undefined, deps);

    expect(plan.image).toMatchObject({ uri: LIVE_IMAGE_URI, given: false });
    expect(plan.revision!.changes).toEqual([]);
    expect(plan.problems).toEqual([]);
  });

  it('renders the diff, the steps and the verdict', async () => {
    givenHealthyEnvironment();

    const lines = renderPlan(await buildPlan(serviceConfig(), `checkout@${DIGEST}`, deps));

    expect(lines).toContain('           containerDefinitions[app].image');
    expect(lines).toContain(`             - ${LIVE_IMAGE_URI}`);
    expect(lines).toContain(`             + ${IMAGE_URI}`);
    expect(lines).toContain('            3. Shift 25% to green  → blue 75 / green 25');
    expect(lines.at(-1)).toBe('pre-flight passes: a rollout would start');
  });
});

describe('parseImage', () => {
  it.each([
    [`checkout@${DIGEST}`, undefined, { repository: 'checkout', digest: DIGEST, uri: `checkout@${DIGEST}` }],
    [`checkout@${DIGEST}`, '123456789012.dkr.ecr.us-east-1.amazonaws.com', { repository: 'checkout', uri: IMAGE_URI }],
    [IMAGE_URI, undefined, { repository: 'checkout', uri: IMAGE_URI }],
    [`team/checkout@${DIGEST}`, 'r.example.com', { repository: 'team/checkout', uri: `r.example.com/team/checkout@${DIGEST}` }],
    [`localhost:5000/checkout@${DIGEST}`, undefined, { repository: 'checkout', uri: `localhost:5000/checkout@${DIGEST}` }],
  ])('parses %s', (text, registry, expected) => {
    expect(parseImage(text, registry)).toMatchObject(expected);
  });

  it.each(['checkout:v2', 'checkout@sha256:abc', `@${DIGEST}`, 'checkout'])('refuses %s: a digest, never a tag', (text) => {
    expect(() => parseImage(text)).toThrow('--image must be repository@sha256:<64 hex>');
  });
});

describe('jsonDiff', () => {
  it('matches named entries by name, other arrays by position, and names each changed field', () => {
    const before = {
      cpu: '256',
      containerDefinitions: [
        { name: 'app', image: 'a', environment: [{ name: 'PORT', value: '8080' }] },
        { name: 'sidecar', image: 's' },
      ],
      volumes: [1, 2],
    };
    const after = {
      cpu: '512',
      containerDefinitions: [
        { name: 'sidecar', image: 's' },
        {
          name: 'app',
          image: 'b',
          environment: [
            { name: 'PORT', value: '9090' },
            { name: 'NEW', value: 'x' },
          ],
        },
      ],
      volumes: [1],
    };

    expect(jsonDiff(before, after)).toEqual([
      { path: 'containerDefinitions[app].environment[PORT].value', before: '8080', after: '9090' },
      { path: 'containerDefinitions[app].environment[NEW]', after: { name: 'NEW', value: 'x' } },
      { path: 'containerDefinitions[app].image', before: 'a', after: 'b' },
      { path: 'cpu', before: '256', after: '512' },
      { path: 'volumes[1]', before: 2 },
    ]);
  });

  it('finds nothing between equal documents', () => {
    expect(jsonDiff({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toEqual([]);
  });
});
