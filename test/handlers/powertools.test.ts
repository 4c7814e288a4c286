/**
 * The Powertools wiring every handler shares (functions/aws/lambda.ts): EMF metrics on stdout for the
 * functions that measure something, and JSON log lines that carry the rollout's id and service.
 */
import { UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { ModifyListenerCommand, ModifyRuleCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { powertoolsLog } from '../../functions/aws/powertools';
import { servicesFromEnv } from '../../functions/core/config';
import type { RolloutState } from '../../functions/core/rollout';
import { createHandler as createFinalize } from '../../functions/finalize/handler';
import { createHandler as createRollback } from '../../functions/rollback/handler';
import { createHandler as createShift } from '../../functions/shift/handler';
import { createHandler as createStart } from '../../functions/start/handler';
import { loadEvent } from '../fixtures/aws-events';
import { ownResources } from '../fixtures/own-resources';
import { ROLLOUT_ID, registeredState, serviceInput, stepState } from '../fixtures/state';
import { LAMBDA_CONTEXT, LOCK_KEY, NOW, aws, givenEcsService, givenListener, givenLockTable, lockItem, namedError, realDeps, resetAws, weightedForward, type Deps, type LockTable } from './harness';
import { ecsService } from '../fixtures/ecs';

/** What the handlers wrote to stdout and stderr during the test, one JSON document per line. */
let stdout: string[];
const emf = () =>
  stdout
    .flatMap((chunk) => chunk.split('\n'))
    .filter((line) => line.includes('"_aws"'))
    .map((line) => JSON.parse(line) as Record<string, unknown> & { _aws: { CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string; Unit: string }> }> } });
