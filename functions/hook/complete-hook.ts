/**
 * For hook authors (`import { completeHook } from 'cutover/hooks'`): answer a lifecycle hook later, with
 * the task token its event carries. No aws-cdk-lib, nothing of the construct: `@aws-sdk/client-sfn` is loaded
 * when the first answer goes to Step Functions (Lambda's Node.js runtimes include it; it is an optional peer
 * dependency of the package, so a test that passes its own `responder` needs none).
 *
 * A hook may also answer at once by returning `{ status: 'SUCCEEDED' | 'FAILED', reason }`, or
 * `{ status: 'IN_PROGRESS', delaySeconds }` to be invoked again after the delay. Returning anything else
 * (or nothing) means it will call `completeHook` before its deadline (`event.deadline`).
 *
 * @example
 * import { completeHook, type HookEvent } from 'cutover/hooks';
 *
 * export const handler = async (event: HookEvent) => {
 *   await startMigration(event.newRevision, { onDone: (ok, why) => completeHook(event, ok, why) });
 *   return { status: 'PENDING' };
 * };
 */
import { HOOK_FAILED } from '../core/hooks';

export type { HookAnswer, HookEvent, HookStage } from '../core/hooks';

/** Where an answer goes: Step Functions by default; the local runtime passes its own (`runtime.sfn`). */
export interface HookResponder {
  succeedTask(taskToken: string, output: unknown): Promise<unknown>;
  failTask(taskToken: string, error: string, cause: string): Promise<unknown>;
}

/** What completeHook needs of an `SFNClient` (`@aws-sdk/client-sfn`): its `send`. */
export interface StepFunctionsSender {
  send(command: unknown): Promise<unknown>;
}

export interface CompleteHookOptions {
  /** @default Step Functions through an `SFNClient` of the function's Region */
  readonly responder?: HookResponder;
  /** The client the default responder uses (an `SFNClient`). @default new SFNClient({}) */
  readonly client?: StepFunctionsSender;
}

/** Step Functions caps a failure's cause at 32,768 characters. */
const MAX_CAUSE = 32_768;

/**
 * Ends the hook's wait: `ok` goes on with the rollout, not `ok` rolls it back (on the rollback stage the
 * failure is recorded). `reason` is shown in the execution, the rollout's history and Slack. A token that is
 * no longer waiting (the hook timed out, the rollout was aborted) is an error from Step Functions
 * (`TaskTimedOut`, `TaskDoesNotExist`): the rollout has moved on without this answer.
 * @example await completeHook(event, false, 'smoke test: GET /health answered 503');
 */
export async function completeHook(event: { readonly taskToken: string }, ok: boolean, reason?: string, options: CompleteHookOptions = {}): Promise<void> {
  if (typeof event?.taskToken !== 'string' || event.taskToken === '') throw new TypeError('completeHook: the event has no taskToken (pass the hook event Cutover invoked the function with)');
  const responder = options.responder ?? (await sfnResponder(options.client));
  if (ok) await responder.succeedTask(event.taskToken, { ok: true, ...(reason ? { reason } : {}) });
  else await responder.failTask(event.taskToken, HOOK_FAILED, (reason || 'the hook reported a failure').slice(0, MAX_CAUSE));
}

async function sfnResponder(given?: StepFunctionsSender): Promise<HookResponder> {
  const { SFNClient, SendTaskFailureCommand, SendTaskSuccessCommand } = await import('@aws-sdk/client-sfn');
  const client = given ?? new SFNClient({});
  return {
    succeedTask: (taskToken, output) => client.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) })),
    failTask: (taskToken, error, cause) => client.send(new SendTaskFailureCommand({ taskToken, error, cause })),
  };
}
