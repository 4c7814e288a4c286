/**
 * Bake: record the task token of the waiting `Bake` state against the rollout, so the alarm path (fail it)
 * and operators (promote: succeed it) resume the execution at once. The bake's length is the state's
 * timeout; when it elapses Step Functions raises States.Timeout and the loop goes on.
 *
 * If the rollout was aborted before the token could be recorded, the bake fails at once instead of
 * waiting: no alarm is lost in the gap between two states.
 */
import { InvalidInputError, LockLostError } from '../core/errors';
import type { Log, RolloutStore } from '../core/ports';
import { describeStep } from '../core/plan';
import type { RolloutState } from '../core/rollout';
import { abortError } from '../check-alarms/check-alarms';

export interface BakeDeps {
  readonly store: RolloutStore;
  readonly log: Log;
}

export interface BakeInput {
  readonly taskToken: string;
  readonly state: RolloutState;
}

export async function bake(input: BakeInput, deps: BakeDeps): Promise<{ decision: string }> {
  if (typeof input?.taskToken !== 'string' || input.taskToken === '' || typeof input.state !== 'object') {
    throw new InvalidInputError('invalid bake input', ['taskToken and state are required']);
  }
  const { state, taskToken } = input;
  const step = state.cursor?.step;
  if (step?.kind !== 'bake') throw new InvalidInputError('invalid rollout state', ['cursor.step: must be a bake step']);
  const { recorded, lock } = await deps.store.recordTaskToken(state.service.name, state.rolloutId, taskToken);
  if (!recorded) {
    if (lock?.abort && lock.rolloutId === state.rolloutId) throw abortError(lock.abort);
    throw new LockLostError(state.service.name, state.rolloutId, lock?.rolloutId);
  }
  const decision = `${describeStep(step)}: waiting; an alarm or an abort ends it at once`;
  deps.log.info('bake started', { rolloutId: state.rolloutId, service: state.service.name, seconds: step.seconds });
  return { decision };
}
