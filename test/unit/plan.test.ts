import { describe, expect, it } from 'vitest';
import {
  CanaryPlan,
  DEFAULT_PLAN,
  MAX_BAKE_SECONDS,
  MAX_STEPS,
  PlanMessage,
  canary,
  describeStep,
  formatDuration,
  validatePlan,
  normalizePlan,
  MAX_GATE_SECONDS,
  type PlanStep,
} from '../../functions/core/plan';

const weight = (w: number): PlanStep => ({ kind: 'setWeight', weight: w });
const bake = (seconds: number): PlanStep => ({ kind: 'bake', seconds });
const plan = (...steps: unknown[]) => ({ steps });

describe('validatePlan', () => {
  it.each([
    ['a single step to 100%', plan(weight(100))],
    ['the default canary', plan(weight(10), bake(300), weight(25), bake(300), weight(50), bake(300), weight(100))],
    ['a bake after the final 100%', plan(weight(10), bake(60), weight(100), bake(600))],
    ['a weight of 0 first (deploy, then shift)', plan(weight(0), bake(60), weight(100))],
    ['the same weight twice (not lower than the previous one)', plan(weight(25), bake(60), weight(25), weight(100))],
    ['the shortest bake, 1 second', plan(weight(10), bake(1), weight(100))],
    [`the longest bake, ${MAX_BAKE_SECONDS} seconds`, plan(weight(10), bake(MAX_BAKE_SECONDS), weight(100))],
    ['a manual gate with no timeout (waits for promote)', plan(weight(10), { kind: 'pause' }, weight(100))],
    ['a manual gate that promotes itself after an hour', plan(weight(10), { kind: 'pause', timeoutSeconds: 3600, onTimeout: 'promote' }, weight(100))],
    [`exactly ${MAX_STEPS} steps`, plan(...Array.from({ length: MAX_STEPS - 1 }, () => weight(1)), weight(100))],
  ])('accepts %s', (_name, input) => {
    expect(validatePlan(input)).toEqual([]);
  });

  it.each([
    ['null', null, [`plan: ${PlanMessage.NOT_OBJECT}`]],
    ['a string', '10,25,100', [`plan: ${PlanMessage.NOT_OBJECT}`]],
    ['an object without steps', {}, [`plan: ${PlanMessage.NOT_OBJECT}`]],
    ['steps that are not an array', { steps: { 0: weight(100) } }, [`plan: ${PlanMessage.NOT_OBJECT}`]],
    ['no steps', plan(), [`plan.steps: ${PlanMessage.NO_STEPS}`]],
    [`${MAX_STEPS + 1} steps`, plan(...Array.from({ length: MAX_STEPS }, () => weight(1)), weight(100)), [`plan.steps: ${PlanMessage.TOO_MANY_STEPS}`]],
    ['a step that is not an object', plan(weight(10), null, weight(100)), [`plan.steps[1]: ${PlanMessage.STEP_NOT_OBJECT}`]],
    ['a step of an unknown kind', plan(weight(10), { kind: 'wait' }, weight(100)), [`plan.steps[1].kind: ${PlanMessage.UNKNOWN_KIND}`]],
    ['a gate with a timeout out of range', plan(weight(10), { kind: 'pause', timeoutSeconds: 0 }, weight(100)), [`plan.steps[1].timeoutSeconds: ${PlanMessage.GATE_RANGE}`]],
    ['a gate with an unknown timeout action', plan(weight(10), { kind: 'pause', onTimeout: 'shrug' }, weight(100)), [`plan.steps[1].onTimeout: ${PlanMessage.GATE_ACTION}`]],
    ['a gate with an unknown field', plan(weight(10), { kind: 'pause', seconds: 60 }, weight(100)), [`plan.steps[1].seconds: ${PlanMessage.UNKNOWN_FIELD}`]],
    ['a step without a kind', plan(weight(10), { weight: 50 }, weight(100)), [`plan.steps[1].kind: ${PlanMessage.UNKNOWN_KIND}`]],
    ['a weight above 100', plan(weight(10), weight(101), weight(100)), [`plan.steps[1].weight: ${PlanMessage.WEIGHT_RANGE}`]],
    ['a negative weight', plan(weight(-5), weight(100)), [`plan.steps[0].weight: ${PlanMessage.WEIGHT_RANGE}`]],
    ['a fractional weight', plan(weight(12.5), weight(100)), [`plan.steps[0].weight: ${PlanMessage.WEIGHT_RANGE}`]],
    ['a weight given as a string', plan({ kind: 'setWeight', weight: '50' }, weight(100)), [`plan.steps[0].weight: ${PlanMessage.WEIGHT_RANGE}`]],
    ['a weight lower than the one before', plan(weight(50), bake(60), weight(25), weight(100)), [`plan.steps[2].weight: ${PlanMessage.WEIGHT_DECREASES}`]],
    ['a bake of 0 seconds', plan(weight(10), bake(0), weight(100)), [`plan.steps[1].seconds: ${PlanMessage.BAKE_RANGE}`]],
    ['a bake longer than 24 hours', plan(weight(10), bake(MAX_BAKE_SECONDS + 1), weight(100)), [`plan.steps[1].seconds: ${PlanMessage.BAKE_RANGE}`]],
    ['a fractional bake', plan(weight(10), bake(1.5), weight(100)), [`plan.steps[1].seconds: ${PlanMessage.BAKE_RANGE}`]],
    ['a bake before any weight', plan(bake(60), weight(100)), [`plan.steps[0]: ${PlanMessage.BAKE_BEFORE_WEIGHT}`]],
    ['a last weight below 100', plan(weight(10), bake(60), weight(50)), [`plan.steps: ${PlanMessage.LAST_WEIGHT_NOT_100}`]],
    ['a plan of bakes only', plan(bake(60)), [`plan.steps[0]: ${PlanMessage.BAKE_BEFORE_WEIGHT}`, `plan.steps: ${PlanMessage.LAST_WEIGHT_NOT_100}`]],
    ['a setWeight step with a bake field', plan({ kind: 'setWeight', weight: 100, seconds: 60 }), [`plan.steps[0].seconds: ${PlanMessage.UNKNOWN_FIELD}`]],
    ['a bake step with a weight field', plan(weight(10), { kind: 'bake', seconds: 60, weight: 20 }, weight(100)), [`plan.steps[1].weight: ${PlanMessage.UNKNOWN_FIELD}`]],
  ])('refuses %s with an indexed path', (_name, input, expected) => {
    expect(validatePlan(input)).toEqual(expected);
  });

  it('returns every error at once, each with its indexed path', () => {
    const input = plan(weight(120), bake(0), { kind: 'wait' }, weight(30), bake(60), weight(20), { kind: 'setWeight', weight: 40, note: 'x' });

    const problems = validatePlan(input);

    expect(problems).toEqual([
      `plan.steps[0].weight: ${PlanMessage.WEIGHT_RANGE}`,
      `plan.steps[1].seconds: ${PlanMessage.BAKE_RANGE}`,
      `plan.steps[2].kind: ${PlanMessage.UNKNOWN_KIND}`,
      `plan.steps[5].weight: ${PlanMessage.WEIGHT_DECREASES}`,
      `plan.steps[6].note: ${PlanMessage.UNKNOWN_FIELD}`,
      `plan.steps: ${PlanMessage.LAST_WEIGHT_NOT_100}`,
    ]);
  });

  it('does not call a bake after an out-of-range weight a bake before any weight', () => {
    const problems = validatePlan(plan(weight(150), bake(60), weight(100)));

    expect(problems).toEqual([`plan.steps[0].weight: ${PlanMessage.WEIGHT_RANGE}`]);
  });

  it('prefixes every path with the path it is given', () => {
    const problems = validatePlan(plan(weight(10), bake(-1), weight(100)), 'services[3].plan');

    expect(problems).toEqual([`services[3].plan.steps[1].seconds: ${PlanMessage.BAKE_RANGE}`]);
  });
});

