import { describe, expect, it } from 'vitest';
import type { StateError } from '../../functions/core/rollout';
import { rollbackReason } from '../../functions/rollback/rollback';
import { registeredState } from '../fixtures/state';

/** The `Cause` Step Functions records when a Node.js Lambda task throws. */
const lambdaCause = (errorType: string, errorMessage: string) => JSON.stringify({ errorType, errorMessage, trace: [`${errorType}: ${errorMessage}`, '    at checkAlarms (/var/task/index.mjs:1:2)'] });

describe('rollbackReason', () => {
  it.each<[string, StateError | undefined, string]>([
    ['no error', undefined, 'rolled back (no reason recorded)'],
    ['an error without a cause', { Error: 'States.Timeout' }, 'States.Timeout'],
    ['an error with an empty cause', { Error: 'DeploymentTimedOut', Cause: '' }, 'DeploymentTimedOut'],
    [
      'a plain-text cause (SendTaskFailure from the alarm path)',
      { Error: 'AlarmFired', Cause: 'alarm checkout-5xx in ALARM: Threshold Crossed' },
      'AlarmFired: alarm checkout-5xx in ALARM: Threshold Crossed',
    ],
    [
      'the JSON cause of a failed Lambda task, by its message',
      { Error: 'DeploymentFailed', Cause: lambdaCause('DeploymentFailed', 'checkout-green: deployment failed: ECS deployment circuit breaker: tasks failed to start.') },
      'DeploymentFailed: checkout-green: deployment failed: ECS deployment circuit breaker: tasks failed to start.',
    ],
    ['a JSON cause without a message, as it is', { Error: 'Custom', Cause: '{"detail":1}' }, 'Custom: {"detail":1}'],
    ['a cause that is JSON but not an object, as it is', { Error: 'Custom', Cause: '42' }, 'Custom: 42'],
  ])('explains %s', (_name, error, expected) => {
    expect(rollbackReason(registeredState({ error }))).toBe(expected);
  });
});
