/**
 * The canary plan, as data.
 *
 * A plan is a read-only list of steps, each exactly one kind:
 * - `setWeight`: send `weight`% of the traffic to the new slot (absolute, idempotent);
 * - `bake`: hold the current weight for `seconds` while the alarms are watched (an alarm aborts at once;
 *   `promote` ends it early).
 *
 * The state machine walks the steps with a Choice loop; alarms are checked on entering every step and after
 * every bake. A plan must end at weight 100.
 */

/** Send `weight`% of the traffic to the new revision's slot. */
export interface SetWeightStep {
  readonly kind: 'setWeight';
  /** Percent of the traffic on the new slot, 0..100. */
  readonly weight: number;
}

/** Hold the current weight for `seconds` while alarms are watched. */
export interface BakeStep {
  readonly kind: 'bake';
  /** Length of the bake, whole seconds, 1..MAX_BAKE_SECONDS. */
  readonly seconds: number;
}

/**
 * A manual gate: hold the current weight until an operator promotes (next step) or rolls back. Alarms are
 * still watched. After `timeoutSeconds` the gate takes `onTimeout`.
 */
export interface PauseStep {
  readonly kind: 'pause';
  /** Longest wait, whole seconds, 1..MAX_GATE_SECONDS. @default MAX_GATE_SECONDS (7 days) */
  readonly timeoutSeconds?: number;
  /** What happens when nobody answers in time. @default 'rollback' */
  readonly onTimeout?: 'promote' | 'rollback';
}

/** One step of a canary plan. */
export type PlanStep = SetWeightStep | BakeStep | PauseStep;

/** A canary plan: the steps in order. */
export interface CanaryPlan {
  readonly steps: readonly PlanStep[];
}

/**
 * Longest bake: 24 hours. Bakes wait on a task token whose timeout is the bake length; Node timers overflow
 * above 2^31-1 ms (about 24.8 days) and a bake that long is a manual gate, not a bake.
 */
export const MAX_BAKE_SECONDS = 86_400;

/**
 * Longest manual gate or operator pause: 7 days. Every wait needs a bounded timeout (Step Functions has no
 * "forever" for a task token, and Node timers overflow past 24.8 days in the local runtime).
 */
export const MAX_GATE_SECONDS = 604_800;

/** Most steps a plan may have (keeps the execution far below the 25,000-event history limit). */
export const MAX_STEPS = 50;

/** Builds a plan of weights with the same bake after each one but the last. */
export function canary(weights: readonly number[], bakeSeconds: number): CanaryPlan {
  const steps: PlanStep[] = [];
  weights.forEach((weight, i) => {
    steps.push({ kind: 'setWeight', weight });
    if (i < weights.length - 1 && bakeSeconds > 0) steps.push({ kind: 'bake', seconds: bakeSeconds });
  });
  return { steps };
}

/** Named plan presets, in the style of CodeDeploy's deployment configurations. */
export const CanaryPlan = {
  /** 10% → bake 5m → 25% → bake 5m → 50% → bake 5m → 100%. The default. */
  TEN_TWENTYFIVE_FIFTY_5M: canary([10, 25, 50, 100], 300),
  /** 10% → bake 5m → 100%. */
  TEN_PERCENT_5M: canary([10, 100], 300),
  /** 10% → bake 15m → 100%. */
  TEN_PERCENT_15M: canary([10, 100], 900),
  /** 20% more every minute: 20, 40, 60, 80, 100 with 1-minute bakes. */
  LINEAR_20_PERCENT_1M: canary([20, 40, 60, 80, 100], 60),
  /** All traffic at once (alarms still checked before finalizing). */
  ALL_AT_ONCE: canary([100], 0),
} as const satisfies Record<string, CanaryPlan>;

/** The plan used when a service names none. */
export const DEFAULT_PLAN: CanaryPlan = CanaryPlan.TEN_TWENTYFIVE_FIFTY_5M;

/** Validation messages, exported so tests and docs name the same text. */
export const PlanMessage = {
  NOT_OBJECT: 'must be an object with a steps array',
  NO_STEPS: 'must have at least one step',
  TOO_MANY_STEPS: `must have at most ${MAX_STEPS} steps`,
  STEP_NOT_OBJECT: 'must be an object',
  UNKNOWN_KIND: "kind must be 'setWeight', 'bake' or 'pause'",
  GATE_RANGE: `timeoutSeconds must be an integer from 1 to ${MAX_GATE_SECONDS}`,
  GATE_ACTION: "onTimeout must be 'promote' or 'rollback'",
  WEIGHT_RANGE: 'weight must be an integer from 0 to 100',
  WEIGHT_DECREASES: 'weight must not be lower than the previous weight',
  BAKE_RANGE: `seconds must be an integer from 1 to ${MAX_BAKE_SECONDS}`,
  BAKE_BEFORE_WEIGHT: 'a bake must follow a setWeight step',
  LAST_WEIGHT_NOT_100: 'the last setWeight step must be 100',
  UNKNOWN_FIELD: 'unknown field',
} as const;

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

