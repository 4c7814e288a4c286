import { ClientException, DescribeTaskDefinitionCommand, RegisterTaskDefinitionCommand, type RegisterTaskDefinitionCommandInput } from '@aws-sdk/client-ecs';
import { beforeEach, describe, expect, it } from 'vitest';
import { ErrorName } from '../../functions/core/errors';
import type { RolloutState } from '../../functions/core/rollout';
import { createHandler } from '../../functions/register/handler';
import { LOG_ROUTER_IMAGE, describedTaskDefinition } from '../fixtures/ecs';
import { DIGEST, IMAGE_URI, NEW_TD, OTHER_ROLLOUT_ID, RETAINED_TD, ROLLOUT_ID, liveState, rolloutInput, serviceConfig } from '../fixtures/state';
import { LAMBDA_CONTEXT, aws, fenceOf, givenLockTable, lockFences, lockItem, namedError, realDeps, resetAws, sdkError, totalAwsCalls, writes, type Deps, type LockTable } from './harness';

let deps: Deps;
let lock: LockTable;
const invoke = (state: RolloutState) => createHandler(() => deps)(state, LAMBDA_CONTEXT);
const prepared = (): RolloutState => ({ ...rolloutInput(), live: liveState() });

const READ_ONLY = ['taskDefinitionArn', 'revision', 'status', 'requiresAttributes', 'compatibilities', 'registeredAt', 'registeredBy', 'deregisteredAt'];

/** checkout:7 is both the retained revision and the newest of its family, tagged by an earlier rollout. */
function givenRetainedRevision(latestTags = [{ key: 'team', value: 'payments' }]): void {
  const tags = [
    { key: 'team', value: 'payments' },
    { key: 'cutover:rollout-id', value: 'checkout-7d3113cb762f-20261120T080000Z' },
  ];
  aws.ecs.on(DescribeTaskDefinitionCommand, { taskDefinition: RETAINED_TD }).resolves({ taskDefinition: describedTaskDefinition(7), tags });
  aws.ecs.on(DescribeTaskDefinitionCommand, { taskDefinition: 'checkout' }).resolves({ taskDefinition: describedTaskDefinition(7), tags: latestTags });
  aws.ecs.on(RegisterTaskDefinitionCommand).resolves({ taskDefinition: { ...describedTaskDefinition(8, IMAGE_URI) }, tags: [] });
}

const registered = (): RegisterTaskDefinitionCommandInput => aws.ecs.commandCalls(RegisterTaskDefinitionCommand)[0]!.args[0].input;

beforeEach(() => {
  resetAws();
  deps = realDeps();
  // The rollout holds checkout's lock at the generation prepare took (liveState: 1).
  lock = givenLockTable(lockItem());
});

