import { describe, expect, it } from 'vitest';
import { steadiness } from '../../functions/check-steady/check-steady';
import type { DeploymentView, ServiceView } from '../../functions/core/ports';
import { IDLE_TD, NEW_TD, RETAINED_TD, taskDefinitionArn } from '../fixtures/state';

const CIRCUIT_BREAKER = 'ECS deployment circuit breaker: tasks failed to start.';

const deployment = (overrides: Partial<DeploymentView> = {}): DeploymentView => ({
  status: 'PRIMARY',
  rolloutState: 'COMPLETED',
  taskDefinition: NEW_TD,
  desiredCount: 3,
  runningCount: 3,
  failedTasks: 0,
  ...overrides,
});

const service = (overrides: Partial<ServiceView> = {}): ServiceView => ({
  serviceName: 'checkout-green',
  status: 'ACTIVE',
  taskDefinition: NEW_TD,
  desiredCount: 3,
  runningCount: 3,
  deployments: [deployment()],
  ...overrides,
});

describe('steadiness', () => {
  it.each<[string, ServiceView, string]>([
    ['one COMPLETED deployment on the target with every task running (real ECS)', service(), '3/3 tasks running on checkout:8'],
    [
      'one deployment whose task definition is stale while the service is on the target (moto)',
      service({ deployments: [deployment({ taskDefinition: IDLE_TD, desiredCount: 0, runningCount: 0 })] }),
      '3/3 tasks running on checkout:8',
    ],
    ['more tasks running than desired', service({ runningCount: 4 }), '4/3 tasks running on checkout:8'],
    ['a deployment without a rolloutState (an older ECS API shape)', service({ deployments: [deployment({ rolloutState: undefined })] }), '3/3 tasks running on checkout:8'],
    ['one task wanted and one running (the least that is steady)', service({ desiredCount: 1, runningCount: 1 }), '1/1 tasks running on checkout:8'],
  ])('is STEADY with %s', (_name, svc, why) => {
    expect(steadiness(svc, NEW_TD)).toEqual({ status: 'STEADY', why });
  });

  it.each<[string, ServiceView, string]>([
    [
      'two deployments while the old tasks drain',
      service({
        deployments: [
          deployment({ rolloutState: 'IN_PROGRESS', runningCount: 3 }),
          deployment({ status: 'ACTIVE', taskDefinition: IDLE_TD, rolloutState: 'COMPLETED', desiredCount: 0, runningCount: 2 }),
        ],
      }),
      '2 deployments (old tasks still draining)',
    ],
    ['the PRIMARY deployment IN_PROGRESS', service({ runningCount: 1, deployments: [deployment({ rolloutState: 'IN_PROGRESS', runningCount: 1 })] }), 'deployment in progress (1/3 running)'],
    ['fewer tasks running than desired', service({ runningCount: 2 }), '2/3 tasks running'],
    // 0 >= 0 is not steady: traffic shifted there would find no task.
    [
      'a desired count of 0 and nothing running (scaled to 0 out of band)',
      service({ desiredCount: 0, runningCount: 0, deployments: [deployment({ desiredCount: 0, runningCount: 0 })] }),
      'desired count is 0 (scaled to 0 outside Cutover?): no task would serve traffic',
    ],
    [
      'a desired count of 0 while old tasks still run',
      service({ desiredCount: 0, runningCount: 2, deployments: [deployment({ desiredCount: 0, runningCount: 2 })] }),
      'desired count is 0 (scaled to 0 outside Cutover?): no task would serve traffic',
    ],
    ['no task running yet with a COMPLETED deployment', service({ runningCount: 0 }), 'no task running yet (0/3)'],
    ['the service still on the old revision (moto before the update)', service({ taskDefinition: IDLE_TD, deployments: [deployment({ taskDefinition: IDLE_TD })] }), 'service still on checkout:6'],
    [
      'a FAILED deployment of an older revision still draining beside the new one',
      service({
        deployments: [
          deployment({ rolloutState: 'IN_PROGRESS', runningCount: 1 }),
          deployment({ status: 'ACTIVE', taskDefinition: taskDefinitionArn(5), rolloutState: 'FAILED', rolloutStateReason: CIRCUIT_BREAKER, runningCount: 0 }),
        ],
      }),
      '2 deployments (old tasks still draining)',
    ],
  ])('is IN_PROGRESS with %s', (_name, svc, why) => {
    expect(steadiness(svc, NEW_TD)).toEqual({ status: 'IN_PROGRESS', why });
  });

  it.each<[string, ServiceView]>([
    [
      'the circuit breaker failing the deployment of the target',
      service({ runningCount: 0, deployments: [deployment({ rolloutState: 'FAILED', rolloutStateReason: CIRCUIT_BREAKER, runningCount: 0, failedTasks: 3 })] }),
    ],
    [
      'the circuit breaker rolling the service back to the previous revision',
      service({
        taskDefinition: IDLE_TD,
        deployments: [
          deployment({ taskDefinition: IDLE_TD, rolloutState: 'IN_PROGRESS' }),
          deployment({ status: 'ACTIVE', rolloutState: 'FAILED', rolloutStateReason: CIRCUIT_BREAKER, runningCount: 0, failedTasks: 6 }),
        ],
      }),
    ],
  ])('is FAILED with the reason ECS gives for %s', (_name, svc) => {
    expect(steadiness(svc, NEW_TD)).toEqual({ status: 'FAILED', why: `deployment failed: ${CIRCUIT_BREAKER}` });
  });

  it('says rolloutState FAILED when ECS gives no reason', () => {
    const svc = service({ deployments: [deployment({ rolloutState: 'FAILED', rolloutStateReason: undefined })] });

    expect(steadiness(svc, NEW_TD)).toEqual({ status: 'FAILED', why: 'deployment failed: rolloutState FAILED' });
  });

  it('does not count the retained revision as the target', () => {
    expect(steadiness(service({ taskDefinition: RETAINED_TD, deployments: [deployment({ taskDefinition: RETAINED_TD })] }), NEW_TD).status).toBe('IN_PROGRESS');
  });
});
