/**
 * The benchmark's arithmetic (bench/): percentiles, designed waits, history events, lock violations and the
 * history-limit estimate, on hand-made records.
 */
import { describe, expect, it } from 'vitest';
import { EVENT_BAKE_HISTORY_EVENTS, pollingBakeHistoryEvents, pollingGate, price } from '../../bench/cost';
import { designedWaits, historyEvents, overlapMs, transitions } from '../../bench/harness';
import { lockViolations } from '../../bench/scale';
import { median, percentile, summarize } from '../../bench/stats';
import type { LocalEvent } from '../../infra/local/sfn';

const ev = (type: string, state: string, stateType: string, at: number, error?: string): LocalEvent => ({ execution: 'x', type, state, stateType, at, error });

describe('benchmark statistics', () => {
  it.each([
    [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.95, 10],
    [[5, 1, 3], 0.5, 3],
    [Array.from({ length: 20 }, (_, i) => i + 1), 0.95, 19],
  ])('p-th percentile of %j at %s is the nearest-rank value %s', (values, q, expected) => {
    expect(percentile(values, q)).toBe(expected);
  });

  it('takes the mean of the two middle values as the median of an even count', () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(summarize([]).n).toBe(0);
  });
});

describe('designed waits', () => {
  const tokens = new Set(['Bake']);

  it('counts Wait states and bakes that ran to their timeout, not a bake an alarm ended', () => {
    // Arrange
    const events = [
      ev('StateEntered', 'Wait for new tasks', 'Wait', 0),
      ev('StateExited', 'Wait for new tasks', 'Wait', 10),
      ev('StateEntered', 'Bake', 'Task', 20),
      ev('StateFailed', 'Bake', 'Task', 320, 'States.Timeout'),
      ev('StateExited', 'Bake', 'Task', 321),
      ev('StateEntered', 'Bake', 'Task', 400),
      ev('StateFailed', 'Bake', 'Task', 450, 'AlarmFired'),
    ];

    // Act
    const waits = designedWaits(events, tokens);

    // Assert
    expect(waits).toEqual([
      { start: 0, end: 10 },
      { start: 20, end: 320 },
    ]);
    expect(overlapMs(waits, 5, 100)).toBe(5 + 80);
  });

  it('counts transitions and history events by state type, retries included', () => {
    const events = [
      ev('StateEntered', 'Prepare rollout', 'Task', 0),
      ev('StateRetried', 'Prepare rollout', 'Task', 1),
      ev('StateEntered', 'Bake', 'Task', 2),
      ev('StateEntered', 'Step done', 'Pass', 3),
      ev('StateEntered', 'Rolled back', 'Fail', 4),
    ];
    expect(transitions(events)).toBe(5);
    expect(historyEvents(events, tokens)).toBe(2 + 5 + 3 + 6 + 2 + 1);
  });
});

describe('lock violations', () => {
  const changing = (name: string, from: number, to: number) => ({
    name,
    events: [
      { ...ev('StateEntered', 'Register new revision', 'Task', from), execution: name },
      { ...ev('StateExited', 'Finalize rollout', 'Task', to), execution: name },
    ],
  });

  it('finds two executions changing one service at overlapping times', () => {
    expect(lockViolations('checkout', [changing('a', 0, 100), changing('b', 50, 150)])).toHaveLength(1);
  });

  it('accepts one after the other, and an execution that changed nothing', () => {
    expect(lockViolations('checkout', [changing('a', 0, 100), changing('b', 100, 150), { name: 'c', events: [] }])).toEqual([]);
  });
});

describe('cost and the history limit', () => {
  it('prices transitions at $0.025 per 1,000 and Lambda per request and GB-second', () => {
    const cost = price({ transitions: 1000, invocations: 1_000_000, gbSeconds: 1 });
    expect(cost.stepFunctionsUsd).toBeCloseTo(0.025);
    expect(cost.lambdaRequestsUsd).toBeCloseTo(0.2);
    expect(cost.lambdaDurationUsd).toBeCloseTo(0.0000133334);
  });

  it('estimates a 24 h bake polled every 10 s past the limit, every 60 s within it', () => {
    const base = { historyEvents: 112, transitions: 35, eventsBeforeGate: 60 };
    expect(pollingBakeHistoryEvents(300, 10)).toBe(2 + 30 * 6 + 29 * 5);
    const ten = pollingGate(base, 86_400, 10);
    const sixty = pollingGate(base, 86_400, 60);
    expect(ten.historyEvents).toBe(112 - EVENT_BAKE_HISTORY_EVENTS + pollingBakeHistoryEvents(86_400, 10));
    expect(ten.withinLimit).toBe(false);
    expect(ten.failsAfterHours).toBeCloseTo((Math.floor((25_000 - 60 - 2) / 11) * 10) / 3600);
    expect(sixty.withinLimit).toBe(true);
  });
});
