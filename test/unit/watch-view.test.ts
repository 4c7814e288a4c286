/**
 * `cutover status [--watch]`: the view (state → lines), its progress bar, and how a watch follows a rollout
 * to its end and picks its exit code.
 */
import { describe, expect, it } from 'vitest';
import { CanaryPlan } from '../../functions/core/plan';
import { changeKey, watch, watchStep, type RolloutStatus } from '../../functions/read/status';
import { bar, painter, position, renderStatus, stepMarks, wantsColor } from '../../functions/read/view';

const AT = '2026-11-24T10:20:00.000Z';
const ago = (seconds: number) => new Date(Date.parse(AT) - seconds * 1000).toISOString();
const inFuture = (seconds: number) => new Date(Date.parse(AT) + seconds * 1000).toISOString();
const ROLLOUT = 'checkout-4c3058d78972-20261124T101500Z';
const PLAN = CanaryPlan.TEN_TWENTYFIVE_FIFTY_5M.steps;

function status(overrides: Partial<RolloutStatus> = {}): RolloutStatus {
  return {
    service: 'checkout',
    at: AT,
    plan: PLAN,
    weights: { blue: 100, green: 0 },
    alarms: [
      { name: 'checkout-5xx', state: 'OK' },
      { name: 'checkout-latency-p99', state: 'OK' },
    ],
    recent: [],
    ...overrides,
  };
}

/** Mid-canary: the 25% bake (step 4 of 7), 2 of its 5 minutes gone. */
const baking = () =>
  status({
    weights: { blue: 75, green: 25 },
    active: { rolloutId: ROLLOUT, startedAt: ago(500), stepIndex: 3, newSlot: 'green', wait: { kind: 'bake', since: ago(120), until: inFuture(180) }, state: 'Bake' },
    decision: { state: 'Shift traffic', text: 'Shift 25% to green: blue 75 / green 25' },
    recent: [{ rolloutId: ROLLOUT, outcome: 'RUNNING', startedAt: ago(500) }],
  });

describe('bar', () => {
  it.each([
    [0, '', '········'],
    [0.5, '████', '····'],
    [1, '████████', ''],
    [0.53, '████▎', '···'],
    [1.7, '████████', ''],
    [-1, '', '········'],
    [Number.NaN, '', '········'],
  ])('bar(%s, 8) fills %j and leaves %j', (fraction, filled, empty) => {
    expect(bar(fraction, 8)).toEqual({ filled, empty });
  });
});

describe('stepMarks', () => {
  it.each([
    ['running at step 4', 3, 'running', ['done', 'done', 'done', 'current', 'pending', 'pending', 'pending']],
    ['succeeded', 7, 'succeeded', ['done', 'done', 'done', 'done', 'done', 'done', 'done']],
    ['rolled back in step 4', 3, 'failed', ['done', 'done', 'done', 'failed', 'pending', 'pending', 'pending']],
  ] as const)('%s', (_case, reached, outcome, marks) => {
    expect(stepMarks(7, reached, outcome)).toEqual(marks);
  });
});

describe('position across the plan', () => {
  it('counts the steps done and the share of the current bake that has passed', () => {
    expect(position(baking())).toBeCloseTo(3 + 120 / 300);
  });

  it('is 0 before the canary starts and N once it succeeded', () => {
    expect(position(status({ active: { rolloutId: ROLLOUT, startedAt: ago(5), state: 'Deploy to idle slot' } }))).toBe(0);
    expect(position(status({ ended: { rolloutId: ROLLOUT, outcome: 'SUCCEEDED', startedAt: ago(900), endedAt: AT } }))).toBe(7);
  });

  it('stops where a rollback stopped it', () => {
    expect(position(status({ ended: { rolloutId: ROLLOUT, outcome: 'ROLLED_BACK', startedAt: ago(900), endedAt: AT, stepIndex: 3 } }))).toBe(3);
  });

  it('does not advance during an operator pause', () => {
    const paused = baking();
    expect(position({ ...paused, active: { ...paused.active!, wait: { kind: 'hold', since: ago(60), until: inFuture(604_000) } } })).toBe(3);
  });
});

