/**
 * What a rollout measures, as data: the functions' results turned into metric points. Pure; the Lambda
 * adapter (`functions/aws/lambda.ts`) publishes them as CloudWatch EMF metrics in the `Cutover` namespace,
 * each with the dimension `service` (the service rolled out).
 */

/** The CloudWatch namespace of every Cutover metric (the functions' `POWERTOOLS_METRICS_NAMESPACE`). */
export const METRICS_NAMESPACE = 'Cutover';

/** Powertools' service name on every log line (the functions' `POWERTOOLS_SERVICE_NAME`). */
export const TELEMETRY_SERVICE = 'cutover';

/** The metric names, as the dashboard and alarms on them use them. */
export const RolloutMetric = {
  /** A rollout began (start function, one per service the push concerns). */
  STARTED: 'RolloutStarted',
  /** A rollout reached 100% and was finalized. */
  SUCCEEDED: 'RolloutSucceeded',
  /** A rollout was rolled back to the retained revision. */
  ROLLED_BACK: 'RolloutRolledBack',
  /** A rollout failed before it changed anything (its rollback had nothing to restore). */
  FAILED: 'RolloutFailed',
  /** From the abort being recorded (alarm event, operator) to the weights being back on the retained revision. */
  ROLLBACK_REACTION_MS: 'RollbackReactionMs',
  /** Time a weight was held: from the previous weight change to this one. */
  STEP_DURATION_MS: 'StepDurationMs',
} as const;

export type RolloutMetricName = (typeof RolloutMetric)[keyof typeof RolloutMetric];

/** One value of one metric for one service. */
export interface MetricPoint {
  readonly name: RolloutMetricName;
  readonly unit: 'Count' | 'Milliseconds';
  readonly value: number;
  /** The service rolled out: the metric's `service` dimension. */
  readonly service: string;
}

const count = (name: RolloutMetricName, service: string): MetricPoint => ({ name, unit: 'Count', value: 1, service });

/** Milliseconds from `from` to `to` (ISO times), or undefined when either is missing or the span is negative. */
export function elapsedMs(from: string | undefined, to: string | undefined): number | undefined {
  if (!from || !to) return undefined;
  const ms = Date.parse(to) - Date.parse(from);
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

/** Start: one `RolloutStarted` per execution started (a duplicate delivery starts nothing, counts nothing). */
export function startMetrics(result: { readonly started?: ReadonlyArray<{ readonly service: string }> } | undefined): MetricPoint[] {
  return (result?.started ?? []).map((s) => count(RolloutMetric.STARTED, s.service));
}

/** Finalize: `RolloutSucceeded`. */
export function finalizeMetrics(state: { readonly service: { readonly name: string } }): MetricPoint[] {
  return [count(RolloutMetric.SUCCEEDED, state.service.name)];
}

/**
 * Rollback: `RolloutRolledBack` (or `RolloutFailed` when nothing had changed yet), and `RollbackReactionMs`
 * when the rollback was caused by a recorded abort (`abortedAt`) and restored the weights (`restoredAt`).
 */
export function rollbackMetrics(
  state: { readonly service: { readonly name: string } },
  result: { readonly outcome: string; readonly abortedAt?: string; readonly restoredAt?: string },
): MetricPoint[] {
  const service = state.service.name;
  const points = [count(result.outcome === 'ROLLED_BACK' ? RolloutMetric.ROLLED_BACK : RolloutMetric.FAILED, service)];
  const reaction = elapsedMs(result.abortedAt, result.restoredAt);
  if (reaction !== undefined) points.push({ name: RolloutMetric.ROLLBACK_REACTION_MS, unit: 'Milliseconds', value: reaction, service });
  return points;
}

/**
 * Shift: `StepDurationMs`, the time since the previous weight change of this rollout (the previous shift's
 * result is still in the state at `$.shift`). The first shift of a rollout has no previous change: none.
 */
export function shiftMetrics(state: { readonly service: { readonly name: string }; readonly shift?: { readonly at?: string } }, result: { readonly at?: string }): MetricPoint[] {
  const ms = elapsedMs(state.shift?.at, result.at);
  return ms === undefined ? [] : [{ name: RolloutMetric.STEP_DURATION_MS, unit: 'Milliseconds', value: ms, service: state.service.name }];
}
