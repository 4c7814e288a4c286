/**
 * Prices and the history limit: what a rollout costs on AWS at public on-demand prices, and how close a
 * long bake or manual gate comes to a Standard execution's 25,000-event history limit.
 */
import { pollingStatesPerBake } from './polling';

/** Public on-demand prices, US East (N. Virginia), as published on the pages named in `sources`. */
export const PRICES = {
  /** Step Functions Standard workflows: $0.025 per 1,000 state transitions (beyond the free tier). */
  stepFunctionsPerTransition: 0.025 / 1000,
  /** Lambda requests: $0.20 per 1M requests. */
  lambdaPerRequest: 0.2 / 1_000_000,
  /** Lambda duration on Arm (arm64), first pricing tier: $0.0000133334 per GB-second. */
  lambdaArmPerGbSecond: 0.0000133334,
  sources: {
    stepFunctions: 'https://aws.amazon.com/step-functions/pricing/',
    lambda: 'https://aws.amazon.com/lambda/pricing/',
  },
  region: 'us-east-1',
  note: 'On-demand list prices before free tiers; state transitions include retries. Lambda duration is billed per 1 ms.',
} as const;

/** Step Functions Standard: an execution fails once its history reaches 25,000 events. */
export const HISTORY_LIMIT = 25_000;
export const HISTORY_LIMIT_SOURCE = 'https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html';

export interface CostInput {
  readonly transitions: number;
  readonly invocations: number;
  readonly gbSeconds: number;
}

export interface Cost {
  readonly stepFunctionsUsd: number;
  readonly lambdaRequestsUsd: number;
  readonly lambdaDurationUsd: number;
  readonly totalUsd: number;
}

/** What a rollout with these counts costs at {@link PRICES}. */
export function price(input: CostInput): Cost {
  const stepFunctionsUsd = input.transitions * PRICES.stepFunctionsPerTransition;
  const lambdaRequestsUsd = input.invocations * PRICES.lambdaPerRequest;
  const lambdaDurationUsd = input.gbSeconds * PRICES.lambdaArmPerGbSecond;
  return { stepFunctionsUsd, lambdaRequestsUsd, lambdaDurationUsd, totalUsd: stepFunctionsUsd + lambdaRequestsUsd + lambdaDurationUsd };
}

/**
 * History events of one bake in the polling variant, with the event counts of `historyEvents` (harness.ts):
 * the loop's first Pass (2), per poll a Wait, a Pass and a Choice (2 each), and a Lambda Task for every poll
 * but the last (5; the last poll leaves through the definition's own check).
 */
export function pollingBakeHistoryEvents(bakeSeconds: number, intervalSeconds: number): number {
  const polls = Math.ceil(bakeSeconds / intervalSeconds);
  return 2 + polls * 6 + (polls - 1) * 5;
}

/** History events of one event-driven bake: one `.waitForTaskToken` Task, whatever its length. */
export const EVENT_BAKE_HISTORY_EVENTS = 6;

export interface GateEstimate {
  readonly variant: string;
  readonly bakeSeconds: number;
  readonly historyEvents: number;
  readonly transitions: number;
  /** historyEvents ÷ 25,000. */
  readonly shareOfLimit: number;
  readonly withinLimit: boolean;
  /** For a variant that exceeds the limit: how long into the gate the execution fails, hours. */
  readonly failsAfterHours?: number;
}

/**
 * Events and transitions of a rollout whose one bake lasts `gateSeconds`, for a polling variant: the
 * measured event-driven rollout with that bake (`base`), its token wait replaced by the polling loop.
 * `base.eventsBeforeGate` (history events written before the bake began) tells when the limit is reached.
 */
export function pollingGate(base: { readonly historyEvents: number; readonly transitions: number; readonly eventsBeforeGate: number }, gateSeconds: number, intervalSeconds: number): GateEstimate {
  const historyEvents = base.historyEvents - EVENT_BAKE_HISTORY_EVENTS + pollingBakeHistoryEvents(gateSeconds, intervalSeconds);
  const transitions = base.transitions - 1 + pollingStatesPerBake(gateSeconds, intervalSeconds);
  const withinLimit = historyEvents <= HISTORY_LIMIT;
  // Each poll writes a Wait, a Pass, a Choice (2 events each) and a Lambda Task (5).
  const pollsUntilLimit = Math.floor((HISTORY_LIMIT - base.eventsBeforeGate - 2) / 11);
  const failsAfterHours = withinLimit ? undefined : (pollsUntilLimit * intervalSeconds) / 3600;
  return { variant: `polling ${intervalSeconds}s`, bakeSeconds: gateSeconds, historyEvents, transitions, shareOfLimit: historyEvents / HISTORY_LIMIT, withinLimit, failsAfterHours };
}