describe('renderStatus', () => {
  it('draws a rollout mid-bake: progress across the steps, time left, weights, alarms, last decision', () => {
    expect(renderStatus(baking(), { barWidth: 28 })).toEqual([
      `checkout  ● rolling out ${ROLLOUT}  (started 8m20s ago)`,
      'progress █████████████▋··············  step 4/7 Bake 5m: 3m left',
      'steps    ✔ 10%  ✔ bake 5m  ✔ 25%  ▶ bake 5m  · 50%  · bake 5m  · 100%',
      'weights  blue  75 █████████████████████▒▒▒▒▒▒▒  25 green (new)',
      'alarms   ✔ checkout-5xx OK   ✔ checkout-latency-p99 OK',
      'decision Shift traffic: Shift 25% to green: blue 75 / green 25',
    ]);
  });

  it('draws a finished rollout with a full bar and its result', () => {
    const done = status({
      weights: { blue: 0, green: 100 },
      ended: { rolloutId: ROLLOUT, outcome: 'SUCCEEDED', startedAt: ago(1000), endedAt: AT, liveSlot: 'green', reason: 'all steps passed with every watched alarm OK' },
    });

    const lines = renderStatus(done, { barWidth: 20 });

    expect(lines[0]).toBe(`checkout  ✔ SUCCEEDED  ${ROLLOUT} in 16m40s`);
    expect(lines[1]).toBe('progress ████████████████████  7/7 steps');
    expect(lines[2]).toBe('steps    ✔ 10%  ✔ bake 5m  ✔ 25%  ✔ bake 5m  ✔ 50%  ✔ bake 5m  ✔ 100%');
    expect(lines.at(-1)).toBe('result   all steps passed with every watched alarm OK');
  });

  it('draws a rollback: the bar stops at the failed step, which is marked, and the reason is shown', () => {
    const rolledBack = status({
      alarms: [
        { name: 'checkout-5xx', state: 'ALARM' },
        { name: 'checkout-latency-p99', state: 'OK' },
      ],
      ended: { rolloutId: ROLLOUT, outcome: 'ROLLED_BACK', startedAt: ago(400), endedAt: AT, stepIndex: 3, reason: 'AlarmFired: alarm checkout-5xx in ALARM' },
    });

    const lines = renderStatus(rolledBack, { barWidth: 14 });

    expect(lines[0]).toBe(`checkout  ✖ ROLLED_BACK  ${ROLLOUT} in 6m40s`);
    expect(lines[1]).toBe('progress ██████········  stopped at step 4/7');
    expect(lines[2]).toBe('steps    ✔ 10%  ✔ bake 5m  ✔ 25%  ✖ bake 5m  · 50%  · bake 5m  · 100%');
    expect(lines[4]).toBe('alarms   ✖ checkout-5xx ALARM   ✔ checkout-latency-p99 OK');
    expect(lines.at(-1)).toBe('result   AlarmFired: alarm checkout-5xx in ALARM');
  });

  it.each([
    ['deploying', { state: 'Check new tasks are steady', newSlot: 'green' as const }, 'deploying to green: waiting for the new tasks to be steady'],
    [
      'paused',
      { stepIndex: 2, newSlot: 'green' as const, wait: { kind: 'hold' as const, since: ago(30) }, pause: { by: '<@U1>', at: ago(40) } },
      'step 3/7 Shift 25% to green: paused by <@U1>, holding',
    ],
    ['aborting', { stepIndex: 1, abort: { error: 'AlarmFired', reason: 'alarm checkout-5xx in ALARM', at: ago(1) } }, 'aborting: alarm checkout-5xx in ALARM'],
    ['finalizing', { stepIndex: 7 }, 'all steps done: finalizing'],
  ])('says what the rollout is doing when %s', (_case, active, text) => {
    const lines = renderStatus(status({ active: { rolloutId: ROLLOUT, startedAt: ago(60), ...active } }), { barWidth: 10 });

    expect(lines[1]).toContain(text);
  });

  it('shows an idle service with its plan and last result', () => {
    const lines = renderStatus(status({ recent: [{ rolloutId: ROLLOUT, outcome: 'SUCCEEDED', startedAt: ago(900) }] }), { barWidth: 10 });

    expect(lines).toEqual([
      'checkout  idle, no rollout yet',
      'plan     10% → bake 5m → 25% → bake 5m → 50% → bake 5m → 100%',
      'weights  blue 100 ██████████   0 green',
      'alarms   ✔ checkout-5xx OK   ✔ checkout-latency-p99 OK',
      `last     ${ROLLOUT}: SUCCEEDED`,
    ]);
  });

  it('colours only when asked to', () => {
    expect(renderStatus(baking()).join('\n')).not.toContain('\x1b[');
    expect(renderStatus(baking(), { color: true }).join('\n')).toContain('\x1b[32m✔ checkout-5xx OK\x1b[0m');
    expect(painter(false)('red', 'x')).toBe('x');
  });

  it.each([
    [{ isTTY: true }, {}, true],
    [{ isTTY: true }, { NO_COLOR: '1' }, false],
    [{ isTTY: false }, {}, false],
    [{}, {}, false],
  ])('wantsColor(%j, %j) is %s', (stream, env, want) => {
    expect(wantsColor(stream, env)).toBe(want);
  });
});

