/**
 * An execution's progress from its Step Functions history: the state it entered last and the newest
 * decision a state wrote. Pure, for the events `GetExecutionHistory` returns (newest first), so the CLI
 * reads it over AWS and the tests over fixtures.
 */
import { decisionOf, type ExecutionProgress } from './status';

/** The few fields of a Step Functions history event this reads (the SDK's `HistoryEvent` has them). */
export interface HistoryEventLike {
  readonly type?: string;
  readonly stateEnteredEventDetails?: { readonly name?: string };
  readonly stateExitedEventDetails?: { readonly name?: string; readonly output?: string };
}

const ENDED: Record<string, string> = {
  ExecutionSucceeded: 'SUCCEEDED',
  ExecutionFailed: 'FAILED',
  ExecutionTimedOut: 'TIMED_OUT',
  ExecutionAborted: 'ABORTED',
};

/** The progress from the newest history events (newest first). */
export function progressFromHistory(events: readonly HistoryEventLike[], keys: Readonly<Record<string, string>>): ExecutionProgress {
  let status = 'RUNNING';
  let state: string | undefined;
  let decision: ExecutionProgress['decision'];
  for (const e of events) {
    if (e.type && ENDED[e.type] && status === 'RUNNING' && !state) status = ENDED[e.type]!;
    if (!state && e.stateEnteredEventDetails?.name) state = e.stateEnteredEventDetails.name;
    const exited = e.stateExitedEventDetails;
    if (!decision && exited?.name && exited.output) {
      let output: unknown;
      try {
        output = JSON.parse(exited.output);
      } catch {
        output = undefined;
      }
      const text = decisionOf(exited.name, output, keys);
      if (text) decision = { state: exited.name, text };
    }
    if (state && decision) break;
  }
  return { status, state, decision };
}
