/**
 * The benchmark's polling baseline (bench/polling.ts): derived from the real definition so it cannot drift
 * from it. Only the bake changes; the loop checks the alarms every N seconds and runs on the local runner.
 */
import aslValidator from 'asl-validator';
import { describe, expect, it } from 'vitest';
import { CHECK_ALARMS_RESOURCE, findBake, pollingStateNames, pollingStatesPerBake, pollingVariant } from '../../bench/polling';
import { canary } from '../../functions/core/plan';
import { LocalStepFunctions, type LocalFunction } from '../../infra/local/sfn';
import { functionOfPlaceholder, placeholders, readRolloutDefinition } from '../../state-machines/definition';

type States = Record<string, Record<string, unknown>>;
const original = readRolloutDefinition();
const statesOf = (text: string): States => (JSON.parse(text) as { States: States }).States;

/** Every function the definition names, as a stub: steady at once, alarms quiet unless `alarmAfterChecks`. */
function stubs(options: { alarmAfterChecks?: number } = {}) {
  let checks = 0;
  const fns: Record<string, LocalFunction> = {};
  for (const p of placeholders(original)) fns[functionOfPlaceholder(p)] = async () => ({ decision: 'stub' });
  fns['check-steady'] = async () => ({ status: 'STEADY', decision: 'stub' });
  fns['check-alarms'] = async () => {
    checks += 1;
    if (options.alarmAfterChecks !== undefined && checks > options.alarmAfterChecks) {
      throw Object.assign(new Error('alarm checkout-5xx in ALARM'), { name: 'AlarmFired' });
    }
    return { decision: 'stub' };
  };
  return { fns, checks: () => checks };
}

/** Runs a plan through a definition on the local runner with stub functions; returns the states entered. */
async function run(definition: string, bakeSeconds: number) {
  const plan = canary([10, 100], bakeSeconds);
  return async (options: { alarmAfterChecks?: number } = {}) => {
    const { fns, checks } = stubs(options);
    const sfn = new LocalStepFunctions(fns, { definition, timeScale: 0.00001, retryMs: 0 });
    await sfn.start('stub', { rolloutId: 'stub', service: { name: 'checkout', plan, timings: { steadyPollSeconds: 1, rollbackWindowSeconds: 1 } } });
    const execution = await sfn.wait('stub');
    return { execution, checks: checks() };
  };
}

const count = (states: readonly string[], name: string) => states.filter((s) => s === name).length;

describe('the polling variant of the rollout definition', () => {
  it('finds the bake as the state bake steps go to, with its timeout exit and the alarm check', () => {
    // Act
    const shape = findBake(JSON.parse(original));

    // Assert
    const states = statesOf(original);
    expect(states[shape.bake]!.Resource).toMatch(/\.waitForTaskToken$/);
    expect(states[shape.check]!.Resource).toBe(CHECK_ALARMS_RESOURCE);
    expect(states[shape.next]).toBeDefined();
  });

  it.each([10, 60])('changes only the bake when polling every %i s; every other state is the original', (interval) => {
    // Act
    const variant = statesOf(pollingVariant(original, interval));

    // Assert
    const before = statesOf(original);
    const { bake, check } = findBake(JSON.parse(original));
    const names = pollingStateNames(bake, interval);
    for (const [name, state] of Object.entries(before)) if (name !== bake) expect(variant[name]).toEqual(state);
    expect(Object.keys(variant).sort()).toEqual([...Object.keys(before), ...Object.values(names)].filter((n, i, all) => all.indexOf(n) === i).sort());
    expect(variant[names.wait]).toEqual({ Type: 'Wait', Seconds: interval, Next: names.count });
    expect(variant[names.check]).toEqual({ ...before[check], Next: names.wait });
  });

  it('keeps the same placeholders and passes asl-validator', () => {
    // Act
    const variant = pollingVariant(original, 10);
    const result = aslValidator(JSON.parse(variant));

    // Assert
    // The bake function may drop out (no token to record); nothing else does, and nothing is added.
    expect(placeholders(original).filter((p) => !placeholders(variant).includes(p))).toEqual(placeholders(variant).includes('BakeFunctionArn') ? [] : ['BakeFunctionArn']);
    expect(placeholders(variant).every((p) => placeholders(original).includes(p))).toBe(true);
    expect(result.errorsText('\n')).toBe('');
    expect(result.isValid).toBe(true);
  });

  it.each([
    [300, 10, 30],
    [300, 60, 5],
    [25, 10, 3],
  ])('a %i s bake polled every %i s waits %i times and checks the alarms once per wait', async (bake, interval, polls) => {
    // Arrange
    const variant = pollingVariant(original, interval);
    const eventDriven = await (await run(original, bake))();

    // Act
    const { execution } = await (await run(variant, bake))();

    // Assert
    const names = pollingStateNames(findBake(JSON.parse(original)).bake, interval);
    expect(execution.status).toBe('SUCCEEDED');
    expect(count(execution.states, names.wait)).toBe(polls);
    expect(count(execution.states, names.check)).toBe(polls - 1);
    // One check after the loop, as after an event-driven bake: the same checks outside the bake.
    expect(count(execution.states, 'Check alarms')).toBe(count(eventDriven.execution.states, 'Check alarms'));
    expect(execution.states.length - eventDriven.execution.states.length).toBe(pollingStatesPerBake(bake, interval) - 1);
  });

  it('rolls back at the first poll that sees an alarm', async () => {
    // Arrange: the checks before the bake pass; the 4th check (the 2nd poll) sees the alarm.
    const { execution } = await (await run(pollingVariant(original, 10), 300))({ alarmAfterChecks: 3 });

    // Assert
    const names = pollingStateNames(findBake(JSON.parse(original)).bake, 10);
    expect(execution.status).toBe('FAILED');
    expect(execution.endState).toBe('Rolled back');
    expect(count(execution.states, names.wait)).toBe(2);
  });

  it.each([
    [
      'no bake step target',
      (d: { States: States }) => {
        for (const s of Object.values(d.States)) if (s.Type === 'Choice') s.Choices = (s.Choices as Array<{ StringEquals?: string }>).filter((c) => c.StringEquals !== 'bake');
      },
      /one state that bake steps go to/,
    ],
    [
      'a bake without a timeout exit',
      (d: { States: States }) => {
        const { bake } = findBake(d as never);
        d.States[bake]!.Catch = [];
      },
      /States.Timeout/,
    ],
    [
      'no alarm check',
      (d: { States: States }) => {
        const { check } = findBake(d as never);
        d.States[check]!.Resource = '${OtherFunctionArn}';
      },
      /CheckAlarmsFunctionArn/,
    ],
  ])('refuses a definition with %s instead of guessing', (_what, breakIt, message) => {
    // Arrange
    const definition = JSON.parse(original) as { States: States };
    breakIt(definition);

    // Act / Assert
    expect(() => pollingVariant(JSON.stringify(definition), 10)).toThrow(message);
  });

  it.each([0, 2.5, -10])('refuses a polling interval of %s s', (interval) => {
    expect(() => pollingVariant(original, interval)).toThrow(/intervalSeconds/);
  });
});
