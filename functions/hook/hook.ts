/**
 * Lifecycle hooks (see `core/hooks.ts`). Two calls, both from the state machine's hook loop:
 *
 * - `Run hook` (with a task token): record the token on the lock the way a bake does (so an alarm or a chat
 *   rollback fails it at once through the abort path), then invoke the user's function with the rollout's
 *   context and the token. Its answer ends the wait now (success, failure, or "still working": the state
 *   machine waits the delay, then calls again), or it answers nothing and calls back later with the token:
 *   the execution then waits on the token and writes no history while the hook works. The hook on the
 *   rollback stage runs after the lock is released: its token is not recorded (nothing aborts a rollback).
 * - `Hook done` (no token): record the outcome of the hook that just finished (the rollout's history record,
 *   Slack) and hand the loop its next cursor.
 */
import { abortError, HookTimedOutError, InvalidInputError, LockLostError, ErrorName, describeError } from '../core/errors';
import { hookLabel, HOOK_FAILED, HOOK_STAGES, HOOK_TIMED_OUT, outcomeText, readAnswer, roundOf, stillWorking, type HookCursor, type HookEvent, type HookSpec } from '../core/hooks';
import type { Clock, Executions, HistoryStore, HookInvoker, LockStore, Log, Notifier } from '../core/ports';
import type { RolloutState } from '../core/rollout';
import { slackText } from '../core/slack-text';

export interface HookDeps {
  readonly store: LockStore & HistoryStore;
  readonly executions: Pick<Executions, 'succeedTask' | 'failTask'>;
  readonly invoker: HookInvoker;
  readonly clock: Clock;
  readonly log: Log;
  /** Hook outcomes go to the rollout's thread. @default none */
  readonly notifier?: Notifier;
}

/** The execution state as the hook loop passes it: the rollout's, with the loop's cursor. */
export type HookState = RolloutState & {
  readonly hook?: HookCursor;
  readonly shift?: { readonly weights?: { readonly blue: number; readonly green: number } };
};

export interface HookInput {
  /** Present for `Run hook`; absent for `Hook done`. */
  readonly taskToken?: string;
  readonly state: HookState;
}

/** What `Hook done` hands the loop (`$.hook`): the next function of the stage, and what the last one did. */
export type HookDone = HookCursor & { readonly decision: string };

export async function hook(input: HookInput, deps: HookDeps): Promise<{ decision: string } | HookDone> {
  const { cursor, spec, fn } = current(input?.state);
  if (typeof input.taskToken === 'string' && input.taskToken !== '') return runHook(input.state, cursor, spec, fn, input.taskToken, deps);
  return hookDone(input.state, cursor, fn, deps);
}

/** The loop's cursor, its stage's configuration and the function to run, or InvalidInput naming what is wrong. */
function current(state: HookState | undefined): { cursor: HookCursor; spec: HookSpec; fn: string } {
  const cursor = state?.hook;
  if (!state || typeof state !== 'object' || !cursor || !(HOOK_STAGES as readonly string[]).includes(cursor.stage)) {
    throw new InvalidInputError('invalid hook input', ['state.hook.stage: must be a hook stage']);
  }
  const spec = state.service?.hooks?.[cursor.stage];
  const fn = spec?.functions[cursor.index];
  if (!spec || fn === undefined) throw new InvalidInputError('invalid hook input', [`service.hooks.${cursor.stage}.functions[${cursor.index}]: no such hook`]);
  return { cursor, spec, fn };
}