const logLines = () =>
  stdout
    .flatMap((chunk) => chunk.split('\n'))
    .filter((line) => line.startsWith('{') && !line.includes('"_aws"'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);

let deps: Deps;
let lock: LockTable;
const ms = (iso: string, deltaMs: number) => new Date(Date.parse(iso) + deltaMs).toISOString();

beforeEach(() => {
  resetAws();
  deps = realDeps();
  aws.dynamo.on(UpdateCommand).resolves({});
  aws.ecs.on(UpdateServiceCommand).resolves({});
  // The rollout holds checkout's lock at the generation prepare took: every step's fence passes.
  lock = givenLockTable(lockItem());
  // The new slot serves: Finalize commits only onto a slot that runs tasks.
  givenEcsService(ecsService('checkout-green', 8));
  aws.elb.on(ModifyListenerCommand).resolves({});
  aws.elb.on(ModifyRuleCommand).resolves({});
  // Inside Lambda, as AWS sets it: the functions publish EMF only there.
  vi.stubEnv('AWS_LAMBDA_FUNCTION_NAME', 'cutover-test');
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', undefined);
  stdout = [];
  // Powertools writes INFO and EMF to stdout, WARN and ERROR to stderr; Lambda sends both to CloudWatch Logs.
  for (const stream of [process.stdout, process.stderr]) {
    vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stdout.push(String(chunk));
      return true;
    });
  }
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe('EMF metrics', () => {
  it('finalize publishes RolloutSucceeded in the Cutover namespace with the service as dimension', async () => {
    await createFinalize(() => deps)(registeredState(), LAMBDA_CONTEXT);

    expect(emf()).toHaveLength(1);
    const [line] = emf();
    expect(line!._aws.CloudWatchMetrics).toEqual([{ Namespace: 'Cutover', Dimensions: [['service']], Metrics: [{ Name: 'RolloutSucceeded', Unit: 'Count' }] }]);
    expect(line).toMatchObject({ service: 'checkout', RolloutSucceeded: 1 });
  });

  it('rollback publishes RolloutRolledBack and the reaction time from the abort recorded on the lock to the weights restored', async () => {
    givenListener([weightedForward(75, 25)]);
    lock.item = lockItem({ abort: { error: 'AlarmFired', reason: 'alarm checkout-5xx in ALARM', at: ms(NOW, -1250) } });

    const result = await createRollback(() => deps)(stepState(2, { error: { Error: 'AlarmFired', Cause: 'alarm checkout-5xx in ALARM' } }), LAMBDA_CONTEXT);

    expect(result).toMatchObject({ outcome: 'ROLLED_BACK', abortedAt: ms(NOW, -1250), restoredAt: NOW });
    expect(emf()).toHaveLength(1);
    expect(emf()[0]!._aws.CloudWatchMetrics[0]!.Metrics).toEqual([
      { Name: 'RolloutRolledBack', Unit: 'Count' },
      { Name: 'RollbackReactionMs', Unit: 'Milliseconds' },
    ]);
    expect(emf()[0]).toMatchObject({ service: 'checkout', RolloutRolledBack: 1, RollbackReactionMs: 1250 });
  });

  it('rollback without a recorded abort (a failed deployment) publishes no reaction time', async () => {
    givenListener([weightedForward(100, 0)]);

    await createRollback(() => deps)(stepState(0, { error: { Error: 'DeploymentFailed', Cause: 'tasks failed to start' } }), LAMBDA_CONTEXT);

    expect(emf().map((l) => l._aws.CloudWatchMetrics[0]!.Metrics.map((m) => m.Name))).toEqual([['RolloutRolledBack']]);
  });

  it('rollback still restores the weights when the lock cannot be read for the measurement', async () => {
    givenListener([weightedForward(75, 25)]);
    aws.dynamo.on(GetCommand, { Key: LOCK_KEY }).rejects(namedError('ThrottlingException', 400, 'Rate exceeded'));

    const result = await createRollback(() => deps)(stepState(2, { error: { Error: 'AlarmFired', Cause: 'x' } }), LAMBDA_CONTEXT);

    expect(result).toMatchObject({ outcome: 'ROLLED_BACK', weights: { blue: 100, green: 0 } });
    expect(result.abortedAt).toBeUndefined();
    expect(aws.elb.commandCalls(ModifyListenerCommand)).toHaveLength(1);
    expect(emf().map((l) => l._aws.CloudWatchMetrics[0]!.Metrics.map((m) => m.Name))).toEqual([['RolloutRolledBack']]);
  });

  it('shift publishes how long the previous weight was held', async () => {
    givenListener([weightedForward(90, 10)]);
    const previous = { weights: { blue: 90, green: 10 }, at: ms(NOW, -300_000), decision: 'Shift 10% to green: blue 90 / green 10' };

    await createShift(() => deps)({ ...stepState(2), shift: previous } as RolloutState, LAMBDA_CONTEXT);

    expect(emf()).toHaveLength(1);
    expect(emf()[0]).toMatchObject({ service: 'checkout', StepDurationMs: 300_000 });
  });

  it('the first shift of a rollout has no previous weight change and publishes nothing', async () => {
    givenListener([weightedForward(100, 0)]);

    await createShift(() => deps)(stepState(0), LAMBDA_CONTEXT);

    expect(emf()).toEqual([]);
  });

  it('start publishes RolloutStarted once per service, each line with its own service dimension', async () => {
    const services = servicesFromEnv(JSON.stringify([serviceInput(), serviceInput({ name: 'checkout-eu', ...ownResources('checkout-eu') })]));
    aws.sfn
      .on(StartExecutionCommand)
      .callsFake((input: { name: string }) => ({ executionArn: `arn:aws:states:us-east-1:123456789012:execution:cutover-rollout:${input.name}`, startDate: new Date() }));

    await createStart(() => ({
      services,
      executions: deps.executions,
      registry: { describeImage: async () => ({ pushedAt: '2026-11-24T10:14:59.123Z' }) },
      requestLedger: deps.requestLedger,
      store: deps.store,
      clock: deps.clock,
      log: deps.log,
    }))(loadEvent('ecr-push'), LAMBDA_CONTEXT);

    expect(emf().map((l) => [l.service, l.RolloutStarted])).toEqual([
      ['checkout', 1],
      ['checkout-eu', 1],
    ]);
  });

  it('publishes nothing outside Lambda, so the local runtime and the CLI keep stdout for people', async () => {
    vi.stubEnv('AWS_LAMBDA_FUNCTION_NAME', undefined);

    await createFinalize(() => deps)(registeredState(), LAMBDA_CONTEXT);

    expect(emf()).toEqual([]);
  });

  it('POWERTOOLS_METRICS_DISABLED turns them off inside Lambda too', async () => {
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');

    await createFinalize(() => deps)(registeredState(), LAMBDA_CONTEXT);

    expect(emf()).toEqual([]);
  });
});

describe('structured logs', () => {
  it('every line of an invocation carries the rollout id and the service, beside the Lambda context', async () => {
    givenListener([weightedForward(75, 25)]);
    lock.item = lockItem({ abort: { error: 'AlarmFired', reason: 'alarm checkout-5xx in ALARM', at: NOW } });
    const context = {
      ...LAMBDA_CONTEXT,
      functionName: 'cutover-rollback',
      awsRequestId: 'req-1',
      memoryLimitInMB: '256',
      invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:cutover-rollback',
    };

    await createRollback(() => ({ ...deps, log: powertoolsLog() }))(stepState(2, { error: { Error: 'AlarmFired', Cause: 'alarm checkout-5xx in ALARM' } }), context);

    const lines = logLines();
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).toMatchObject({ rolloutId: ROLLOUT_ID, rolloutService: 'checkout', function_name: 'cutover-rollback', function_request_id: 'req-1' });
    expect(lines.find((l) => l.message === 'rollout rolled back')).toMatchObject({ level: 'WARN', service: 'cutover', weights: { blue: 100, green: 0 } });
  });

  it('the keys of one invocation do not leak into the next', async () => {
    const log = powertoolsLog();
    givenListener([weightedForward(75, 25)]);

    await createShift(() => ({ ...deps, log }))(stepState(2), LAMBDA_CONTEXT);
    stdout = [];
    await createStart(() => ({ services: [], executions: deps.executions, registry: deps.registry, requestLedger: deps.requestLedger, store: deps.store, clock: deps.clock, log }))(
      loadEvent('ecr-push'),
      LAMBDA_CONTEXT,
    );

    const lines = logLines();
    expect(lines.map((l) => l.message)).toEqual(['push ignored']);
    expect(lines[0]).not.toHaveProperty('rolloutId');
  });
});
