/**
 * Lifecycle hooks: user functions that run at named stages of a rollout, each on a task token.
 *
 * A hook is invoked by the hook function (functions/hook) with the rollout's context and the task token of
 * the waiting `Run hook` state. It answers at once (`{ status: 'SUCCEEDED' | 'FAILED' }`), asks to be
 * invoked again later (`{ status: 'IN_PROGRESS', delaySeconds }`), or answers nothing and calls back later
 * with the token (`completeHook(event, ok, reason)`): while it works the execution waits on the token and
 * writes no history. Every hook has a timeout; at the timeout its `onTimeout` action decides.
 *
 * This file is the pure part: the configuration, its validation, the event a hook gets, how an answer is
 * read, and the texts of the outcomes. No AWS imports.
 */
import { ErrorName } from './errors';

/**
 * The stages, in the order a rollout meets them:
 * - `afterSteady`: the new tasks are steady, before any traffic (production or test) reaches them;
 * - `afterTestTraffic`: right before the first production weight change, while the test cohort's rule
 *   still sends its traffic to the new slot (skipped when the service has no `testTraffic`);
 * - `beforeShift` / `afterShift`: around every weight change;
 * - `afterFullTraffic`: after the weight change that puts 100% on the new slot, before the rollout
 *   finalizes;
 * - `onRollback`: after a rollback has put the traffic back (a migration can be reverted). A failure here
 *   is recorded; it does not roll back again.
 */
export const HOOK_STAGES = ['afterSteady', 'afterTestTraffic', 'beforeShift', 'afterShift', 'afterFullTraffic', 'onRollback'] as const;
export type HookStage = (typeof HOOK_STAGES)[number];

export const HOOK_TIMEOUT_ACTIONS = ['rollback', 'continue'] as const;
/** At a hook's timeout: `rollback` (the default) or `continue` as if it had succeeded (recorded as timed out). */
export type HookTimeoutAction = (typeof HOOK_TIMEOUT_ACTIONS)[number];

/** The hooks of one stage, as the functions receive them (defaults applied). */
export interface HookSpec {
  /** Lambda function ARNs (or names), run one after the other in this order. */
  readonly functions: readonly string[];
  /** How long each function may take, from its first invocation to its answer, in seconds. @default 600 */
  readonly timeoutSeconds: number;
  /** @default 'rollback' */
  readonly onTimeout: HookTimeoutAction;
}

/** A service's hooks by stage (the input form may leave out timeoutSeconds and onTimeout). */
export type HooksConfig = Partial<Record<HookStage, HookSpec>>;
export type HookSpecInput = Pick<HookSpec, 'functions'> & Partial<Omit<HookSpec, 'functions'>>;
export type HooksConfigInput = Partial<Record<HookStage, HookSpecInput>>;

export const DEFAULT_HOOK_TIMEOUT_SECONDS = 600;
/** A day: a hook is a check or a migration, not a manual gate (use a `pause` step for that). */
export const MAX_HOOK_TIMEOUT_SECONDS = 86_400;
/** Functions per stage. */
export const MAX_HOOKS_PER_STAGE = 5;
/**
 * How often one hook function may answer "still working" before it counts as timed out: each answer costs
 * the execution one Wait and one invocation more (see `history-budget.ts`), so the loop is bounded.
 */
export const MAX_HOOK_ROUNDS = 20;
/** The shortest and longest delay a "still working" answer may ask for. */
export const MIN_HOOK_DELAY_SECONDS = 1;
export const MAX_HOOK_DELAY_SECONDS = 3600;

/** The messages of {@link validateHooks}, after the path. */
export const HookMessage = {
  NOT_OBJECT: 'must be an object of stage → hooks',
  STAGE: `is not a stage: use one of ${HOOK_STAGES.join(', ')}`,
  FUNCTIONS: `must list 1 to ${MAX_HOOKS_PER_STAGE} Lambda function ARNs or names`,
  TIMEOUT: `must be a whole number of seconds from 1 to ${MAX_HOOK_TIMEOUT_SECONDS}`,
  ON_TIMEOUT: `must be one of ${HOOK_TIMEOUT_ACTIONS.join(', ')}`,
} as const;

/** Lambda accepts a name, a partial ARN or an ARN, 1-140 characters (qualifier included). */
const FUNCTION_REF = /^(arn:aws[a-z-]*:\S{1,200}|[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9$_-]+)?)$/;

/** Applies the defaults of every stage. */
export function hooksWithDefaults(input: HooksConfigInput): HooksConfig {
  return Object.fromEntries(Object.entries(input).map(([stage, spec]) => [stage, { timeoutSeconds: DEFAULT_HOOK_TIMEOUT_SECONDS, onTimeout: 'rollback', ...spec }])) as HooksConfig;
}

