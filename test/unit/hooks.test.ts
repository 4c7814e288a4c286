/** Lifecycle hooks: the configuration, answers, rounds and records, without AWS. */
import { describe, expect, it } from 'vitest';
import { validateServiceConfig, withDefaults } from '../../functions/core/config';
import { hookStageEvents, worstCaseHistoryEvents } from '../../functions/core/history-budget';
import {
  DEFAULT_HOOK_TIMEOUT_SECONDS,
  HookMessage,
  hooksWithDefaults,
  MAX_HOOK_DELAY_SECONDS,
  MAX_HOOK_ROUNDS,
  outcomeText,
  readAnswer,
  roundOf,
  stillWorking,
  validateHooks,
  type HookCursor,
} from '../../functions/core/hooks';
import { DEFAULT_PLAN } from '../../functions/core/plan';
import { serviceConfig } from '../fixtures/state';

const ARN = 'arn:aws:lambda:us-east-1:123456789012:function:smoke-test';
const cursor = (over: Partial<HookCursor> = {}): HookCursor => ({ stage: 'afterSteady', index: 0, total: 1, timeoutSeconds: 600, onTimeout: 'rollback', ...over });

describe('validateHooks', () => {
  it.each([
    ['a function name', { afterSteady: { functions: ['smoke'], timeoutSeconds: 60, onTimeout: 'rollback' } }],
    ['an ARN with a qualifier', { onRollback: { functions: [`${ARN}:live`], timeoutSeconds: 86_400, onTimeout: 'continue' } }],
    ['several stages', { beforeShift: { functions: ['a', 'b'], timeoutSeconds: 1, onTimeout: 'rollback' }, afterShift: { functions: [ARN], timeoutSeconds: 5, onTimeout: 'continue' } }],
  ])('accepts %s', (_name, hooks) => {
    expect(validateHooks(hooks, 'service.hooks')).toEqual([]);
  });

  it.each([
    ['an unknown stage', { afterLunch: { functions: ['a'], timeoutSeconds: 60, onTimeout: 'rollback' } }, `service.hooks.afterLunch: ${HookMessage.STAGE}`],
    ['no function', { afterSteady: { functions: [], timeoutSeconds: 60, onTimeout: 'rollback' } }, `service.hooks.afterSteady.functions: ${HookMessage.FUNCTIONS}`],
    ['six functions', { afterSteady: { functions: ['a', 'b', 'c', 'd', 'e', 'f'], timeoutSeconds: 60, onTimeout: 'rollback' } }, `service.hooks.afterSteady.functions: ${HookMessage.FUNCTIONS}`],
    ['a name with a space', { afterSteady: { functions: ['smoke test'], timeoutSeconds: 60, onTimeout: 'rollback' } }, `service.hooks.afterSteady.functions[0]: ${HookMessage.FUNCTIONS}`],
    ['a zero timeout', { afterSteady: { functions: ['a'], timeoutSeconds: 0, onTimeout: 'rollback' } }, `service.hooks.afterSteady.timeoutSeconds: ${HookMessage.TIMEOUT}`],
    ['a timeout over a day', { afterSteady: { functions: ['a'], timeoutSeconds: 86_401, onTimeout: 'rollback' } }, `service.hooks.afterSteady.timeoutSeconds: ${HookMessage.TIMEOUT}`],
    ['an unknown timeout action', { afterSteady: { functions: ['a'], timeoutSeconds: 60, onTimeout: 'ignore' } }, `service.hooks.afterSteady.onTimeout: ${HookMessage.ON_TIMEOUT}`],
    ['a list', [], `service.hooks: ${HookMessage.NOT_OBJECT}`],
  ])('refuses %s, naming the path', (_name, hooks, problem) => {
    expect(validateHooks(hooks, 'service.hooks')).toEqual([problem]);
  });

  it('is part of the service validation, with defaults applied by withDefaults', () => {
    const config = withDefaults({ ...serviceConfig(), hooks: { afterSteady: { functions: ['smoke'] } } });

    expect(config.hooks).toEqual({ afterSteady: { functions: ['smoke'], timeoutSeconds: DEFAULT_HOOK_TIMEOUT_SECONDS, onTimeout: 'rollback' } });
    expect(validateServiceConfig(config)).toEqual([]);
    expect(validateServiceConfig({ ...config, hooks: { afterSteady: { functions: [] } } })).toEqual(expect.arrayContaining([`service.hooks.afterSteady.functions: ${HookMessage.FUNCTIONS}`]));
  });

  it('keeps what is given over the defaults', () => {
    expect(hooksWithDefaults({ onRollback: { functions: ['r'], timeoutSeconds: 30, onTimeout: 'continue' } })).toEqual({ onRollback: { functions: ['r'], timeoutSeconds: 30, onTimeout: 'continue' } });
  });
});

