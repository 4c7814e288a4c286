import { DescribeImagesCommand } from '@aws-sdk/client-ecr';
import { ExecutionAlreadyExists, SendTaskSuccessCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { beforeEach, describe, expect, it } from 'vitest';
import { servicesFromEnv, type ServiceConfig } from '../../functions/core/config';
import { ErrorName } from '../../functions/core/errors';
import { executionName, type RolloutInput } from '../../functions/core/rollout';
import { createHandler } from '../../functions/start/handler';
import { loadEvent } from '../fixtures/aws-events';
import { ownResources } from '../fixtures/own-resources';
import { DIGEST, OTHER_DIGEST, ROLLOUT_ID, rolloutInput, serviceConfig, serviceInput } from '../fixtures/state';
import { LAMBDA_CONTEXT, STATE_MACHINE_ARN, aws, conditionFailed, namedError, realDeps, resetAws, sdkError, totalAwsCalls } from './harness';
import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';

const EXECUTION_PREFIX = 'arn:aws:states:us-east-1:123456789012:execution:cutover-rollout';
/** ECR's push time of the sample digest (DescribeImages' imagePushedAt): it orders pushes, to the millisecond. */
const PUSHED = '2026-11-24T10:15:00.000Z';
/** The sample image as start pins it: the digest, with ECR's push time. */
const pinned = () => ({ ...rolloutInput().image, pushedAt: PUSHED });

let services: ServiceConfig[];
const invoke = (event: unknown) => {
  const { executions, registry, log, requestLedger, clock, store } = realDeps();
  return createHandler(() => ({ services, executions, registry, log, requestLedger, clock, store }))(event, LAMBDA_CONTEXT);
};

const started = () =>
  aws.sfn.commandCalls(StartExecutionCommand).map((c) => {
    const { input, ...rest } = c.args[0].input;
    return { ...rest, input: JSON.parse(input ?? 'null') as RolloutInput };
  });

beforeEach(() => {
  resetAws();
  services = servicesFromEnv(JSON.stringify([serviceInput()]));
  aws.sfn.on(StartExecutionCommand).callsFake((input: { name: string }) => ({ executionArn: `${EXECUTION_PREFIX}:${input.name}`, startDate: new Date() }));
});

describe('start handler', () => {
  it('starts one execution named after service and digest, with the rollout input', async () => {
    const result = await invoke(loadEvent('ecr-push'));

    expect(result).toEqual({ started: [{ service: 'checkout', executionArn: `${EXECUTION_PREFIX}:${ROLLOUT_ID}` }], duplicates: [] });
    expect(started()).toEqual([{ stateMachineArn: STATE_MACHINE_ARN, name: `checkout-${DIGEST.replace('sha256:', '')}`, input: rolloutInput({ image: pinned() }) }]);
  });

  it("pins the image to the digest, never the tag, with ECR's push time of that digest", async () => {
    await invoke(loadEvent('ecr-push'));

    expect(started()[0]?.input.image).toEqual({ repository: 'checkout', digest: DIGEST, tag: 'v1.4.2', pushedAt: PUSHED, uri: `123456789012.dkr.ecr.us-east-1.amazonaws.com/checkout@${DIGEST}` });
    expect(aws.ecr.commandCalls(DescribeImagesCommand).map((c) => c.args[0].input)).toEqual([{ repositoryName: 'checkout', imageIds: [{ imageDigest: DIGEST }] }]);
  });

  it('starts a push of a digest ECR does not know without a push time: prepare refuses it with a record', async () => {
    aws.ecr.on(DescribeImagesCommand).rejects(namedError('ImageNotFoundException', 400, 'not found'));

    const result = await invoke(loadEvent('ecr-push'));

    expect(result.started.map((s) => s.service)).toEqual(['checkout']);
    expect(started()[0]?.input.image).not.toHaveProperty('pushedAt');
  });

  it('starts nothing new for the same digest pushed again under another tag: the name is the same', async () => {
    await invoke(loadEvent('ecr-push'));
    aws.sfn.on(StartExecutionCommand).rejects(sdkError(ExecutionAlreadyExists, `Execution Already Exists: '${EXECUTION_PREFIX}:${ROLLOUT_ID}'`));
    const retagged = loadEvent('ecr-push');
    retagged.id = 'a0c2f7f1-5a59-4f55-9d8e-1f7a6c3b2e10';
    retagged.time = '2026-11-24T11:40:00Z';
    retagged.detail['image-tag'] = 'v1.4.2-rc';

    const result = await invoke(retagged);

    expect(result).toEqual({ started: [], duplicates: [{ service: 'checkout', executionArn: `${EXECUTION_PREFIX}:${ROLLOUT_ID}` }] });
    expect(started().map((s) => s.name)).toEqual([ROLLOUT_ID, ROLLOUT_ID]);
  });

  it('starts one execution per service configured for the repository', async () => {
    services = servicesFromEnv(
      JSON.stringify([serviceInput(), serviceInput({ name: 'checkout-eu', ...ownResources('checkout-eu') }), serviceInput({ name: 'payments', repository: 'payments', ...ownResources('payments') })]),
    );

    const result = await invoke(loadEvent('ecr-push'));

    expect(started().map((s) => [s.name, s.input.service.name])).toEqual([
      [executionName('checkout', DIGEST), 'checkout'],
      [executionName('checkout-eu', DIGEST), 'checkout-eu'],
    ]);
    expect(result.started.map((s) => s.service)).toEqual(['checkout', 'checkout-eu']);
  });

  it('reports a duplicate delivery of the same push as a duplicate, under the same name', async () => {
    await invoke(loadEvent('ecr-push'));
    aws.sfn.on(StartExecutionCommand).rejects(sdkError(ExecutionAlreadyExists, `Execution Already Exists: '${EXECUTION_PREFIX}:${ROLLOUT_ID}'`));

    const result = await invoke(loadEvent('ecr-push'));

    expect(result).toEqual({ started: [], duplicates: [{ service: 'checkout', executionArn: `${EXECUTION_PREFIX}:${ROLLOUT_ID}` }] });
    const [first, second] = started();
    expect(second).toEqual(first);
  });

  it('counts a duplicate delivery once when StartExecution succeeds again (same name and input, as Step Functions answers while it runs)', async () => {
    // The ledger as DynamoDB keeps it: the first conditional put of a key wins, later ones fail.
    const claimed = new Set<string>();
    aws.dynamo.on(PutCommand).callsFake((input: { Item: { pk: string } }) => {
      if (claimed.has(input.Item.pk)) throw conditionFailed();
      claimed.add(input.Item.pk);
      return {};
    });

    const first = await invoke(loadEvent('ecr-push'));
    const again = await invoke(loadEvent('ecr-push'));

    expect(aws.sfn.commandCalls(StartExecutionCommand)).toHaveLength(2);
    expect(first).toEqual({ started: [{ service: 'checkout', executionArn: `${EXECUTION_PREFIX}:${ROLLOUT_ID}` }], duplicates: [] });
    expect(again).toEqual({ started: [], duplicates: [{ service: 'checkout', executionArn: `${EXECUTION_PREFIX}:${ROLLOUT_ID}` }] });
    expect([...claimed]).toEqual([`request#push:${ROLLOUT_ID}`]);
  });

  it('counts a start whose claim cannot be written as started: the claim keeps the count, the rollout runs anyway', async () => {
    aws.dynamo.on(PutCommand).rejects(namedError('ThrottlingException', 400));

    const result = await invoke(loadEvent('ecr-push'));

    expect(result).toEqual({ started: [{ service: 'checkout', executionArn: `${EXECUTION_PREFIX}:${ROLLOUT_ID}` }], duplicates: [] });
    expect(aws.sfn.commandCalls(StartExecutionCommand)).toHaveLength(1);
  });

  it('claims a start only once it succeeded, so a start retried after a failure still counts', async () => {
    const claims = () => aws.dynamo.commandCalls(PutCommand).length;
    aws.sfn
      .on(StartExecutionCommand)
      .rejectsOnce(namedError('ThrottlingException', 400))
      .callsFake((input: { name: string }) => ({ executionArn: `${EXECUTION_PREFIX}:${input.name}`, startDate: new Date() }));

    await expect(invoke(loadEvent('ecr-push'))).rejects.toMatchObject({ name: ErrorName.AwsTransient });
    const before = claims();
    const retried = await invoke(loadEvent('ecr-push'));

    expect(before).toBe(0);
    expect(retried.started).toHaveLength(1);
  });

  it('starts a new execution for a new digest', async () => {
    const push = loadEvent('ecr-push');
    push.detail['image-digest'] = OTHER_DIGEST;

    await invoke(push);

    expect(started()[0]?.name).toBe(executionName('checkout', OTHER_DIGEST));
    expect(started()[0]?.name).not.toBe(ROLLOUT_ID);
  });

  it('ignores a push to a repository no service is configured for, starting nothing', async () => {
    const push = loadEvent('ecr-push');
    push.detail['repository-name'] = 'inventory';

    const result = await invoke(push);

    expect(result).toEqual({ started: [], duplicates: [], ignored: 'no service is configured for repository inventory' });
    expect(totalAwsCalls()).toBe(0);
  });

  it.each([
    ['a DELETE action', (d: Record<string, unknown>) => (d['action-type'] = 'DELETE')],
    ['a failed push', (d: Record<string, unknown>) => (d.result = 'FAILURE')],
  ])('ignores %s, starting nothing', async (_name, change) => {
    const push = loadEvent('ecr-push');
    change(push.detail);

    const result = await invoke(push);

    expect(result.ignored).toBeDefined();
    expect(totalAwsCalls()).toBe(0);
  });

  it('refuses a tag pushed without a digest with InvalidInput, starting nothing', async () => {
    const push = loadEvent('ecr-push');
    delete push.detail['image-digest'];

    await expect(invoke(push)).rejects.toMatchObject({
      name: ErrorName.InvalidInput,
      problems: ['detail.image-digest: missing; Cutover deploys image digests, never mutable tags (the push of tag v1.4.2 carries no digest)'],
    });
    expect(totalAwsCalls()).toBe(0);
  });

  it('surfaces throttling of StartExecution as AwsTransient', async () => {
    aws.sfn.on(StartExecutionCommand).rejects(namedError('ThrottlingException', 400, 'Rate exceeded'));

    await expect(invoke(loadEvent('ecr-push'))).rejects.toMatchObject({ name: ErrorName.AwsTransient });
  });

  it('passes the configured plan and timings into the execution input', async () => {
    services = [serviceConfig({ timings: { steadyPollSeconds: 5 } })];

    await invoke(loadEvent('ecr-push'));

    expect(started()[0]?.input.service.timings).toEqual({ rollbackWindowSeconds: 900, steadyPollSeconds: 5, steadyMaxChecks: 40 });
  });
});

describe('start handler: a completed image scan', () => {
  const scanKey = { pk: 'service#checkout', sk: `scan#${DIGEST}` };
  const wait = { ...scanKey, service: 'checkout', rolloutId: ROLLOUT_ID, digest: DIGEST, taskToken: 'scan-token', since: '2026-11-24T10:15:01.000Z' };

  it.each(['ecr-scan', 'inspector-scan'] as const)('ends the wait of the push of that image (%s) and forgets it, starting nothing', async (fixture) => {
    services = [serviceConfig({ imageScan: { failOn: 'HIGH' } })];
    aws.dynamo.on(GetCommand, { Key: scanKey }).resolves({ Item: wait });
    aws.sfn.on(SendTaskSuccessCommand).resolves({});

    const result = await invoke(loadEvent(fixture));

    expect(result).toEqual({ started: [], duplicates: [], scanned: [{ service: 'checkout', rolloutId: ROLLOUT_ID }] });
    expect(aws.sfn.commandCalls(SendTaskSuccessCommand).map((c) => c.args[0].input.taskToken)).toEqual(['scan-token']);
    expect(aws.dynamo.commandCalls(DeleteCommand).map((c) => c.args[0].input.Key)).toEqual([scanKey]);
    expect(aws.sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('does nothing for a scan nobody waits for, or of a service without a gate', async () => {
    services = [serviceConfig()];

    const result = await invoke(loadEvent('ecr-scan'));

    expect(result).toEqual({ started: [], duplicates: [], scanned: [] });
    expect(totalAwsCalls()).toBe(0);
  });

  it('refuses a scan event without a digest, changing nothing', async () => {
    services = [serviceConfig({ imageScan: { failOn: 'HIGH' } })];
    const event = loadEvent('ecr-scan');
    delete event.detail['image-digest'];

    await expect(invoke(event)).rejects.toMatchObject({ name: ErrorName.InvalidInput });
    expect(totalAwsCalls()).toBe(0);
  });
});
