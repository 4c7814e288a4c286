/**
 * A modelled AWS reaction budget: from an alarm event reaching its function to the listener write that puts
 * the traffic back, built from what the local run measured (the functions on the path, the AWS calls one
 * after the other, each bundle's cold import) and public figures for what cannot be measured here.
 *
 * Left out, the same for every variant: CloudWatch's evaluation period and EventBridge's delivery. Left
 * out of the two-hop path, which makes its figure a lower bound: the Step Functions transition from the
 * failed task to the rollback state (Step Functions publishes no latency for it).
 */
import type { PathToWrite } from './harness';

/** The public figures the model uses, each with its source. */
export const AWS_FIGURES = {
  coldStartMs: {
    value: 100,
    source: 'https://aws.amazon.com/blogs/compute/operating-lambda-performance-optimization-part-1/',
    what: "Lambda's own part of a cold start (the environment and the runtime), at the low end of AWS's \"from under 100 ms to over 1 second\"; the bundle's import is measured and added",
  },
  callMs: {
    value: 10,
    source: 'https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Introduction.html',
    what: 'one AWS call: DynamoDB\'s documented "single-digit millisecond" latency, rounded up; assumed alike for the ELB and Step Functions calls, which publish no figure',
  },
} as const;

export interface ReactionBudget {
  /** Modelled milliseconds from the event reaching its function to the listener written. */
  readonly ms: number;
  /** How the figure adds up, for people. */
  readonly parts: string;
}

/**
 * The budget of one path: for each function on it a cold start (Lambda's part + the bundle's measured cold
 * import), and each AWS call one after the other, the listener write included. Undefined when a function's
 * import time is unknown.
 */
export function reactionBudget(path: Pick<PathToWrite, 'invocations' | 'roundTrips'>, importMs: Readonly<Record<string, number>>): ReactionBudget | undefined {
  const { coldStartMs, callMs } = AWS_FIGURES;
  const colds = path.invocations.map((fn) => ({ fn, ms: importMs[fn] }));
  if (colds.some((c) => c.ms === undefined || !Number.isFinite(c.ms))) return undefined;
  const calls = path.roundTrips + 1;
  const ms = colds.reduce((sum, c) => sum + coldStartMs.value + c.ms!, 0) + calls * callMs.value;
  const cold = colds.map((c) => `${c.fn} cold (${coldStartMs.value} + ${Math.round(c.ms!)} ms)`).join(' + ');
  return { ms: Math.round(ms), parts: `${cold || 'no cold start'} + ${calls} calls one after the other × ${callMs.value} ms` };
}