/**
 * Validates a plan and returns **every** problem, each prefixed with its indexed path
 * (`steps[2].weight: weight must be ...`). An empty array means the plan is valid.
 *
 * Runs at synth (the construct) and at run time (the start and prepare functions).
 *
 * @example
 * validatePlan({ steps: [{ kind: 'setWeight', weight: 120 }] });
 * // ['steps[0].weight: weight must be an integer from 0 to 100', 'steps: the last setWeight step must be 100']
 */
export function validatePlan(plan: unknown, path = 'plan'): string[] {
  const problems: string[] = [];
  if (typeof plan !== 'object' || plan === null || !Array.isArray((plan as { steps?: unknown }).steps)) {
    return [`${path}: ${PlanMessage.NOT_OBJECT}`];
  }
  const steps = (plan as { steps: unknown[] }).steps;
  if (steps.length === 0) problems.push(`${path}.steps: ${PlanMessage.NO_STEPS}`);
  if (steps.length > MAX_STEPS) problems.push(`${path}.steps: ${PlanMessage.TOO_MANY_STEPS}`);
  let lastWeight: number | undefined;
  // Any setWeight step counts, even one with a bad weight: its own error says what is wrong with it.
  let sawWeight = false;
  steps.forEach((step, i) => {
    const at = `${path}.steps[${i}]`;
    if (typeof step !== 'object' || step === null) {
      problems.push(`${at}: ${PlanMessage.STEP_NOT_OBJECT}`);
      return;
    }
    const s = step as Record<string, unknown>;
    if (s.kind === 'setWeight') {
      sawWeight = true;
      for (const key of Object.keys(s)) if (key !== 'kind' && key !== 'weight') problems.push(`${at}.${key}: ${PlanMessage.UNKNOWN_FIELD}`);
      if (!isInt(s.weight) || s.weight < 0 || s.weight > 100) {
        problems.push(`${at}.weight: ${PlanMessage.WEIGHT_RANGE}`);
      } else {
        if (lastWeight !== undefined && s.weight < lastWeight) problems.push(`${at}.weight: ${PlanMessage.WEIGHT_DECREASES}`);
        lastWeight = s.weight;
      }
    } else if (s.kind === 'bake') {
      for (const key of Object.keys(s)) if (key !== 'kind' && key !== 'seconds') problems.push(`${at}.${key}: ${PlanMessage.UNKNOWN_FIELD}`);
      if (!isInt(s.seconds) || s.seconds < 1 || s.seconds > MAX_BAKE_SECONDS) problems.push(`${at}.seconds: ${PlanMessage.BAKE_RANGE}`);
      if (!sawWeight) problems.push(`${at}: ${PlanMessage.BAKE_BEFORE_WEIGHT}`);
    } else if (s.kind === 'pause') {
      for (const key of Object.keys(s)) if (!['kind', 'timeoutSeconds', 'onTimeout'].includes(key)) problems.push(`${at}.${key}: ${PlanMessage.UNKNOWN_FIELD}`);
      if (s.timeoutSeconds !== undefined && (!isInt(s.timeoutSeconds) || s.timeoutSeconds < 1 || s.timeoutSeconds > MAX_GATE_SECONDS)) problems.push(`${at}.timeoutSeconds: ${PlanMessage.GATE_RANGE}`);
      if (s.onTimeout !== undefined && s.onTimeout !== 'promote' && s.onTimeout !== 'rollback') problems.push(`${at}.onTimeout: ${PlanMessage.GATE_ACTION}`);
    } else {
      problems.push(`${at}.kind: ${PlanMessage.UNKNOWN_KIND}`);
    }
  });
  const weights = steps.filter((s): s is SetWeightStep => (s as PlanStep | null)?.kind === 'setWeight');
  const last = weights[weights.length - 1];
  if (steps.length > 0 && (last === undefined || last.weight !== 100)) problems.push(`${path}.steps: ${PlanMessage.LAST_WEIGHT_NOT_100}`);
  return problems;
}

/** Short text for a step, as the console and chat show it: "Shift 25% to green", "Bake 5m". */
export function describeStep(step: PlanStep, newSlot?: string): string {
  if (step.kind === 'setWeight') return `Shift ${step.weight}% to ${newSlot ?? 'the new slot'}`;
  if (step.kind === 'pause') return `Manual gate (up to ${formatDuration(step.timeoutSeconds ?? MAX_GATE_SECONDS)}, then ${step.onTimeout ?? 'rollback'})`;
  return `Bake ${formatDuration(step.seconds)}`;
}

/**
 * The plan as the state machine reads it: every optional field filled in (a gate's timeout and action), so
 * the definition's paths always resolve. Applied with the configuration's defaults.
 */
export function normalizePlan(plan: CanaryPlan): CanaryPlan {
  if (!Array.isArray(plan?.steps)) return plan; // invalid: left for validatePlan to report
  return {
    steps: plan.steps.map((step) => (step?.kind === 'pause' ? { kind: 'pause', timeoutSeconds: step.timeoutSeconds ?? MAX_GATE_SECONDS, onTimeout: step.onTimeout ?? 'rollback' } : step)),
  };
}

/** 300 → "5m", 90 → "1m30s", 3600 → "1h". */
export function formatDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return [h ? `${h}h` : '', m ? `${m}m` : '', s || (!h && !m) ? `${s}s` : ''].join('');
}
