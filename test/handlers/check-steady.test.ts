import { DescribeServicesCommand } from '@aws-sdk/client-ecs';
import { beforeEach, describe, expect, it } from 'vitest';
import { createHandler } from '../../functions/check-steady/handler';
import { ErrorName } from '../../functions/core/errors';
import type { RolloutState } from '../../functions/core/rollout';
import { deployment, ecsService } from '../fixtures/ecs';
import { CLUSTER, IDLE_TD, registeredState, serviceConfig } from '../fixtures/state';
import { LAMBDA_CONTEXT, aws, givenEcsService, namedError, realDeps, resetAws, totalAwsCalls, type Deps } from './harness';

const CIRCUIT_BREAKER = 'ECS deployment circuit breaker: tasks failed to start.';

let deps: Deps;
const invoke = (state: RolloutState) => createHandler(() => deps)(state, LAMBDA_CONTEXT);

/** After `checks` earlier checks, with at most `max` allowed. */
const afterChecks = (checks: number, max = 40): RolloutState =>
  registeredState({
    service: serviceConfig({ timings: { steadyMaxChecks: max } }),
    ...(checks > 0 ? { steady: { status: 'IN_PROGRESS', checks, decision: 'not yet' } } : {}),
  });

beforeEach(() => {
  resetAws();
  deps = realDeps();
});

describe('check-steady handler', () => {
  it('answers STEADY when green runs the new revision with one completed deployment', async () => {
    givenEcsService(ecsService('checkout-green', 8));

    const steady = await invoke(afterChecks(0));

    expect(steady).toEqual({ status: 'STEADY', checks: 1, decision: 'check 1/40: steady, 3/3 tasks running on checkout:8' });
    expect(aws.ecs).toHaveReceivedCommandExactlyOnceWith(DescribeServicesCommand, { cluster: CLUSTER, services: ['checkout-green'] });
  });

  it('answers STEADY on the moto shape: one stale deployment, the service on the new revision', async () => {
    givenEcsService(ecsService('checkout-green', 8, { deployments: [deployment({ taskDefinition: IDLE_TD, desiredCount: 0, runningCount: 0 })] }));

    const steady = await invoke(afterChecks(1));

    expect(steady).toMatchObject({ status: 'STEADY', checks: 2 });
  });

  it('answers IN_PROGRESS and counts the check while the old tasks drain', async () => {
    givenEcsService(
      ecsService('checkout-green', 8, {
        deployments: [deployment({ rolloutState: 'IN_PROGRESS' }), deployment({ status: 'ACTIVE', taskDefinition: IDLE_TD, runningCount: 1, desiredCount: 0 })],
      }),
    );

    const steady = await invoke(afterChecks(4));

    expect(steady).toEqual({ status: 'IN_PROGRESS', checks: 5, decision: 'check 5/40: not yet, 2 deployments (old tasks still draining)' });
  });

  it('fails with DeploymentFailed, giving the circuit breaker reason', async () => {
    givenEcsService(ecsService('checkout-green', 8, { runningCount: 0, deployments: [deployment({ rolloutState: 'FAILED', rolloutStateReason: CIRCUIT_BREAKER, runningCount: 0, failedTasks: 3 })] }));

    await expect(invoke(afterChecks(2))).rejects.toMatchObject({ name: ErrorName.DeploymentFailed, message: `checkout-green: deployment failed: ${CIRCUIT_BREAKER}` });
  });

  it('fails with DeploymentTimedOut on the last allowed check when still not steady', async () => {
    givenEcsService(ecsService('checkout-green', 8, { runningCount: 1, deployments: [deployment({ rolloutState: 'IN_PROGRESS', runningCount: 1 })] }));

    await expect(invoke(afterChecks(2, 3))).rejects.toMatchObject({
      name: ErrorName.DeploymentTimedOut,
      message: 'checkout-green not steady after 3 checks: deployment in progress (1/3 running)',
    });
  });

  it('answers IN_PROGRESS on the check before the last', async () => {
    givenEcsService(ecsService('checkout-green', 8, { runningCount: 1, deployments: [deployment({ rolloutState: 'IN_PROGRESS', runningCount: 1 })] }));

    await expect(invoke(afterChecks(1, 3))).resolves.toMatchObject({ status: 'IN_PROGRESS', checks: 2 });
  });

  it('answers STEADY even on the last allowed check when it got there', async () => {
    givenEcsService(ecsService('checkout-green', 8));

    await expect(invoke(afterChecks(2, 3))).resolves.toMatchObject({ status: 'STEADY', checks: 3 });
  });

  it('fails with ResourceNotFound when the idle service disappeared', async () => {
    aws.ecs.on(DescribeServicesCommand).resolves({ services: [], failures: [{ arn: 'arn:aws:ecs:us-east-1:123456789012:service/shop/checkout-green', reason: 'MISSING' }] });

    await expect(invoke(afterChecks(0))).rejects.toMatchObject({ name: ErrorName.ResourceNotFound });
  });

  it('fails with InvalidInput before any AWS call when register has not run', async () => {
    await expect(invoke({ ...registeredState(), revision: undefined })).rejects.toMatchObject({ name: ErrorName.InvalidInput });
    expect(totalAwsCalls()).toBe(0);
  });

  it('surfaces throttling as AwsTransient', async () => {
    aws.ecs.on(DescribeServicesCommand).rejects(namedError('ThrottlingException', 400, 'Rate exceeded'));

    await expect(invoke(afterChecks(0))).rejects.toMatchObject({ name: ErrorName.AwsTransient });
  });

  it('checks the revision register made, not the one it replaced', async () => {
    givenEcsService(ecsService('checkout-green', 6));

    await expect(invoke(afterChecks(0))).resolves.toMatchObject({ status: 'IN_PROGRESS', decision: expect.stringContaining('service still on checkout:6') });
  });
});
