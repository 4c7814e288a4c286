/**
 * Which Lambda errors the definition retries. A handler process that dies after its call took effect
 * surfaces, on AWS, as a Lambda error whose name depends on how it died: `Lambda.ServiceException` and the
 * other Lambda service errors, and `Sandbox.Timedout` (the function ran out of its time, as an overloaded
 * step may: middy's `TimeoutError` just before it is retried alike), are in every forward state's Retry
 * list; `Runtime.ExitError` (the process exited) is not, so a forward state that meets it rolls back at once
 * instead of retrying. Both ends are safe; the second costs the rollout.
 */
import { describe, expect, it } from 'vitest';
import { baseline } from './fault-matrix';
import { assertInvariants, observe, runScenario } from './reliability';
import { useLocalRuntime } from './emulator';

const local = useLocalRuntime();

describe('a deploy whose process dies once after UpdateService took effect', () => {
  it.each([
    ['Lambda.ServiceException', 'retried, and the rollout succeeds', 'Rollout succeeded'],
    ['Sandbox.Timedout', 'retried, and the rollout succeeds', 'Rollout succeeded'],
    ['Runtime.ExitError', 'not retried: the rollout rolls back at once', 'Rolled back'],
  ])('with %s is %s', async (crashError, _how, endState) => {
    // Act
    const run = await runScenario(local.emulator(), 'rollout', { fn: 'deploy', operation: 'ecs:UpdateService', kind: 'crash', mode: 'once', crashError });
    local.stopAfter(run.runtime);
    const end = await observe(run.runtime);

    // Assert
    expect(run.faults.hits).toBe(1);
    if (endState === 'Rollout succeeded') {
      assertInvariants(run, end, baseline('rollout'));
    } else {
      assertInvariants(run, end, { ...baseline('rollback'), reason: `${crashError}: deploy: the function's process died after ecs:UpdateService` });
      expect(run.executions[0]!.states.filter((s) => s === 'Deploy to idle slot')).toHaveLength(1);
    }
  });
});
