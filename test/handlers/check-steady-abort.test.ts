import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { createHandler } from '../../functions/check-steady/handler';
import { ErrorName } from '../../functions/core/errors';
import { deployment, ecsService } from '../fixtures/ecs';
import { registeredState } from '../fixtures/state';
import { LAMBDA_CONTEXT, TABLE, aws, givenEcsService, givenLock, lockItem, realDeps, resetAws, type Deps } from './harness';

const REASON = 'ECS SERVICE_DEPLOYMENT_FAILED on checkout-green: ECS deployment circuit breaker: task failed to start.';

let deps: Deps;

beforeEach(() => {
  resetAws();
  deps = realDeps();
});

describe('check-steady handler: abort on the lock', () => {
  it('fails with DeploymentFailed when the ECS event path recorded an abort, even while ECS still says IN_PROGRESS', async () => {
    givenLock(lockItem({ idleService: { cluster: 'shop', serviceName: 'checkout-green' }, abort: { error: ErrorName.DeploymentFailed, reason: REASON, at: '2026-11-24T10:19:58.000Z' } }));
    givenEcsService(ecsService('checkout-green', 8, { runningCount: 1, deployments: [deployment({ rolloutState: 'IN_PROGRESS', runningCount: 1 })] }));

    const attempt = createHandler(() => deps)(registeredState(), LAMBDA_CONTEXT);

    await expect(attempt).rejects.toMatchObject({ name: ErrorName.DeploymentFailed, message: REASON });
    expect(aws.dynamo).toHaveReceivedCommandWith(GetCommand, { TableName: TABLE, Key: { pk: 'service#checkout', sk: 'lock' }, ConsistentRead: true });
    expect(aws.dynamo.commandCalls(UpdateCommand)).toEqual([]);
  });
});