/** Every problem of a hooks configuration (defaults applied), each with its path. */
export function validateHooks(hooks: unknown, path: string): string[] {
  if (typeof hooks !== 'object' || hooks === null || Array.isArray(hooks)) return [`${path}: ${HookMessage.NOT_OBJECT}`];
  const problems: string[] = [];
  for (const [stage, spec] of Object.entries(hooks)) {
    const at = `${path}.${stage}`;
    if (!(HOOK_STAGES as readonly string[]).includes(stage)) {
      problems.push(`${at}: ${HookMessage.STAGE}`);
      continue;
    }
    const s = spec as Record<string, unknown> | null;
    if (typeof s !== 'object' || s === null) {
      problems.push(`${at}: ${HookMessage.NOT_OBJECT}`);
      continue;
    }
    const fns = s.functions;
    if (!Array.isArray(fns) || fns.length < 1 || fns.length > MAX_HOOKS_PER_STAGE) problems.push(`${at}.functions: ${HookMessage.FUNCTIONS}`);
    else
      fns.forEach((f, i) => {
        if (typeof f !== 'string' || !FUNCTION_REF.test(f)) problems.push(`${at}.functions[${i}]: ${HookMessage.FUNCTIONS}`);
      });
    const t = s.timeoutSeconds;
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 1 || t > MAX_HOOK_TIMEOUT_SECONDS) problems.push(`${at}.timeoutSeconds: ${HookMessage.TIMEOUT}`);
    if (!(HOOK_TIMEOUT_ACTIONS as readonly unknown[]).includes(s.onTimeout)) problems.push(`${at}.onTimeout: ${HookMessage.ON_TIMEOUT}`);
  }
  return problems;
}

/**
 * The hook loop's cursor in the execution state (`$.hook`), set by the state machine: which stage, which of
 * its functions, and (`result`) what the last round of that function said.
 */
export interface HookCursor {
  readonly stage: HookStage;
  readonly index: number;
  readonly total: number;
  readonly timeoutSeconds: number;
  readonly onTimeout: HookTimeoutAction;
  /** The Task's output or caught error; `remainingSeconds` is the next round's timeout. */
  readonly result?: HookRoundResult & { readonly Error?: string; readonly Cause?: string; readonly ok?: boolean; readonly reason?: string };
  readonly decision?: string;
}

/** What the hook function answers for a round that is still working (the next round reads it). */
export interface HookRoundResult {
  /** Seconds the next `Run hook` may wait for its token: the time left before the hook's deadline. */
  readonly remainingSeconds: number;
  /** Present after a "still working" answer: the state machine waits this long, then invokes again. */
  readonly delaySeconds?: number;
  /** When the hook's time runs out (ISO), from its first invocation. */
  readonly deadline?: string;
  /** "Still working" answers so far. */
  readonly rounds?: number;
}

/**
 * What a hook function receives (its Lambda event). Stable: hook authors depend on it.
 * @example
 * export const handler = async (event: HookEvent) => {
 *   const res = await fetch(url, { headers: event.testTraffic ? { [event.testTraffic.header]: event.testTraffic.value } : {} });
 *   return { status: res.ok ? 'SUCCEEDED' : 'FAILED', reason: `GET / answered ${res.status}` };
 * };
 */
export interface HookEvent {
  /** `cutover.hook/v1`: the shape of this event. */
  readonly kind: 'cutover.hook/v1';
  readonly stage: HookStage;
  readonly service: string;
  readonly rolloutId: string;
  /** The listener weights the stage sees (before a shift: the current ones; after: the new ones). */
  readonly weights?: { readonly blue: number; readonly green: number };
  /** The weight the new slot gets at this step (beforeShift / afterShift / afterFullTraffic). */
  readonly targetWeight?: number;
  /** The slot the new revision runs in, and the retained one. */
  readonly newSlot?: 'blue' | 'green';
  readonly oldSlot?: 'blue' | 'green';
  readonly oldRevision?: string;
  readonly newRevision?: string;
  /** The image rolled out: `repository@sha256:…`. */
  readonly image: { readonly uri: string; readonly digest: string; readonly tag?: string };
  /** The test cohort's header (when the service has `testTraffic`): send it to reach the new slot only. */
  readonly testTraffic?: { readonly header: string; readonly value: string };
  /** Why the rollout is rolling back (onRollback only). */
  readonly rollbackReason?: string;
  /** 1 for the first invocation, then one more after each "still working" answer. */
  readonly attempt: number;
  /** When the hook's time runs out (ISO): answer or call back before then. */
  readonly deadline: string;
  /** Give it to `completeHook` (or to SendTaskSuccess / SendTaskFailure) to answer later. */
  readonly taskToken: string;
}

/** What a hook may return at once. Anything else (or nothing) means: I will call back with the token. */
export type HookAnswer =
  | { readonly status: 'SUCCEEDED'; readonly reason?: string }
  | { readonly status: 'FAILED'; readonly reason?: string }
  | { readonly status: 'IN_PROGRESS'; readonly delaySeconds: number; readonly reason?: string }
  | { readonly status: 'PENDING'; readonly reason?: string };

