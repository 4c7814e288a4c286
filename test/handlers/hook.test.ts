/** The hook function over fake ports: the token on the lock first, then the user's function, then the answer. */
import { describe, expect, it } from 'vitest';
import { hook, type HookDeps, type HookState } from '../../functions/hook/hook';
import { hooksWithDefaults } from '../../functions/core/hooks';
import type { LockRecord } from '../../functions/core/ports';
import { silentLog } from '../../functions/core/ports';
import { liveState, rolloutInput, serviceConfig } from '../fixtures/state';

function setup(lock: Partial<LockRecord> & { recorded?: boolean }, answer: unknown) {
  const calls: string[] = [];
  const deps: HookDeps = {
    store: {
      recordTaskToken: async (_s: string, _r: string, token: string) => {
        calls.push(`record ${token}`);
        return { recorded: lock.recorded ?? true, lock: { rolloutId: 'r1', ...lock } as LockRecord };
      },
    } as never,
    executions: {
      succeedTask: async (token, output) => {
        calls.push(`success ${token} ${JSON.stringify(output)}`);
        return true;
      },
      failTask: async (token, error, cause) => {
        calls.push(`failure ${token} ${error}: ${cause}`);
        return true;
      },
    },
    invoker: {
      invoke: async (fn) => {
        calls.push(`invoke ${fn}`);
        return typeof answer === 'function' ? (answer as () => unknown)() : answer;
      },
    },
    clock: { now: () => new Date('2026-01-01T00:00:00.000Z') },
    log: silentLog,
  };
  const state = {
    ...rolloutInput({ rolloutId: 'r1', service: serviceConfig({ hooks: hooksWithDefaults({ afterSteady: { functions: ['smoke'] } }) }) }),
    live: liveState(),
    hook: { stage: 'afterSteady', index: 0, total: 1, timeoutSeconds: 600, onTimeout: 'rollback', result: { remainingSeconds: 600 } },
  } as HookState;
  return { calls, deps, state };
}

describe('hook', () => {
  it('records the token before invoking the hook, and answers its success on the token', async () => {
    const { calls, deps, state } = setup({}, { status: 'SUCCEEDED', reason: 'fine' });

    const out = await hook({ taskToken: 't1', state }, deps);

    expect(calls).toEqual(['record t1', 'invoke smoke', 'success t1 {"ok":true,"reason":"fine"}']);
    expect(out).toEqual({ decision: 'afterSteady hook 1 (smoke) succeeded: fine' });
  });

  it('fails at once, without invoking the hook, when the rollout was aborted before the token was recorded', async () => {
    const { calls, deps, state } = setup({ recorded: false, abort: { error: 'AlarmFired', reason: 'checkout-5xx in ALARM', at: '2026-01-01T00:00:00.000Z' } }, { status: 'SUCCEEDED' });

    await expect(hook({ taskToken: 't1', state }, deps)).rejects.toMatchObject({ name: 'AlarmFired' });
    expect(calls).toEqual(['record t1']);
  });

  it('turns a function error into the hook failing, with its message', async () => {
    const { calls, deps, state } = setup({}, () => {
      throw new Error('smoke failed (Unhandled): boom');
    });

    await hook({ taskToken: 't1', state }, deps);

    expect(calls.at(-1)).toBe('failure t1 HookFailed: afterSteady hook 1 (smoke) failed: its function failed: smoke failed (Unhandled): boom');
  });

  it('leaves the token waiting when the hook will call back', async () => {
    const { calls, deps, state } = setup({}, undefined);

    const out = await hook({ taskToken: 't1', state }, deps);

    expect(calls).toEqual(['record t1', 'invoke smoke']);
    expect(out).toEqual({ decision: 'afterSteady hook 1 (smoke) is working: waiting for its callback until 2026-01-01T00:10:00.000Z' });
  });
});