describe('register handler', () => {
  it('registers a clone of the retained revision with the app image pinned to the digest', async () => {
    givenRetainedRevision();

    const revision = await invoke(prepared());

    expect(revision).toEqual({
      taskDefinitionArn: NEW_TD,
      retainedTaskDefinitionArn: RETAINED_TD,
      decision: `registered checkout:8 with app = ${IMAGE_URI}; checkout:7 is retained`,
    });
    expect(aws.ecs).toHaveReceivedCommandTimes(RegisterTaskDefinitionCommand, 1);
    const input = registered();
    expect(input.family).toBe('checkout');
    expect(input.containerDefinitions?.map((c) => [c.name, c.image])).toEqual([
      ['app', `123456789012.dkr.ecr.us-east-1.amazonaws.com/checkout@${DIGEST}`],
      ['log-router', LOG_ROUTER_IMAGE],
    ]);
    expect(input.containerDefinitions?.[0]).toEqual({ ...describedTaskDefinition(7).containerDefinitions![0], image: IMAGE_URI });
    expect(input).toMatchObject({ cpu: '512', memory: '1024', networkMode: 'awsvpc', requiresCompatibilities: ['FARGATE'], executionRoleArn: expect.stringContaining('checkout-execution') });
  });

  it('proves it still owns the service, not aborted, right before registering', async () => {
    givenRetainedRevision();

    await invoke(prepared());

    expect(lockFences()).toEqual([fenceOf(ROLLOUT_ID, 1, { unlessAborted: true })]);
    expect(writes()).toEqual(['fence', 'RegisterTaskDefinition', 'close lease']);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['another rollout holds the lock', lockItem({ rolloutId: OTHER_ROLLOUT_ID, generation: 2 }), ErrorName.LockLost],
    ['the lock moved to a newer generation', lockItem({ generation: 2 }), ErrorName.LockLost],
    ['the rollout was aborted', lockItem({ abort: { error: ErrorName.RolloutAborted, reason: 'superseded by the newer push x', at: '2026-11-24T10:19:58.000Z' } }), ErrorName.RolloutAborted],
  ])('registers nothing when %s, failing with %s', async (_case, holder, error) => {
    givenRetainedRevision();
    lock.item = holder;

    await expect(invoke(prepared())).rejects.toMatchObject({ name: error });
    expect(aws.ecs).toHaveReceivedCommandTimes(RegisterTaskDefinitionCommand, 0);
  });

  it.each(READ_ONLY)('sends no read-only field %s to RegisterTaskDefinition', async (field) => {
    givenRetainedRevision();

    await invoke(prepared());

    expect(registered()).not.toHaveProperty(field);
  });

  it('tags the revision with the rollout id, service, digest and origin, keeping the team tags only', async () => {
    givenRetainedRevision();

    await invoke(prepared());

    expect(registered().tags).toEqual([
      { key: 'team', value: 'payments' },
      { key: 'cutover:rollout-id', value: ROLLOUT_ID },
      { key: 'cutover:service', value: 'checkout' },
      { key: 'cutover:image-digest', value: DIGEST },
      { key: 'cutover:cloned-from', value: 'checkout:7' },
    ]);
  });

  it('reads both task definitions with their tags', async () => {
    givenRetainedRevision();

    await invoke(prepared());

    expect(aws.ecs.commandCalls(DescribeTaskDefinitionCommand).map((c) => c.args[0].input)).toEqual([
      { taskDefinition: RETAINED_TD, include: ['TAGS'] },
      { taskDefinition: 'checkout', include: ['TAGS'] },
    ]);
  });

  it('reuses the revision a retried register made, registering nothing new', async () => {
    givenRetainedRevision();
    aws.ecs
      .on(DescribeTaskDefinitionCommand, { taskDefinition: 'checkout' })
      .resolves({ taskDefinition: describedTaskDefinition(8, IMAGE_URI), tags: [{ key: 'cutover:rollout-id', value: ROLLOUT_ID }] });

    const revision = await invoke(prepared());

    expect(revision).toEqual({ taskDefinitionArn: NEW_TD, retainedTaskDefinitionArn: RETAINED_TD, decision: 'reused checkout:8, registered by this rollout' });
    expect(aws.ecs).toHaveReceivedCommandTimes(RegisterTaskDefinitionCommand, 0);
    expect(writes()).toEqual([]);
  });

  it('fails with ResourceNotFound when the retained revision is gone, registering nothing', async () => {
    aws.ecs.on(DescribeTaskDefinitionCommand).rejects(sdkError(ClientException, 'Unable to describe task definition.'));

    await expect(invoke(prepared())).rejects.toMatchObject({ name: ErrorName.ResourceNotFound, message: `the live task definition ${RETAINED_TD} no longer exists` });
    expect(aws.ecs).toHaveReceivedCommandTimes(RegisterTaskDefinitionCommand, 0);
  });

  it('fails with InvalidInput when the container is not in the retained revision', async () => {
    givenRetainedRevision();

    const attempt = invoke({ ...prepared(), service: serviceConfig({ containerName: 'web' }) });

    await expect(attempt).rejects.toMatchObject({ name: ErrorName.InvalidInput, message: 'container web is not in task definition checkout' });
    expect(aws.ecs).toHaveReceivedCommandTimes(RegisterTaskDefinitionCommand, 0);
  });

  it('fails with InvalidInput before any AWS call when prepare has not run', async () => {
    await expect(invoke(rolloutInput())).rejects.toMatchObject({ name: ErrorName.InvalidInput, problems: ['live: missing (prepare has not run)'] });
    expect(totalAwsCalls()).toBe(0);
  });

  it('surfaces a throttled RegisterTaskDefinition as AwsTransient', async () => {
    givenRetainedRevision();
    aws.ecs.on(RegisterTaskDefinitionCommand).rejects(namedError('ThrottlingException', 400, 'Rate exceeded'));

    await expect(invoke(prepared())).rejects.toMatchObject({ name: ErrorName.AwsTransient });
  });
});
