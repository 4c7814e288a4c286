import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeImageScanFindingsCommand, DescribeImagesCommand } from '@aws-sdk/client-ecr';
import { DescribeExecutionCommand, SendTaskFailureCommand } from '@aws-sdk/client-sfn';
import { ClientException, DescribeServicesCommand, DescribeTaskDefinitionCommand, RegisterTaskDefinitionCommand, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import {
  DescribeListenersCommand,
  DescribeTargetGroupsCommand,
  ListenerNotFoundException,
  ModifyListenerCommand,
  ModifyRuleCommand,
  TargetGroupNotFoundException,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { DeleteCommand, GetCommand, UpdateCommand, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { ErrorName } from '../../functions/core/errors';
import type { LiveState } from '../../functions/core/rollout';
import { createHandler } from '../../functions/prepare/handler';
import { describedTaskDefinition, ecsService } from '../fixtures/ecs';
import {
  ALARMS,
  DIGEST,
  BLUE_TG,
  EVENT_ID,
  GREEN_TG,
  IDLE_TD,
  IMAGE_URI,
  LISTENER_ARN,
  OTHER_ROLLOUT_ID,
  RETAINED_TD,
  ROLLOUT_ID,
  rolloutInput,
  serviceConfig,
} from '../fixtures/state';
import {
  LAMBDA_CONTEXT,
  NOW,
  TABLE,
  aws,
  conditionFailed,
  fieldsSet,
  givenAlarmStates,
  givenEcsService,
  givenHealthyEnvironment,
  givenListener,
  givenLock,
  historyWrites,
  lockItem,
  lockReleases,
  lockUpdates,
  namedError,
  realDeps,
  releaseOf,
  resetAws,
  sdkError,
  totalAwsCalls,
  weightedForward,
  type Deps,
} from './harness';

const ACQUIRE = 'attribute_not_exists(pk) OR #rolloutId = :rolloutId';

let deps: Deps;
const invoke = (input: unknown) => createHandler(() => deps)(input, LAMBDA_CONTEXT);

/** The item a successful acquire returns (ALL_NEW): what it wrote, with `startedAt` if it was there already. */
const acquired = (startedAt?: string) => (input: UpdateCommandInput) => {
  const fields = fieldsSet(input);
  return { Attributes: { ...input.Key, ...fields, startedAt: startedAt ?? fields.startedAt } };
};

/** The lock is free (or already ours, taken at `startedAt`): the conditional update succeeds. */
function givenFreeLock(startedAt?: string): void {
  aws.dynamo.on(UpdateCommand).resolves({});
  aws.dynamo.on(UpdateCommand, { ConditionExpression: ACQUIRE }).callsFake(acquired(startedAt));
  aws.dynamo.on(DeleteCommand).resolves({});
}

/** No change to traffic, services or task definitions was sent. */
function expectNothingChangedInAws(): void {
  expect(aws.elb).toHaveReceivedCommandTimes(ModifyListenerCommand, 0);
  expect(aws.elb).toHaveReceivedCommandTimes(ModifyRuleCommand, 0);
  expect(aws.ecs).toHaveReceivedCommandTimes(UpdateServiceCommand, 0);
  expect(aws.ecs).toHaveReceivedCommandTimes(RegisterTaskDefinitionCommand, 0);
}

beforeEach(() => {
  resetAws();
  deps = realDeps();
});

describe('prepare handler', () => {
  it('takes the lock, reads blue as live and green as idle, and records a RUNNING rollout', async () => {
    givenFreeLock();
    givenHealthyEnvironment();

    const live = await invoke(rolloutInput());

    expect(live).toEqual<LiveState>({
      startedAt: NOW,
      liveSlot: 'blue',
      idleSlot: 'green',
      retainedTaskDefinitionArn: RETAINED_TD,
      idleTaskDefinitionArn: IDLE_TD,
      desiredCount: 3,
      weights: { blue: 100, green: 0 },
      decision: 'blue is live on checkout:7 (3 tasks); green is idle and takes the new revision; alarms: checkout-5xx OK, checkout-p99-latency OK',
    });
    const [acquire, update] = lockUpdates();
    expect(acquire).toMatchObject({ TableName: TABLE, Key: { pk: 'service#checkout', sk: 'lock' }, ConditionExpression: ACQUIRE, ReturnValues: 'ALL_NEW' });
    expect(fieldsSet(acquire!)).toEqual({ service: 'checkout', rolloutId: ROLLOUT_ID, startedAt: NOW, alarms: [...ALARMS], activeKey: 'active' });
    expect(update).toMatchObject({ ConditionExpression: '#rid = :rid', ExpressionAttributeValues: expect.objectContaining({ ':rid': ROLLOUT_ID }) });
    expect(fieldsSet(update!)).toEqual({ newSlot: 'green', weights: { blue: 100, green: 0 }, idleService: { cluster: 'shop', serviceName: 'checkout-green' } });
    expect(historyWrites()).toEqual([
      {
        sk: `rollout#${NOW}#${ROLLOUT_ID}`,
        fields: {
          service: 'checkout',
          rolloutId: ROLLOUT_ID,
          startedAt: NOW,
          outcome: 'RUNNING',
          image: IMAGE_URI,
          trigger: `ecr-push:${EVENT_ID}`,
          liveSlot: 'blue',
          retainedTaskDefinitionArn: RETAINED_TD,
          weights: { blue: 100, green: 0 },
        },
      },
    ]);
    expect(lockReleases()).toEqual([]);
    expectNothingChangedInAws();
  });

  it('reads green as live when green holds 100%', async () => {
    givenFreeLock();
    givenHealthyEnvironment({
      blue: ecsService('checkout-blue', 6, { desiredCount: 0, runningCount: 0 }),
      green: ecsService('checkout-green', 7, { desiredCount: 5, runningCount: 5 }),
    });
    givenListener([weightedForward(0, 100)]);

    const live = await invoke(rolloutInput());

    expect(live).toMatchObject({ liveSlot: 'green', idleSlot: 'blue', retainedTaskDefinitionArn: RETAINED_TD, idleTaskDefinitionArn: IDLE_TD, desiredCount: 5 });
    expect(fieldsSet(lockUpdates()[1]!)).toEqual({ newSlot: 'blue', weights: { blue: 0, green: 100 }, idleService: { cluster: 'shop', serviceName: 'checkout-blue' } });
  });

  it('reads a plain TargetGroupArn forward as that slot at 100%', async () => {
    givenFreeLock();
    givenHealthyEnvironment();
    givenListener([
      { Type: 'authenticate-oidc', Order: 1, AuthenticateOidcConfig: { Issuer: 'https://idp.example.com', AuthorizationEndpoint: 'a', TokenEndpoint: 't', UserInfoEndpoint: 'u', ClientId: 'c' } },
      { Type: 'forward', Order: 2, ForwardConfig: { TargetGroups: [{ TargetGroupArn: BLUE_TG, Weight: 1 }, { TargetGroupArn: GREEN_TG, Weight: 0 }] } },
    ]);

    const live = await invoke(rolloutInput());

    expect(live).toMatchObject({ liveSlot: 'blue', weights: { blue: 100, green: 0 } });
  });

  it('asks CloudWatch for the watched alarms by name, without a state filter (moto ignores it)', async () => {
    givenFreeLock();
    givenHealthyEnvironment();

    await invoke(rolloutInput());

    expect(aws.cloudwatch).toHaveReceivedCommandExactlyOnceWith(DescribeAlarmsCommand, { AlarmNames: [...ALARMS], AlarmTypes: ['MetricAlarm', 'CompositeAlarm'] });
    expect(aws.cloudwatch.commandCalls(DescribeAlarmsCommand)[0]!.args[0].input).not.toHaveProperty('StateValue');
  });

  it('keeps the first start time when a retried prepare takes its own lock again', async () => {
    givenFreeLock('2026-11-24T10:15:03.000Z');
    givenHealthyEnvironment();

    const live = await invoke(rolloutInput());

    expect(live.startedAt).toBe('2026-11-24T10:15:03.000Z');
    expect(historyWrites()[0]).toMatchObject({ sk: `rollout#2026-11-24T10:15:03.000Z#${ROLLOUT_ID}`, fields: { startedAt: '2026-11-24T10:15:03.000Z', outcome: 'RUNNING' } });
  });

  it('refuses with RolloutBusy when another rollout holds the lock and the policy is reject, writing only a REFUSED record', async () => {
    aws.dynamo.on(UpdateCommand).resolves({});
    aws.dynamo.on(UpdateCommand, { ConditionExpression: ACQUIRE }).rejects(conditionFailed());
    givenLock(lockItem({ rolloutId: OTHER_ROLLOUT_ID }));

    const attempt = invoke(rolloutInput({ service: serviceConfig({ concurrency: 'reject' }) }));

    await expect(attempt).rejects.toMatchObject({
      name: ErrorName.RolloutBusy,
      message: `service checkout is busy: rollout ${OTHER_ROLLOUT_ID} holds its lock`,
    });
    expect(aws.dynamo).toHaveReceivedCommandExactlyOnceWith(GetCommand, { TableName: TABLE, Key: { pk: 'service#checkout', sk: 'lock' }, ConsistentRead: true });
    expect(lockUpdates()).toHaveLength(1);
    expect(historyWrites()).toEqual([
      {
        sk: `rollout#${NOW}#${ROLLOUT_ID}`,
        fields: {
          service: 'checkout',
          rolloutId: ROLLOUT_ID,
          startedAt: NOW,
          endedAt: NOW,
          outcome: 'REFUSED',
          image: IMAGE_URI,
          reason: `busy: rollout ${OTHER_ROLLOUT_ID} is in progress (concurrency: reject)`,
        },
      },
    ]);
    expect(lockReleases()).toEqual([]);
    expect(aws.ecs.calls()).toHaveLength(0);
    expect(aws.elb.calls()).toHaveLength(0);
    expect(aws.cloudwatch.calls()).toHaveLength(0);
  });

  it('logs a refusal once, with its stable error name, the rollout and the service', async () => {
    aws.dynamo.on(UpdateCommand).resolves({});
    aws.dynamo.on(UpdateCommand, { ConditionExpression: ACQUIRE }).rejects(conditionFailed());
    givenLock(lockItem({ rolloutId: OTHER_ROLLOUT_ID }));

    await invoke(rolloutInput({ service: serviceConfig({ concurrency: 'reject' }) })).catch(() => undefined);

    expect(deps.log.lines.filter((l) => l.level === 'error')).toEqual([
      {
        level: 'error',
        message: `service checkout is busy: rollout ${OTHER_ROLLOUT_ID} holds its lock`,
        fields: { function: 'prepare', error: ErrorName.RolloutBusy, rolloutId: ROLLOUT_ID, service: 'checkout', problems: undefined },
      },
    ]);
  });

  it('takes the lock after all when the holder released it between the two reads', async () => {
    givenFreeLock();
    aws.dynamo.on(UpdateCommand, { ConditionExpression: ACQUIRE }).rejectsOnce(conditionFailed()).callsFake(acquired());
    givenLock(undefined);
    givenHealthyEnvironment();

    const live = await invoke(rolloutInput());

    expect(live.liveSlot).toBe('blue');
    expect(lockUpdates().filter((u) => u.ConditionExpression === ACQUIRE)).toHaveLength(2);
  });

  describe('pre-flight', () => {
    it.each<[string, () => void, string[]]>([
      [
        'a watched alarm that does not exist',
        () => givenAlarmStates({ 'checkout-5xx': 'OK' }),
        ['alarm checkout-p99-latency does not exist (a missing alarm never fires, so it cannot stop a bad rollout)'],
      ],
      ['traffic split between the slots', () => givenListener([weightedForward(75, 25)]), ['traffic is split (blue 75 / green 25); a rollout starts only from 100/0']],
      ['a listener that forwards to blue only', () => givenListener([{ Type: 'forward', TargetGroupArn: BLUE_TG }]), ["the listener does not forward to the green slot's target group"]],
      [
        'a listener that also forwards to a group Cutover does not manage',
        () =>
          givenListener([
            { Type: 'forward', ForwardConfig: { TargetGroups: [{ TargetGroupArn: BLUE_TG, Weight: 100 }, { TargetGroupArn: GREEN_TG, Weight: 0 }, { TargetGroupArn: `${BLUE_TG}x`, Weight: 100 }] } },
          ]),
        [`the listener also forwards to target groups Cutover does not manage: ${BLUE_TG}x`, 'traffic is split (blue 50 / green 0); a rollout starts only from 100/0'],
      ],
      [
        'an image digest ECR does not have',
        () => aws.ecr.on(DescribeImagesCommand).rejects(namedError('ImageNotFoundException', 400)),
        [`image ${DIGEST} is not in ECR repository checkout`],
      ],
      [
        'a live slot changed outside Cutover (drift)',
        () =>
          aws.dynamo
            .on(GetCommand, { TableName: TABLE, Key: { pk: 'service#checkout', sk: 'state' } })
            .resolves({ Item: { service: 'checkout', liveSlot: 'blue', liveTaskDefinitionArn: IDLE_TD, desiredCount: 2, rolloutId: OTHER_ROLLOUT_ID, at: NOW } }),
        [`drift since ${OTHER_ROLLOUT_ID}: the live service runs checkout:7, Cutover left checkout:6; the live service wants 3 tasks, Cutover left 2 (set adoptDrift to roll out from the current state)`],
      ],
      [
        'a missing listener',
        () => aws.elb.on(DescribeListenersCommand).rejects(sdkError(ListenerNotFoundException, 'One or more listeners not found')),
        [`listener ${LISTENER_ARN} not found`],
      ],
      [
        'a missing target group',
        () => aws.elb.on(DescribeTargetGroupsCommand, { TargetGroupArns: [GREEN_TG] }).rejects(sdkError(TargetGroupNotFoundException, 'One or more target groups not found')),
        [`target group of the green slot does not exist: ${GREEN_TG}`],
      ],
      [
        'a missing ECS service',
        () =>
          aws.ecs
            .on(DescribeServicesCommand, { services: ['checkout-green'] })
            .resolves({ services: [], failures: [{ arn: 'arn:aws:ecs:us-east-1:123456789012:service/shop/checkout-green', reason: 'MISSING' }] }),
        ['ECS service checkout-green (green slot) not found in cluster shop'],
      ],
      [
        'an ECS service that was deleted (INACTIVE)',
        () => givenEcsService(ecsService('checkout-green', 6, { status: 'INACTIVE' })),
        ['ECS service checkout-green (green slot) not found in cluster shop'],
      ],
      [
        'a live task definition that cannot be read',
        () => aws.ecs.on(DescribeTaskDefinitionCommand, { taskDefinition: RETAINED_TD }).rejects(sdkError(ClientException, 'Unable to describe task definition.')),
        [`the live task definition ${RETAINED_TD} cannot be read`],
      ],
      [
        'the image already live',
        () => aws.ecs.on(DescribeTaskDefinitionCommand, { taskDefinition: RETAINED_TD }).resolves({ taskDefinition: describedTaskDefinition(7, IMAGE_URI), tags: [] }),
        [`the live revision already runs ${IMAGE_URI}; nothing to roll out`],
      ],
    ])('refuses %s with PreflightFailed, records why and releases the lock', async (_name, arrange, problems) => {
      givenFreeLock();
      givenHealthyEnvironment();
      arrange();

      const attempt = invoke(rolloutInput());

      await expect(attempt).rejects.toMatchObject({ name: ErrorName.PreflightFailed, problems });
      expect(historyWrites()).toEqual([
        {
          sk: `rollout#${NOW}#${ROLLOUT_ID}`,
          fields: { service: 'checkout', rolloutId: ROLLOUT_ID, startedAt: NOW, endedAt: NOW, outcome: 'REFUSED', image: IMAGE_URI, reason: `pre-flight failed: ${problems.join('; ')}` },
        },
      ]);
      expect(lockReleases()).toEqual([releaseOf(ROLLOUT_ID)]);
      expect(lockUpdates()).toHaveLength(1); // the acquire only: no slot or weights recorded
      expectNothingChangedInAws();
    });

    it('refuses a container the live revision does not have, naming the ones it has', async () => {
      givenFreeLock();
      givenHealthyEnvironment();

      const attempt = invoke(rolloutInput({ service: serviceConfig({ containerName: 'web' }) }));

      await expect(attempt).rejects.toMatchObject({ name: ErrorName.PreflightFailed, problems: [`container web is not in ${RETAINED_TD} (it has: app, log-router)`] });
      expect(lockReleases()).toEqual([releaseOf(ROLLOUT_ID)]);
      expectNothingChangedInAws();
    });

    it('reports every failed check at once', async () => {
      givenFreeLock();
      givenHealthyEnvironment();
      givenAlarmStates({});
      givenListener([weightedForward(50, 50)]);
      aws.elb.on(DescribeTargetGroupsCommand, { TargetGroupArns: [BLUE_TG] }).rejects(sdkError(TargetGroupNotFoundException, 'not found'));

      const attempt = invoke(rolloutInput());

      await expect(attempt).rejects.toMatchObject({
        name: ErrorName.PreflightFailed,
        problems: [
          'alarm checkout-5xx does not exist (a missing alarm never fires, so it cannot stop a bad rollout)',
          'alarm checkout-p99-latency does not exist (a missing alarm never fires, so it cannot stop a bad rollout)',
          `target group of the blue slot does not exist: ${BLUE_TG}`,
          'traffic is split (blue 50 / green 50); a rollout starts only from 100/0',
        ],
      });
      expect(lockReleases()).toEqual([releaseOf(ROLLOUT_ID)]);
    });
  });

  it.each<[string, unknown]>([
    ['an empty object', {}],
    ['a string', 'checkout'],
    ['an image pinned to a tag', { ...rolloutInput(), image: { repository: 'checkout', digest: 'v1.4.2', uri: '123456789012.dkr.ecr.us-east-1.amazonaws.com/checkout:v1.4.2' } }],
    ['a rollout id with a colon', { ...rolloutInput(), rolloutId: 'checkout:1a73d44e2264' }],
    ['a service without alarms', { ...rolloutInput(), service: serviceConfig({ alarms: [] }) }],
    ['a plan that never reaches 100%', { ...rolloutInput(), service: serviceConfig({ plan: { steps: [{ kind: 'setWeight', weight: 50 }] } }) }],
  ])('refuses %s with InvalidInput before any AWS call', async (_name, input) => {
    givenFreeLock();
    givenHealthyEnvironment();

    const attempt = invoke(input);

    await expect(attempt).rejects.toMatchObject({ name: ErrorName.InvalidInput });
    expect(totalAwsCalls()).toBe(0);
  });

  it.each<[string, Error]>([
    ['a throttled listener read', namedError('ThrottlingException', 400, 'Rate exceeded')],
    ['a 503 from ELB', namedError('ServiceUnavailable', 503)],
  ])('surfaces %s as AwsTransient for the state machine to retry', async (_name, failure) => {
    givenFreeLock();
    givenHealthyEnvironment();
    aws.elb.on(DescribeListenersCommand).rejects(failure);

    const attempt = invoke(rolloutInput());

    await expect(attempt).rejects.toMatchObject({ name: ErrorName.AwsTransient, cause: failure });
    expectNothingChangedInAws();
  });
});

describe('prepare when another rollout holds the lock', () => {
  const busy = () => {
    aws.dynamo.on(UpdateCommand).resolves({});
    aws.dynamo.on(UpdateCommand, { ConditionExpression: ACQUIRE }).rejects(conditionFailed());
    aws.dynamo.on(DeleteCommand).resolves({});
    givenLock(lockItem({ rolloutId: OTHER_ROLLOUT_ID, taskToken: 'holder-token' }));
  };

  it('supersedes it by default: aborts it through the abort path and waits for the turn', async () => {
    busy();
    aws.dynamo.on(UpdateCommand, { UpdateExpression: 'SET #abort = if_not_exists(#abort, :abort)' }).resolves({ Attributes: lockItem({ rolloutId: OTHER_ROLLOUT_ID, taskToken: 'holder-token' }) });

    await expect(invoke(rolloutInput())).rejects.toMatchObject({ name: ErrorName.RolloutQueued });

    const abort = lockUpdates().find((u) => u.UpdateExpression?.includes('#abort'));
    expect(abort?.ExpressionAttributeValues?.[':abort']).toMatchObject({ error: 'RolloutAborted', reason: `superseded by the newer push ${ROLLOUT_ID}` });
    expect(aws.sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, { taskToken: 'holder-token', error: 'RolloutAborted' });
    expect(historyWrites()).toEqual([]);
    expect(aws.ecs.calls()).toHaveLength(0);
  });

  it('waits for the turn without touching the holder under the queue policy', async () => {
    busy();

    await expect(invoke(rolloutInput({ service: serviceConfig({ concurrency: 'queue' }) }))).rejects.toMatchObject({ name: ErrorName.RolloutQueued });

    expect(lockUpdates().some((u) => u.UpdateExpression?.includes('#abort'))).toBe(false);
    expect(aws.sfn.commandCalls(SendTaskFailureCommand)).toHaveLength(0);
  });

  it('takes over a lock whose execution has ended, and rolls out', async () => {
    busy();
    aws.sfn.on(DescribeExecutionCommand).resolves({ status: 'ABORTED' } as never);
    aws.dynamo.on(UpdateCommand, { ConditionExpression: '#rolloutId = :stale' }).resolves({ Attributes: lockItem({ rolloutId: ROLLOUT_ID, startedAt: NOW }) });
    givenHealthyEnvironment();

    const live = await invoke(rolloutInput({ service: serviceConfig({ concurrency: 'reject' }) }));

    expect(live.liveSlot).toBe('blue');
    const takeOver = lockUpdates().find((u) => u.ConditionExpression === '#rolloutId = :stale');
    expect(takeOver?.ExpressionAttributeValues?.[':stale']).toBe(OTHER_ROLLOUT_ID);
    expect(takeOver?.UpdateExpression).toContain('REMOVE #abort, #token, #wait, #pause');
  });
});

describe('the image-scan gate', () => {
  it.each([
    ['refuses a HIGH finding when failOn is HIGH', 'HIGH', [{ name: 'CVE-9999-9999', severity: 'HIGH' }], 'COMPLETE', ['image scan: 1 finding(s) at or above HIGH: CVE-9999-9999 (HIGH)']],
    ['passes a HIGH finding when failOn is CRITICAL', 'CRITICAL', [{ name: 'CVE-9999-9999', severity: 'HIGH' }], 'COMPLETE', []],
    ['refuses a scan that has not completed', 'CRITICAL', [], 'IN_PROGRESS', ['the image scan is IN_PROGRESS, not COMPLETE: the scan gate cannot pass it']],
  ] as const)('%s', async (_name, failOn, findings, status, problems) => {
    givenFreeLock();
    givenHealthyEnvironment();
    aws.ecr.on(DescribeImageScanFindingsCommand).resolves({ imageScanStatus: { status }, imageScanFindings: { findings: [...findings] } });

    const attempt = invoke(rolloutInput({ service: serviceConfig({ imageScan: { failOn } }) }));

    if (problems.length) await expect(attempt).rejects.toMatchObject({ name: ErrorName.PreflightFailed, problems });
    else await expect(attempt).resolves.toMatchObject({ liveSlot: 'blue' });
  });
});
