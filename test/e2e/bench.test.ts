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
      bundles: { spawns: 1, functions: ['bake', 'alarm', 'rollback'], checkCdk: false },
      // A 1 s bake (local), the alarm 15% into it (seed 8): a busy machine cannot push the alarm past the bake's end.
      reaction: { trials: 1, timeScale: 0.01, bakeSeconds: 100, seed: 8 },
      rollouts: { eventRuns: 1, pollingRuns: 1, timeScale: 0.0005, warmup: 0 },
      gate: { hours: 24 },
      scale: { sizes: [2], timeScale: 0.001, budgetSeconds: 90 },
      chat: { spawns: 1 },
    });

    // Assert: reaction
    const reaction = results.reaction!.variants;
    expect(reaction.map((v) => v.variant)).toEqual(['event-driven', 'event-driven, two hops (before)', 'polling 10s']);
    expect(reaction.every((v) => v.allRolledBack)).toBe(true);
    expect(reaction[0]!.waitingSeconds.max).toBe(0);
    expect(reaction[1]!.waitingSeconds.max).toBe(0);
    // One hop: the alarm function alone, and two calls side by side (the abort, the listener read) before the listener write.
    expect(reaction[0]!.path).toMatchObject({ invocations: ['alarm'], calls: ['dynamodb:UpdateItem', 'elasticloadbalancing:DescribeListeners'], roundTrips: 1 });
    // Before: the alarm function, then the rollback function after the task's failure.
    expect(reaction[1]!.path.invocations).toEqual(['alarm', 'rollback']);
    expect(reaction[1]!.path.calls).toContain('states:SendTaskFailure');
    // The model adds up the cold imports of the same run's bundles.
    expect(results.reactionModel!.rows.map((r) => r.variant)).toEqual(['event-driven', 'event-driven, two hops (before)']);
    const [oneHop, twoHops] = results.reactionModel!.rows;
    expect(twoHops!.budget!.ms).toBeGreaterThan(oneHop!.budget!.ms);
    // Cost: the polling baseline enters more states for the same plan, and both rollouts succeeded.
    const [event, poll] = results.cost!.perRollout;
    expect(results.rollouts!.summaries.every((s) => s.allSucceeded)).toBe(true);
    expect(poll!.transitions).toBeGreaterThan(event!.transitions);
    expect(results.ratios['state transitions: polling 10s ÷ event-driven']).toBeCloseTo(poll!.transitions / event!.transitions);
    expect(results.gate!.modelCheck).toEqual([{ variant: 'polling 10s', predicted: poll!.historyEvents, measured: poll!.historyEvents }]);
    expect(results.gate!.rows[0]!.withinLimit).toBe(true);
    // Bundles: built, imported without error.
    const bake = results.bundles!.functions.find((fn) => fn.fn === 'bake')!;
    expect(bake.bundled.bytes).toBeGreaterThan(bake.sdkExternal.bytes);
    expect(bake.bundled.importError).toBeUndefined();
    expect(bake.sdkExternal.importError).toBeUndefined();
    // Scale: all complete, no lock violation, no listener left split.
    const round = results.scale!.rounds[0]!;
    expect(round).toMatchObject({ n: 2, allComplete: true, lockViolations: 0, splitListeners: 0, locksLeft: 0 });
    // Chat: status answered directly, the rollback acknowledged, and its deferred run restored the traffic and posted.
    expect(results.chat!.commands.map((c) => [c.path, c.allOk])).toEqual([
      ['direct', true],
      ['acknowledgement', true],
      ['deferred run', true],
    ]);
    // Every target is stated; the Markdown has every section.
    expect(results.targets.length).toBeGreaterThanOrEqual(6);
    for (const heading of ['Alarm → weights back', 'One rollout of the default plan', 'history limit', 'Bundles', 'N rollouts at once', "the chat function's cold path", 'Targets']) {
      expect(results.markdown).toContain(heading);
    }
  }, 180_000);
});