describe('watchStep', () => {
  const running = (stepIndex: number) => status({ active: { rolloutId: ROLLOUT, startedAt: ago(60), stepIndex }, recent: [{ rolloutId: ROLLOUT, outcome: 'RUNNING', startedAt: ago(60) }] });
  const finished = (outcome: string) => status({ recent: [{ rolloutId: ROLLOUT, outcome, startedAt: ago(60), endedAt: AT }] });

  it('follows the rollout in progress', () => {
    expect(watchStep(undefined, running(2), false)).toMatchObject({ followed: { rolloutId: ROLLOUT, stepIndex: 2 }, done: false });
  });

  it.each([
    ['SUCCEEDED', 0],
    ['ROLLED_BACK', 1],
    ['FAILED', 1],
    ['REFUSED', 1],
  ])('ends with exit code for %s, keeping the step it last saw', (outcome, code) => {
    const step = watchStep({ rolloutId: ROLLOUT, stepIndex: 4 }, finished(outcome), false);

    expect(step).toMatchObject({ done: true, exitCode: code });
    expect(step.view.ended).toMatchObject({ rolloutId: ROLLOUT, outcome, stepIndex: 4 });
  });

  it('keeps going while the record of a rollout that just released its lock is not written yet', () => {
    expect(watchStep({ rolloutId: ROLLOUT }, status({ recent: [{ rolloutId: ROLLOUT, outcome: 'RUNNING', startedAt: ago(60) }] }), false).done).toBe(false);
  });

  it('ends with the followed rollout when a newer one takes the lock', () => {
    const next = status({
      active: { rolloutId: 'checkout-next', startedAt: AT },
      recent: [
        { rolloutId: 'checkout-next', outcome: 'RUNNING', startedAt: AT },
        { rolloutId: ROLLOUT, outcome: 'ROLLED_BACK', startedAt: ago(60) },
      ],
    });

    expect(watchStep({ rolloutId: ROLLOUT }, next, false)).toMatchObject({ done: true, exitCode: 1, view: { ended: { rolloutId: ROLLOUT } } });
  });

  it('ends at once with the last result when nothing is in progress', () => {
    expect(watchStep(undefined, finished('ROLLED_BACK'), false)).toMatchObject({ done: true, exitCode: 1 });
    expect(watchStep(undefined, finished('SUCCEEDED'), false)).toMatchObject({ done: true, exitCode: 0 });
    expect(watchStep(undefined, status(), false)).toMatchObject({ done: true, exitCode: 0 });
  });

  it('waits for a rollout to begin while allowed to', () => {
    expect(watchStep(undefined, finished('SUCCEEDED'), true).done).toBe(false);
  });
});

describe('watch', () => {
  /** A fake clock and sleep: each sleep advances the clock. */
  const clock = () => {
    let t = 0;
    return {
      now: () => t,
      sleep: async (ms: number) => {
        t += ms;
      },
    };
  };

  it('follows a rollout to its end and returns 0 when it succeeds, showing every read', async () => {
    const reads = [running(0), running(3), running(6), status({ recent: [{ rolloutId: ROLLOUT, outcome: 'SUCCEEDED', startedAt: ago(60), endedAt: AT }] })];
    const shown: Array<[RolloutStatus, boolean]> = [];

    const code = await watch({ read: async () => reads.shift()!, show: (s, final) => shown.push([s, final]), ...clock() });

    expect(code).toBe(0);
    expect(shown.map(([, final]) => final)).toEqual([false, false, false, true]);
    expect(shown.at(-1)![0].ended).toMatchObject({ outcome: 'SUCCEEDED', stepIndex: 6 });
  });

  it('returns 1 for a rollback', async () => {
    const reads = [running(3), status({ recent: [{ rolloutId: ROLLOUT, outcome: 'ROLLED_BACK', startedAt: ago(60), endedAt: AT }] })];

    expect(await watch({ read: async () => reads.shift()!, show: () => {}, ...clock() })).toBe(1);
  });

  it('gives up with 2 after its timeout', async () => {
    let reads = 0;

    const code = await watch({
      read: async () => {
        reads++;
        return running(1);
      },
      show: () => {},
      intervalMs: 1000,
      timeoutMs: 10_000,
      ...clock(),
    });

    expect(code).toBe(2);
    expect(reads).toBe(11); // t = 0, 1 s, …, 10 s
  });

  it('waits up to waitStartMs for a rollout to begin, then follows it', async () => {
    const reads = [status(), status(), running(0), status({ recent: [{ rolloutId: ROLLOUT, outcome: 'SUCCEEDED', startedAt: ago(60), endedAt: AT }] })];

    expect(await watch({ read: async () => reads.shift()!, show: () => {}, waitStartMs: 5000, ...clock() })).toBe(0);
    expect(reads).toEqual([]);
  });

  function running(stepIndex: number) {
    return status({ active: { rolloutId: ROLLOUT, startedAt: ago(60), stepIndex }, recent: [{ rolloutId: ROLLOUT, outcome: 'RUNNING', startedAt: ago(60) }] });
  }
});

describe('changeKey', () => {
  it('ignores the clock, so a countdown is not a new frame', () => {
    expect(changeKey(baking())).toBe(changeKey({ ...baking(), at: inFuture(30) }));
  });

  it('sees a new step, new weights or a new alarm state', () => {
    const b = baking();
    expect(changeKey({ ...b, active: { ...b.active!, stepIndex: 4 } })).not.toBe(changeKey(b));
    expect(changeKey({ ...b, weights: { blue: 50, green: 50 } })).not.toBe(changeKey(b));
    expect(changeKey({ ...b, alarms: [{ name: 'checkout-5xx', state: 'ALARM' }] })).not.toBe(changeKey(b));
  });
});