describe('CanaryPlan presets', () => {
  it.each(Object.entries(CanaryPlan))('%s is a valid plan that ends at 100%%', (_name, preset) => {
    const weights = preset.steps.filter((s) => s.kind === 'setWeight');

    expect(validatePlan(preset)).toEqual([]);
    expect(weights.at(-1)).toEqual({ kind: 'setWeight', weight: 100 });
  });

  it('uses 10%, 25%, 50% and 100% with 5-minute bakes by default', () => {
    expect(DEFAULT_PLAN).toBe(CanaryPlan.TEN_TWENTYFIVE_FIFTY_5M);
    expect(DEFAULT_PLAN.steps.map((s) => describeStep(s, 'green'))).toEqual(['Shift 10% to green', 'Bake 5m', 'Shift 25% to green', 'Bake 5m', 'Shift 50% to green', 'Bake 5m', 'Shift 100% to green']);
  });
});

describe('canary', () => {
  it('puts the same bake between two weights but not after the last', () => {
    expect(canary([20, 60, 100], 120)).toEqual({ steps: [weight(20), bake(120), weight(60), bake(120), weight(100)] });
  });

  it('leaves the bakes out when the bake is 0 seconds', () => {
    expect(canary([50, 100], 0)).toEqual({ steps: [weight(50), weight(100)] });
  });

  it('builds one step for a single weight', () => {
    expect(canary([100], 300)).toEqual({ steps: [weight(100)] });
  });
});

describe('describeStep', () => {
  it.each([
    ['Shift 25% to green', weight(25), 'green'],
    ['Shift 100% to blue', weight(100), 'blue'],
    ['Shift 10% to the new slot', weight(10), undefined],
    ['Bake 5m', bake(300), 'green'],
    ['Bake 1m30s', bake(90), undefined],
  ])('names the step "%s" for %j', (expected, step, slot) => {
    expect(describeStep(step, slot)).toBe(expected);
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [1, '1s'],
    [45, '45s'],
    [60, '1m'],
    [90, '1m30s'],
    [300, '5m'],
    [900, '15m'],
    [3600, '1h'],
    [3661, '1h1m1s'],
    [5400, '1h30m'],
    [86_400, '24h'],
  ])('formats %i seconds as %s', (seconds, expected) => {
    expect(formatDuration(seconds)).toBe(expected);
  });
});

describe('normalizePlan', () => {
  it("fills in a gate's timeout and timeout action, and leaves other steps as they are", () => {
    const normal = normalizePlan({ steps: [{ kind: 'setWeight', weight: 10 }, { kind: 'pause' }, { kind: 'pause', timeoutSeconds: 60, onTimeout: 'promote' }, { kind: 'setWeight', weight: 100 }] });

    expect(normal.steps).toEqual([
      { kind: 'setWeight', weight: 10 },
      { kind: 'pause', timeoutSeconds: MAX_GATE_SECONDS, onTimeout: 'rollback' },
      { kind: 'pause', timeoutSeconds: 60, onTimeout: 'promote' },
      { kind: 'setWeight', weight: 100 },
    ]);
  });

  it('leaves an invalid plan for validatePlan to report', () => {
    expect(normalizePlan({ steps: 'nope' } as never)).toEqual({ steps: 'nope' });
  });
});
