/** The worst case of a rollout's execution history, and the budget a configuration must keep. */
import { describe, expect, it } from 'vitest';
import { validateServiceConfig } from '../../functions/core/config';
import { HISTORY_BUDGET, RETRIES, worstCaseHistoryEvents } from '../../functions/core/history-budget';
import { canary, DEFAULT_PLAN, MAX_STEPS } from '../../functions/core/plan';
import { readRolloutDefinition } from '../../state-machines/definition';
import { StateName } from '../../state-machines/states';
import { serviceConfig } from '../fixtures/state';

type Task = { Retry?: Array<{ ErrorEquals: string[]; MaxAttempts?: number }> };
const states = (JSON.parse(readRolloutDefinition()) as { States: Record<string, Task & { Type: string }> }).States;
/** The most attempts after the first a state's Retry allows (Step Functions' default MaxAttempts is 3). */
const retriesOf = (name: string) => (states[name]!.Retry ?? []).reduce((sum, r) => sum + (r.MaxAttempts ?? 3), 0);

describe('the worst-case model', () => {
  it('uses the retries the definition allows', () => {
    const tasks = Object.entries(states)
      .filter(([, s]) => s.Type === 'Task')
      .map(([name]) => name);
    const modelled: Record<string, number> = {
      [StateName.PrepareRollout]: RETRIES.prepare,
      [StateName.WaitForTurn]: RETRIES.waitForTurn,
      [StateName.WaitForImageScan]: RETRIES.waitForImageScan,
      [StateName.ScaleDownOldSlot]: RETRIES.scaleDown,
      [StateName.RollBack]: RETRIES.rollback,
    };

    for (const name of tasks) expect(retriesOf(name), name).toBe(modelled[name] ?? RETRIES.task);
  });

  it('grows with every step and every steady check', () => {
    const base = worstCaseHistoryEvents(DEFAULT_PLAN, { steadyMaxChecks: 40 });

    expect(worstCaseHistoryEvents(DEFAULT_PLAN, { steadyMaxChecks: 41 })).toBeGreaterThan(base);
    expect(worstCaseHistoryEvents({ steps: [...DEFAULT_PLAN.steps, { kind: 'bake', seconds: 60 }] }, { steadyMaxChecks: 40 })).toBeGreaterThan(base);
  });

  it('keeps the defaults and the longest plan with the default checks well inside the budget', () => {
    const longest = canary(
      Array.from({ length: MAX_STEPS / 2 }, (_, i) => Math.round(((i + 1) * 100) / (MAX_STEPS / 2))),
      300,
    );

    expect(worstCaseHistoryEvents(DEFAULT_PLAN, { steadyMaxChecks: 40 })).toBeLessThan(HISTORY_BUDGET / 3);
    expect(worstCaseHistoryEvents(longest, { steadyMaxChecks: 40 })).toBeLessThan(HISTORY_BUDGET);
  });
});

describe('validation', () => {
  it('refuses a configuration whose worst case could come near the history limit, naming the budget', () => {
    const problems = validateServiceConfig(serviceConfig({ timings: { steadyMaxChecks: 1000 } }));

    expect(problems).toEqual([expect.stringMatching(/^service: its worst case is [\d,]+ execution history events \(7 steps, 1000 steady checks\), over the budget of 12,500/)]);
  });

  it('accepts the default timings', () => {
    expect(validateServiceConfig(serviceConfig())).toEqual([]);
  });
});
