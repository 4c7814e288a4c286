import { DescribeImageScanFindingsCommand } from '@aws-sdk/client-ecr';
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { RolloutState } from '../../functions/core/rollout';
import { beforeEach, describe, expect, it } from 'vitest';
import { createHandler } from '../../functions/bake/handler';
import type { BakeInput } from '../../functions/bake/bake';
import { ErrorName } from '../../functions/core/errors';
import { DIGEST, OTHER_ROLLOUT_ID, ROLLOUT_ID, rolloutInput, serviceConfig, stepState } from '../fixtures/state';
import { LAMBDA_CONTEXT, NOW, TABLE, aws, conditionFailed, givenLock, lockItem, lockUpdates, namedError, realDeps, resetAws, totalAwsCalls, type Deps } from './harness';

const TOKEN = 'AQCEAAAAKgAAAAMAAAAAAAAAAd2Wl7YvM0Y3bake-token';
const BAKE_STEP = 1; // the default plan's first bake: 5 minutes

let deps: Deps;
const invoke = (input: BakeInput) => createHandler(() => deps)(input, LAMBDA_CONTEXT);

beforeEach(() => {
  resetAws();
  deps = realDeps();
});

describe('bake handler', () => {
  it("records the task token on the rollout's lock unless it was aborted", async () => {
    aws.dynamo.on(UpdateCommand).resolves({ Attributes: lockItem({ taskToken: TOKEN }) });

    const result = await invoke({ taskToken: TOKEN, state: stepState(BAKE_STEP) });

    expect(result).toEqual({ decision: 'Bake 5m: waiting; an alarm or an abort ends it at once' });
    expect(lockUpdates()).toEqual([
      {
        TableName: TABLE,
        Key: { pk: 'service#checkout', sk: 'lock' },
        UpdateExpression: 'SET #token = :t, #wait = :w',
        ConditionExpression: '#rid = :id AND attribute_not_exists(#abort)',
        ExpressionAttributeNames: { '#token': 'taskToken', '#rid': 'rolloutId', '#abort': 'abort', '#wait': 'wait' },
        ExpressionAttributeValues: { ':t': TOKEN, ':id': ROLLOUT_ID, ':w': { kind: 'bake', since: NOW, until: new Date(Date.parse(NOW) + 300_000).toISOString() } },
        ReturnValues: 'ALL_NEW',
      },
    ]);
  });

  it.each([
    [ErrorName.AlarmFired, 'alarm checkout-5xx in ALARM: Threshold Crossed'],
    [ErrorName.RolloutAborted, 'aborted by alice from Slack'],
  ])('fails with %s instead of waiting when the rollout was aborted before the token was recorded', async (error, reason) => {
    aws.dynamo.on(UpdateCommand).rejects(conditionFailed());
    givenLock(lockItem({ abort: { error, reason, at: NOW } }));

    const attempt = invoke({ taskToken: TOKEN, state: stepState(BAKE_STEP) });

    await expect(attempt).rejects.toMatchObject({ name: error, message: error === ErrorName.AlarmFired ? reason : `rollout aborted: ${reason}` });
    expect(aws.dynamo).toHaveReceivedCommandTimes(GetCommand, 1);
  });

  it.each([
    ['belongs to another rollout', lockItem({ rolloutId: OTHER_ROLLOUT_ID })],
    ['belongs to another rollout that was aborted', lockItem({ rolloutId: OTHER_ROLLOUT_ID, abort: { error: ErrorName.AlarmFired, reason: 'x', at: NOW } })],
    ['is gone', undefined],
  ])('fails with LockLost when the lock %s', async (_name, item) => {
    aws.dynamo.on(UpdateCommand).rejects(conditionFailed());
    givenLock(item);

    await expect(invoke({ taskToken: TOKEN, state: stepState(BAKE_STEP) })).rejects.toMatchObject({ name: ErrorName.LockLost });
  });

  it.each<[string, unknown]>([
    ['no task token', { state: stepState(BAKE_STEP) }],
    ['an empty task token', { taskToken: '', state: stepState(BAKE_STEP) }],
    ['no state', { taskToken: TOKEN }],
    ['a setWeight step', { taskToken: TOKEN, state: stepState(0) }],
  ])('fails with InvalidInput before any AWS call for %s', async (_name, input) => {
    await expect(invoke(input as BakeInput)).rejects.toMatchObject({ name: ErrorName.InvalidInput });
    expect(totalAwsCalls()).toBe(0);
  });

  it('surfaces throttling of the token write as AwsTransient', async () => {
    aws.dynamo.on(UpdateCommand).rejects(namedError('ProvisionedThroughputExceededException', 400));

    await expect(invoke({ taskToken: TOKEN, state: stepState(BAKE_STEP) })).rejects.toMatchObject({ name: ErrorName.AwsTransient });
  });

  it('records an operator pause as a hold, only while the pause still stands', async () => {
    aws.dynamo.on(UpdateCommand).resolves({ Attributes: lockItem({ taskToken: TOKEN, pause: { by: '<@U1>', at: NOW } }) });

    const result = await invoke({ taskToken: TOKEN, state: stepState(BAKE_STEP), hold: 'paused' });

    expect(result.decision).toBe('paused by an operator: holding the current weight until resume');
    const [update] = lockUpdates();
    expect(update?.ConditionExpression).toBe('#rid = :id AND attribute_not_exists(#abort) AND attribute_exists(#pause)');
    expect((update!.ExpressionAttributeValues as Record<string, { kind?: string }>)[':w']?.kind).toBe('hold');
  });

  it('fails with PauseLifted when resume came before the hold could record its token', async () => {
    aws.dynamo.on(UpdateCommand).rejects(conditionFailed());
    givenLock(lockItem({}));

    await expect(invoke({ taskToken: TOKEN, state: stepState(BAKE_STEP), hold: 'paused' })).rejects.toMatchObject({ name: ErrorName.PauseLifted });
  });

  it('records a manual gate with its timeout', async () => {
    aws.dynamo.on(UpdateCommand).resolves({ Attributes: lockItem({ taskToken: TOKEN }) });
    const state = stepState(BAKE_STEP, { cursor: { index: 1, total: 3, step: { kind: 'pause', timeoutSeconds: 60, onTimeout: 'promote' } } });

    const result = await invoke({ taskToken: TOKEN, state });

    expect(result.decision).toBe('Manual gate (up to 1m, then promote): waiting for promote or rollback');
    expect((lockUpdates()[0]!.ExpressionAttributeValues as Record<string, unknown>)[':w']).toEqual({ kind: 'gate', since: NOW, until: new Date(Date.parse(NOW) + 60_000).toISOString() });
  });
});

