import { UpdateServiceCommand, DeregisterTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import { DeleteCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { ErrorName } from '../../functions/core/errors';
import type { RolloutState } from '../../functions/core/rollout';
import { createHandler as createFinalize } from '../../functions/finalize/handler';
import { createHandler as createRetire } from '../../functions/retire/handler';
import { CLUSTER, IMAGE_URI, NEW_TD, OTHER_ROLLOUT_ID, RETAINED_TD, ROLLOUT_ID, liveState, registeredState, rolloutInput } from '../fixtures/state';
import {
  LAMBDA_CONTEXT,
  NOW,
  aws,
  givenListener,
  givenLock,
  historyWrites,
  lockItem,
  lockReleases,
  realDeps,
  releaseOf,
  resetAws,
  totalAwsCalls,
  weightedForward,
  type Deps,
} from './harness';

let deps: Deps;
const finalize = (state: RolloutState) => createFinalize(() => deps)(state, LAMBDA_CONTEXT);
const retire = (state: RolloutState) => createRetire(() => deps)(state, LAMBDA_CONTEXT);

beforeEach(() => {
  resetAws();
  deps = realDeps();
  aws.dynamo.on(UpdateCommand).resolves({});
  aws.dynamo.on(DeleteCommand).resolves({});
  aws.ecs.on(UpdateServiceCommand).resolves({});
});

describe('finalize handler', () => {
  it('succeeds when waking the next waiting rollout fails after the lock is released (the waiter resumes at its timeout)', async () => {
    aws.dynamo.on(QueryCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } }));

    const result = await finalize(registeredState());

    expect(result).toMatchObject({ liveSlot: 'green', weights: { blue: 0, green: 100 } });
    expect(historyWrites().map((h) => h.fields.outcome)).toEqual(['SUCCEEDED']);
    expect(lockReleases()).toEqual([releaseOf(ROLLOUT_ID)]);
    expect(deps.log.lines.some((l) => l.level === 'warn' && l.message.startsWith('next waiting rollout not woken'))).toBe(true);
  });

  it('records green live on the new revision and releases the lock', async () => {
    const result = await finalize(registeredState());

    expect(historyWrites()).toEqual([
      {
        sk: `rollout#${liveState().startedAt}#${ROLLOUT_ID}`,
        fields: {
          service: 'checkout',
          rolloutId: ROLLOUT_ID,
          startedAt: liveState().startedAt,
          endedAt: NOW,
          outcome: 'SUCCEEDED',
          image: IMAGE_URI,
          liveSlot: 'green',
          newTaskDefinitionArn: NEW_TD,
          retainedTaskDefinitionArn: RETAINED_TD,
          weights: { blue: 0, green: 100 },
          reason: 'all steps passed with every watched alarm OK',
        },
      },
    ]);
    expect(lockReleases()).toEqual([releaseOf(ROLLOUT_ID)]);
    expect(result).toEqual({ liveSlot: 'green', weights: { blue: 0, green: 100 }, decision: 'green is live on checkout:8; blue stays warm on checkout:7 for 15m' });
    // Only reads (retention looks at the slots and the family); no service is changed.
    expect(aws.ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);
    expect(aws.ecs.commandCalls(DeregisterTaskDefinitionCommand)).toHaveLength(0);
  });

  it('fails with InvalidInput before any AWS call when register has not run', async () => {
    await expect(finalize({ ...rolloutInput(), live: liveState() })).rejects.toMatchObject({ name: ErrorName.InvalidInput });
    expect(totalAwsCalls()).toBe(0);
  });
});

describe('retire handler', () => {
  it('scales the old slot to zero at the end of the rollback window, leaving its revision registered', async () => {
    givenLock(undefined);
    givenListener([weightedForward(0, 100)]);

    const result = await retire(registeredState());

    expect(aws.ecs.commandCalls(UpdateServiceCommand).map((c) => c.args[0].input)).toEqual([{ cluster: CLUSTER, service: 'checkout-blue', desiredCount: 0 }]);
    expect(result).toEqual({ scaledDown: true, decision: 'rollback window over: blue slot (checkout-blue) scaled to 0; its revision stays registered' });
  });

  it('leaves the old slot to a newer rollout that holds the service', async () => {
    givenLock(lockItem({ rolloutId: OTHER_ROLLOUT_ID }));
    givenListener([weightedForward(0, 100)]);

    const result = await retire(registeredState());

    expect(result).toEqual({ scaledDown: false, decision: `rollout ${OTHER_ROLLOUT_ID} is using checkout now; the blue slot is left to it` });
    expect(aws.ecs.calls()).toHaveLength(0);
  });

  it('leaves the old slot running when traffic went back to it', async () => {
    givenLock(undefined);
    givenListener([weightedForward(100, 0)]);

    const result = await retire(registeredState());

    expect(result).toEqual({ scaledDown: false, decision: 'the blue slot has 100% of the traffic again; left running' });
    expect(aws.ecs.calls()).toHaveLength(0);
  });
});
