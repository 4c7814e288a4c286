/**
 * Smoke run of the benchmark (bench/): every part with tiny sizes, on moto. Asserts the shape of the results
 * and the invariants they report (rolled back, complete, no lock violation, nothing left split), never
 * timings: those are for `npm run bench`.
 */
import { describe, expect, it } from 'vitest';
import { runBench } from '../../bench/bench';

describe('the benchmark, smoke-sized', () => {
  it('measures every part side by side and reports invariants, ratios and targets', async () => {
    // Act
    const results = await runBench({
      command: 'smoke',
      pollIntervals: [10],
      bundles: { spawns: 1, functions: ['bake'], checkCdk: false },
      reaction: { trials: 1, timeScale: 0.01, bakeSeconds: 20 },
      rollouts: { eventRuns: 1, pollingRuns: 1, timeScale: 0.0005, warmup: 0 },
      gate: { hours: 24 },
      scale: { sizes: [2], timeScale: 0.001, budgetSeconds: 90 },
    });

    // Assert: reaction
    const reaction = results.reaction!.variants;
    expect(reaction.map((v) => v.variant)).toEqual(['event-driven', 'polling 10s']);
    expect(reaction.every((v) => v.allRolledBack)).toBe(true);
    expect(reaction[0]!.waitingSeconds.max).toBe(0);
    // Cost: the polling baseline enters more states for the same plan, and both rollouts succeeded.
    const [event, poll] = results.cost!.perRollout;
    expect(results.rollouts!.summaries.every((s) => s.allSucceeded)).toBe(true);
    expect(poll!.transitions).toBeGreaterThan(event!.transitions);
    expect(results.ratios['state transitions: polling 10s ÷ event-driven']).toBeCloseTo(poll!.transitions / event!.transitions);
    expect(results.gate!.modelCheck).toEqual([{ variant: 'polling 10s', predicted: poll!.historyEvents, measured: poll!.historyEvents }]);
    expect(results.gate!.rows[0]!.withinLimit).toBe(true);
    // Bundles: built, imported without error.
    const bake = results.bundles!.functions[0]!;
    expect(bake.bundled.bytes).toBeGreaterThan(bake.sdkExternal.bytes);
    expect(bake.bundled.importError).toBeUndefined();
    expect(bake.sdkExternal.importError).toBeUndefined();
    // Scale: all complete, no lock violation, no listener left split.
    const round = results.scale!.rounds[0]!;
    expect(round).toMatchObject({ n: 2, allComplete: true, lockViolations: 0, splitListeners: 0, locksLeft: 0 });
    // Every target is stated; the Markdown has every section.
    expect(results.targets.length).toBeGreaterThanOrEqual(6);
    for (const heading of ['Alarm → weights back', 'One rollout of the default plan', 'history limit', 'Bundles', 'N rollouts at once', 'Targets']) {
      expect(results.markdown).toContain(heading);
    }
  }, 180_000);
});
