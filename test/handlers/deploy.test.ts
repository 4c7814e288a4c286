import { ServiceNotFoundException, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { beforeEach, describe, expect, it } from 'vitest';
import { ErrorName } from '../../functions/core/errors';
import type { RolloutState } from '../../functions/core/rollout';
import { createHandler } from '../../functions/deploy/handler';
import { CLUSTER, IDLE_TD, NEW_TD, RETAINED_TD, liveState, registeredState, rolloutInput } from '../fixtures/state';
import { LAMBDA_CONTEXT, aws, namedError, realDeps, resetAws, sdkError, totalAwsCalls, type Deps } from './harness';

let deps: Deps;
const invoke = (state: RolloutState) => createHandler(() => deps)(state, LAMBDA_CONTEXT);

beforeEach(() => {
  resetAws();
  deps = realDeps();
  aws.ecs.on(UpdateServiceCommand).resolves({});
});

describe('deploy handler', () => {
  it("points the idle slot's service at the new revision with the live slot's desired count", async () => {
    const result = await invoke(registeredState());

    expect(aws.ecs).toHaveReceivedCommandExactlyOnceWith(UpdateServiceCommand, { cluster: CLUSTER, service: 'checkout-green', taskDefinition: NEW_TD, desiredCount: 3 });
    expect(result).toEqual({
      slot: 'green',
      serviceName: 'checkout-green',
      taskDefinitionArn: NEW_TD,
      desiredCount: 3,
      decision: 'green slot (checkout-green) now runs checkout:8 with 3 tasks',
    });
  });

  it('deploys to blue when green is live', async () => {
    const state = registeredState({ live: liveState({ liveSlot: 'green', idleSlot: 'blue', idleTaskDefinitionArn: IDLE_TD, retainedTaskDefinitionArn: RETAINED_TD, desiredCount: 6 }) });

    await invoke(state);

    expect(aws.ecs).toHaveReceivedCommandExactlyOnceWith(UpdateServiceCommand, { cluster: CLUSTER, service: 'checkout-blue', taskDefinition: NEW_TD, desiredCount: 6 });
  });

  it('sends the same absolute values when retried', async () => {
    await invoke(registeredState());
    await invoke(registeredState());

    const [first, second] = aws.ecs.commandCalls(UpdateServiceCommand).map((c) => c.args[0].input);
    expect(second).toEqual(first);
  });

  it.each<[string, RolloutState, string]>([
    ['prepare has not run', rolloutInput(), 'live: missing (prepare has not run)'],
    ['register has not run', { ...rolloutInput(), live: liveState() }, 'revision: missing (register has not run)'],
  ])('fails with InvalidInput before any AWS call when %s', async (_name, state, problem) => {
    await expect(invoke(state)).rejects.toMatchObject({ name: ErrorName.InvalidInput, problems: [problem] });
    expect(totalAwsCalls()).toBe(0);
  });

  it('surfaces a 503 from ECS as AwsTransient', async () => {
    aws.ecs.on(UpdateServiceCommand).rejects(namedError('ServiceUnavailableException', 503));

    await expect(invoke(registeredState())).rejects.toMatchObject({ name: ErrorName.AwsTransient });
  });

  it('lets a missing ECS service fail with the SDK exception for the rollback path', async () => {
    aws.ecs.on(UpdateServiceCommand).rejects(sdkError(ServiceNotFoundException, 'Service not found.'));

    await expect(invoke(registeredState())).rejects.toMatchObject({ name: 'ServiceNotFoundException' });
  });
});