describe('bake handler: the wait for the image scan', () => {
  const scanState = () => rolloutInput({ service: serviceConfig({ imageScan: { failOn: 'HIGH' } }) }) as RolloutState;
  const scanKey = { pk: 'service#checkout', sk: `scan#${DIGEST}` };

  it('records the wait of the push under its digest, then finds the scan still running and waits, holding no lock', async () => {
    aws.ecr.on(DescribeImageScanFindingsCommand).resolves({ imageScanStatus: { status: 'IN_PROGRESS' } });

    const result = await invoke({ taskToken: TOKEN, state: scanState(), scan: true });

    expect(result.decision).toContain('waiting for the image scan');
    expect(aws.dynamo.commandCalls(PutCommand).map((c) => c.args[0].input)).toEqual([
      { TableName: TABLE, Item: { ...scanKey, service: 'checkout', rolloutId: ROLLOUT_ID, digest: DIGEST, taskToken: TOKEN, since: NOW } },
    ]);
    expect(lockUpdates()).toEqual([]);
    expect(aws.dynamo.commandCalls(DeleteCommand)).toHaveLength(0);
  });

  it('ends the wait at once (ScanDone) when the scan completed before the wait was recorded: no completion is lost', async () => {
    aws.ecr.on(DescribeImageScanFindingsCommand).resolves({ imageScanStatus: { status: 'COMPLETE' } });

    await expect(invoke({ taskToken: TOKEN, state: scanState(), scan: true })).rejects.toMatchObject({ name: ErrorName.ScanDone });

    expect(aws.dynamo.commandCalls(DeleteCommand).map((c) => c.args[0].input.Key)).toEqual([scanKey]);
  });
});