/** What the token's output is when a hook succeeds through `completeHook` (or an answer). */
export interface HookSuccess {
  readonly ok: true;
  readonly reason?: string;
}

/** The error a failed hook fails its task with (through `completeHook`, an answer, or a function error). */
export const HOOK_FAILED = ErrorName.HookFailed;
/** A hook that ran out of time (its deadline, or too many "still working" answers). */
export const HOOK_TIMED_OUT = ErrorName.HookTimedOut;

/** Reads a hook's answer. Strings are accepted in any case; an unknown shape is `PENDING` (it will call back). */
export function readAnswer(value: unknown): HookAnswer {
  if (typeof value !== 'object' || value === null) return { status: 'PENDING' };
  const v = value as Record<string, unknown>;
  const status = typeof v.status === 'string' ? v.status.toUpperCase() : undefined;
  const reason = typeof v.reason === 'string' ? v.reason.slice(0, 1000) : undefined;
  const r = reason === undefined ? {} : { reason };
  if (status === 'SUCCEEDED' || status === 'SUCCESS' || v.ok === true) return { status: 'SUCCEEDED', ...r };
  if (status === 'FAILED' || status === 'FAILURE' || v.ok === false) return { status: 'FAILED', ...r };
  if (status === 'IN_PROGRESS') {
    const d = Number(v.delaySeconds);
    const delaySeconds = Number.isFinite(d) ? Math.min(MAX_HOOK_DELAY_SECONDS, Math.max(MIN_HOOK_DELAY_SECONDS, Math.ceil(d))) : 30;
    return { status: 'IN_PROGRESS', delaySeconds, ...r };
  }
  return { status: 'PENDING', ...r };
}

/** `afterSteady #1 (smoke-test)`: a hook as records and messages name it. */
export function hookLabel(stage: HookStage, index: number, fn: string): string {
  const name = fn.split(':function:').pop()?.split(':')[0] ?? fn;
  return `${stage} hook ${index + 1} (${name})`;
}

/**
 * The decision text of a finished hook round, from what the `Run hook` state ended with: a success (the
 * token's output), a caught error (timeout, failure), read with the stage's timeout action.
 */
export function outcomeText(cursor: HookCursor, fn: string): { outcome: 'succeeded' | 'timed out' | 'failed'; text: string } {
  const label = hookLabel(cursor.stage, cursor.index, fn);
  const r = cursor.result ?? { remainingSeconds: cursor.timeoutSeconds };
  if (typeof r.Error === 'string') {
    if (r.Error === 'States.Timeout' || r.Error === HOOK_TIMED_OUT) {
      const then = cursor.stage === 'onRollback' ? 'recorded; the rollback stands' : 'onTimeout continue: going on';
      return { outcome: 'timed out', text: `${label} timed out after ${cursor.timeoutSeconds} s (${then})` };
    }
    return { outcome: 'failed', text: `${label} failed: ${causeText(r.Cause) || r.Error} (recorded; the rollback stands)` };
  }
  const reason = typeof r.reason === 'string' && r.reason ? `: ${r.reason}` : '';
  return { outcome: 'succeeded', text: `${label} succeeded${reason}` };
}

/** A task failure's cause as people read it (Step Functions may wrap a Lambda error's JSON). */
export function causeText(cause: unknown): string {
  if (typeof cause !== 'string') return '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed?.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // plain text
  }
  return cause;
}

/**
 * When the hook's time runs out and how many "still working" answers it gave: a first round starts the
 * clock; a later round (after a "still working" answer) keeps it.
 */
export function roundOf(cursor: HookCursor, now: Date): { deadline: Date; rounds: number; first: boolean } {
  const r = cursor.result;
  if (r?.delaySeconds !== undefined && typeof r.deadline === 'string') return { deadline: new Date(r.deadline), rounds: r.rounds ?? 0, first: false };
  return { deadline: new Date(now.getTime() + cursor.timeoutSeconds * 1000), rounds: 0, first: true };
}

/**
 * The output for a "still working" answer: the delay (never past the deadline), and the next round's
 * timeout. Undefined when no round fits before the deadline or the rounds are used up: that is a timeout.
 */
export function stillWorking(delaySeconds: number, deadline: Date, rounds: number, now: Date): HookRoundResult | undefined {
  if (rounds + 1 > MAX_HOOK_ROUNDS) return undefined;
  const left = Math.floor((deadline.getTime() - now.getTime()) / 1000);
  const delay = Math.min(delaySeconds, left - 1);
  if (delay < MIN_HOOK_DELAY_SECONDS) return undefined;
  return { delaySeconds: delay, remainingSeconds: left - delay, deadline: deadline.toISOString(), rounds: rounds + 1 };
}