async function runHook(state: HookState, cursor: HookCursor, spec: HookSpec, fn: string, taskToken: string, deps: HookDeps): Promise<{ decision: string }> {
  const { service, rolloutId } = state;
  const label = hookLabel(cursor.stage, cursor.index, fn);
  const now = deps.clock.now();
  const { deadline, rounds } = roundOf(cursor, now);
  if (now.getTime() >= deadline.getTime()) throw new HookTimedOutError(`${label} did not finish within ${spec.timeoutSeconds} s`);
  if (cursor.stage !== 'onRollback') {
    const { recorded, lock } = await deps.store.recordTaskToken(service.name, rolloutId, taskToken, { kind: 'hook', since: now.toISOString(), until: deadline.toISOString() });
    if (!recorded) {
      // Aborted before the hook could start: the abort found no token to fail, so this wait fails now.
      if (lock?.abort && lock.rolloutId === rolloutId) throw abortError(lock.abort);
      throw new LockLostError(service.name, rolloutId, lock?.rolloutId);
    }
  }
  const event = hookEvent(state, cursor, fn, taskToken, rounds + 1, deadline);
  let answer: ReturnType<typeof readAnswer>;
  try {
    answer = readAnswer(await deps.invoker.invoke(fn, event));
  } catch (error) {
    const e = describeError(error);
    // Throttling or a 5xx of Lambda itself: the state machine retries the call (hooks must be idempotent).
    if (e.name === ErrorName.AwsTransient) throw error;
    answer = { status: 'FAILED', reason: `its function failed: ${e.message}` };
  }
  deps.log.info('hook answered', { rolloutId, service: service.name, stage: cursor.stage, fn, status: answer.status });
  switch (answer.status) {
    case 'SUCCEEDED':
      await deps.executions.succeedTask(taskToken, { ok: true, ...(answer.reason ? { reason: answer.reason } : {}) });
      return { decision: `${label} succeeded${answer.reason ? `: ${answer.reason}` : ''}` };
    case 'FAILED': {
      const cause = `${label} failed: ${answer.reason ?? 'no reason given'}`;
      await deps.executions.failTask(taskToken, HOOK_FAILED, cause);
      return { decision: cause };
    }
    case 'IN_PROGRESS': {
      const next = stillWorking(answer.delaySeconds, deadline, rounds, deps.clock.now());
      if (!next) {
        const cause = `${label} was still working at its deadline (${spec.timeoutSeconds} s, ${rounds + 1} rounds)`;
        await deps.executions.failTask(taskToken, HOOK_TIMED_OUT, cause);
        return { decision: cause };
      }
      await deps.executions.succeedTask(taskToken, { ...next, ...(answer.reason ? { reason: answer.reason } : {}) });
      return { decision: `${label} is still working${answer.reason ? ` (${answer.reason})` : ''}: asked again in ${next.delaySeconds} s` };
    }
    default:
      return { decision: `${label} is working: waiting for its callback until ${deadline.toISOString()}` };
  }
}

/** The event a hook function receives. */
export function hookEvent(state: HookState, cursor: HookCursor, fn: string, taskToken: string, attempt: number, deadline: Date): HookEvent & { readonly function: string } {
  const live = state.live;
  const step = state.cursor?.step;
  const shifted = state.shift?.weights;
  // Before a shift the weights are what the listener has now; after it, the new ones.
  const weights = shifted ?? live?.weights;
  const test = (state.service as { readonly testTraffic?: { readonly header?: { readonly name?: unknown; readonly values?: readonly unknown[] } } }).testTraffic?.header;
  const testValue = typeof test?.values?.[0] === 'string' ? test.values[0] : undefined;
  return {
    kind: 'cutover.hook/v1',
    function: fn,
    stage: cursor.stage,
    service: state.service.name,
    rolloutId: state.rolloutId,
    ...(weights ? { weights: { blue: weights.blue, green: weights.green } } : {}),
    ...(step?.kind === 'setWeight' && cursor.stage !== 'afterSteady' && cursor.stage !== 'onRollback' ? { targetWeight: step.weight } : {}),
    ...(live ? { newSlot: live.idleSlot, oldSlot: live.liveSlot, oldRevision: live.retainedTaskDefinitionArn } : {}),
    ...(state.revision ? { newRevision: state.revision.taskDefinitionArn } : {}),
    image: { uri: state.image.uri, digest: state.image.digest, ...(state.image.tag ? { tag: state.image.tag } : {}) },
    // A value with ALB wildcards is a pattern: a request needs a concrete value (`*` and `?` stand for anything).
    ...(typeof test?.name === 'string' && testValue !== undefined ? { testTraffic: { header: test.name, value: testValue.replace(/[*?]/g, 'x') } } : {}),
    ...(cursor.stage === 'onRollback' && state.error ? { rollbackReason: state.error.Cause ?? state.error.Error } : {}),
    attempt,
    deadline: deadline.toISOString(),
    taskToken,
  };
}

async function hookDone(state: HookState, cursor: HookCursor, fn: string, deps: HookDeps): Promise<HookDone> {
  const { text } = outcomeText(cursor, fn);
  const { service, rolloutId } = state;
  deps.log.info('hook finished', { rolloutId, service: service.name, stage: cursor.stage, fn, decision: text });
  // The rollout's history record keeps every hook's outcome (a record exists once Prepare has run).
  const startedAt = state.live?.startedAt;
  if (startedAt) {
    const record = (await deps.store.listHistory(service.name, 50)).find((h) => h.rolloutId === rolloutId && h.startedAt === startedAt);
    await deps.store.putHistory({ service: service.name, rolloutId, startedAt, hooks: [...(record?.hooks ?? []), text] });
  }
  // The hook's token is spent: status no longer shows a hook at work (the rollback stage holds no lock).
  if (cursor.stage !== 'onRollback') await deps.store.clearWait(service.name, rolloutId);
  await deps.notifier?.post(`*${service.name}* ${slackText(text)}`, state.live?.thread);
  return {
    stage: cursor.stage,
    index: cursor.index + 1,
    total: cursor.total,
    timeoutSeconds: cursor.timeoutSeconds,
    onTimeout: cursor.onTimeout,
    result: { remainingSeconds: cursor.timeoutSeconds },
    decision: text,
  };
}