describe('readAnswer', () => {
  it.each([
    [
      { status: 'SUCCEEDED', reason: 'ok' },
      { status: 'SUCCEEDED', reason: 'ok' },
    ],
    [{ status: 'succeeded' }, { status: 'SUCCEEDED' }],
    [{ ok: true }, { status: 'SUCCEEDED' }],
    [
      { status: 'FAILED', reason: '503' },
      { status: 'FAILED', reason: '503' },
    ],
    [{ ok: false }, { status: 'FAILED' }],
    [
      { status: 'IN_PROGRESS', delaySeconds: 10 },
      { status: 'IN_PROGRESS', delaySeconds: 10 },
    ],
    [
      { status: 'IN_PROGRESS', delaySeconds: 0.2 },
      { status: 'IN_PROGRESS', delaySeconds: 1 },
    ],
    [
      { status: 'IN_PROGRESS', delaySeconds: 1e9 },
      { status: 'IN_PROGRESS', delaySeconds: MAX_HOOK_DELAY_SECONDS },
    ],
    [{ status: 'IN_PROGRESS' }, { status: 'IN_PROGRESS', delaySeconds: 30 }],
    [undefined, { status: 'PENDING' }],
    [null, { status: 'PENDING' }],
    ['done', { status: 'PENDING' }],
    [{ status: 'PENDING' }, { status: 'PENDING' }],
  ])('reads %j as %j', (value, answer) => {
    expect(readAnswer(value)).toEqual(answer);
  });
});

describe('rounds of "still working"', () => {
  const now = new Date('2026-01-01T00:00:00.000Z');

  it('starts the clock at the first round and keeps it after a "still working" answer', () => {
    const first = roundOf(cursor({ timeoutSeconds: 100 }), now);
    const later = roundOf(cursor({ result: { remainingSeconds: 40, delaySeconds: 10, deadline: '2026-01-01T00:01:00.000Z', rounds: 3 } }), new Date('2026-01-01T00:00:30.000Z'));

    expect(first).toEqual({ deadline: new Date('2026-01-01T00:01:40.000Z'), rounds: 0, first: true });
    expect(later).toEqual({ deadline: new Date('2026-01-01T00:01:00.000Z'), rounds: 3, first: false });
  });

  it('never waits past the deadline, and the next round gets the time that is left', () => {
    expect(stillWorking(30, new Date(now.getTime() + 100_000), 0, now)).toEqual({ delaySeconds: 30, remainingSeconds: 70, deadline: '2026-01-01T00:01:40.000Z', rounds: 1 });
    expect(stillWorking(300, new Date(now.getTime() + 100_000), 0, now)).toEqual({ delaySeconds: 99, remainingSeconds: 1, deadline: '2026-01-01T00:01:40.000Z', rounds: 1 });
  });

  it('is a timeout when no round fits before the deadline or the rounds are used up', () => {
    expect(stillWorking(5, new Date(now.getTime() + 1500), 0, now)).toBeUndefined();
    expect(stillWorking(5, new Date(now.getTime() + 100_000), MAX_HOOK_ROUNDS, now)).toBeUndefined();
    expect(stillWorking(5, new Date(now.getTime() + 100_000), MAX_HOOK_ROUNDS - 1, now)).toBeDefined();
  });
});

describe('outcomeText', () => {
  it.each([
    [cursor({ result: { remainingSeconds: 1, ok: true, reason: 'GET / 200' } }), 'afterSteady hook 1 (smoke-test) succeeded: GET / 200'],
    [cursor({ onTimeout: 'continue', result: { remainingSeconds: 1, Error: 'States.Timeout', Cause: '' } }), 'afterSteady hook 1 (smoke-test) timed out after 600 s (onTimeout continue: going on)'],
    [cursor({ stage: 'onRollback', result: { remainingSeconds: 1, Error: 'HookTimedOut' } }), 'onRollback hook 1 (smoke-test) timed out after 600 s (recorded; the rollback stands)'],
    [
      cursor({ stage: 'onRollback', index: 1, result: { remainingSeconds: 1, Error: 'HookFailed', Cause: JSON.stringify({ errorMessage: 'revert failed' }) } }),
      'onRollback hook 2 (smoke-test) failed: revert failed (recorded; the rollback stands)',
    ],
  ])('says what happened: %#', (c, text) => {
    expect(outcomeText(c, ARN).text).toBe(text);
  });
});

describe('the history budget with hooks', () => {
  it('costs nothing for a stage without hooks, and grows with every hook function', () => {
    const none = worstCaseHistoryEvents(DEFAULT_PLAN, { steadyMaxChecks: 40 });
    const one = worstCaseHistoryEvents(DEFAULT_PLAN, { steadyMaxChecks: 40 }, hooksWithDefaults({ beforeShift: { functions: ['a'] } }));
    const two = worstCaseHistoryEvents(DEFAULT_PLAN, { steadyMaxChecks: 40 }, hooksWithDefaults({ beforeShift: { functions: ['a', 'b'] } }));

    expect(hookStageEvents(undefined, 'afterSteady')).toBe(0);
    expect(one).toBeGreaterThan(none);
    // Before every weight change of the plan, and before the jump of a `promote --full`.
    const shifts = DEFAULT_PLAN.steps.filter((step) => step.kind === 'setWeight').length + 1;
    const perFunction =
      hookStageEvents(hooksWithDefaults({ beforeShift: { functions: ['a', 'b'] } }), 'beforeShift') - hookStageEvents(hooksWithDefaults({ beforeShift: { functions: ['a'] } }), 'beforeShift');
    expect(two - one).toBe(shifts * perFunction);
  });

  it('refuses hooks at every weight change whose worst case could come near the history limit', () => {
    const five = ['a', 'b', 'c', 'd', 'e'];
    const config = withDefaults({ ...serviceConfig(), hooks: { beforeShift: { functions: five }, afterShift: { functions: five } } });

    expect(validateServiceConfig(config)).toEqual([expect.stringMatching(/^service: its worst case is [\d,]+ execution history events .* or fewer hooks$/)]);
  });
});
