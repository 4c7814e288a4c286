/**
 * Bake, manual gate, and operator pause: record the task token of the waiting state against the rollout,
 * so the alarm path (fail it), `promote` (succeed it) and `resume` (succeed a pause) end the wait at once.
 * A bake's length and a gate's timeout are the state's timeout: Step Functions raises States.Timeout.
 *
 * If the rollout was aborted before the token could be recorded, the wait fails at once instead of
 * starting: no alarm is lost in the gap between two states. Likewise a hold whose pause was lifted before
 * its token was recorded fails with PauseLifted, and the loop goes on: no resume is lost.
 */
import { InvalidInputError, LockLostError, PauseLiftedError, ScanDoneError, TurnNowError } from '../core/errors';
import type { Clock, Log, Registry, ScanWaitStore, WaitRecord, LockStore, QueueStore } from '../core/ports';
import { isScanPending } from '../core/scan';
import { describeStep, MAX_GATE_SECONDS } from '../core/plan';
import { pushTimeOf, type RolloutState } from '../core/rollout';
import { abortError } from '../core/errors';

export interface BakeDeps {
  readonly store: LockStore & QueueStore & ScanWaitStore;
  /** To look at the scan once its wait is recorded (`Wait for image scan`). */
  readonly registry: Pick<Registry, 'scanFindings'>;
  readonly clock: Clock;
  readonly log: Log;
}

export interface BakeInput {
  readonly taskToken: string;
  readonly state: RolloutState;
  /** `paused`: the operator's pause (the `Hold (paused)` state), not a plan step. */
  readonly hold?: 'paused';
  /** The `Wait for turn` state: this push waits for the service's lock. */
  readonly queue?: boolean;
  /** The `Wait for image scan` state: this push waits for its image's scan to complete. */
  readonly scan?: boolean;
}

/** The wait this invocation stands for, from the input alone. */
export function waitOf(input: BakeInput, now: Date): { wait: WaitRecord; text: string } {
  const since = now.toISOString();
  const at = (seconds: number) => new Date(now.getTime() + seconds * 1000).toISOString();
  if (input.hold === 'paused') {
    // Check alarms' result (`$.alarms`) says when Cutover itself holds: the rollback target cannot take the traffic back.
    const held = (input.state as { readonly alarms?: { readonly held?: unknown } }).alarms?.held;
    const text = typeof held === 'string' ? `held by Cutover: ${held}; holding the current weight until resume` : 'paused by an operator: holding the current weight until resume';
    return { wait: { kind: 'hold', since, until: at(MAX_GATE_SECONDS) }, text };
  }
  const step = input.state.cursor?.step;
  if (step?.kind === 'bake') return { wait: { kind: 'bake', since, until: at(step.seconds) }, text: `${describeStep(step)}: waiting; an alarm or an abort ends it at once` };
  if (step?.kind === 'pause') return { wait: { kind: 'gate', since, until: at(step.timeoutSeconds ?? MAX_GATE_SECONDS) }, text: `${describeStep(step)}: waiting for promote or rollback` };
  throw new InvalidInputError('invalid rollout state', ['cursor.step: must be a bake or pause step (or hold: paused)']);
}

export async function bake(input: BakeInput, deps: BakeDeps): Promise<{ decision: string }> {
  if (typeof input?.taskToken !== 'string' || input.taskToken === '' || typeof input.state !== 'object' || input.state === null) {
    throw new InvalidInputError('invalid bake input', ['taskToken and state are required']);
  }
  const { state, taskToken } = input;
  if (input.queue) return waitForTurn(state, taskToken, deps);
  if (input.scan) return waitForScan(state, taskToken, deps);
  const { wait, text } = waitOf(input, deps.clock.now());
  const { recorded, lock } = await deps.store.recordTaskToken(state.service.name, state.rolloutId, taskToken, wait);
  if (!recorded) {
    if (lock?.abort && lock.rolloutId === state.rolloutId) throw abortError(lock.abort);
    if (wait.kind === 'hold' && lock?.rolloutId === state.rolloutId && !lock.pause) throw new PauseLiftedError('resumed before the hold began; going on');
    throw new LockLostError(state.service.name, state.rolloutId, lock?.rolloutId);
  }
  deps.log.info('waiting on task token', { rolloutId: state.rolloutId, service: state.service.name, wait });
  return { decision: text };
}

/**
 * Queue this push for the service's lock. Recorded first, then the lock looked at: whoever releases the
 * lock after this point sees the entry and wakes it, and if the lock is free already, the wait ends now
 * (TurnNow). No wake-up is lost between the two.
 */
async function waitForTurn(state: RolloutState, taskToken: string, deps: BakeDeps): Promise<{ decision: string }> {
  // ECR's push time orders the queue (the event's time has one-second resolution).
  const pushedAt = pushTimeOf(state) ?? deps.clock.now().toISOString();
  await deps.store.enqueue({ service: state.service.name, rolloutId: state.rolloutId, pushedAt, digest: state.image.digest, image: state.image.uri, taskToken });
  const holder = await deps.store.getLock(state.service.name);
  if (!holder) throw new TurnNowError('the lock is free: going to prepare');
  deps.log.info('waiting for turn', { rolloutId: state.rolloutId, service: state.service.name, holder: holder.rolloutId });
  return { decision: `waiting for ${holder.rolloutId} to finish (concurrency: ${state.service.concurrency ?? 'supersede'})` };
}

/**
 * Wait for the image's scan. Recorded first, then the scan looked at: the scan-complete event that comes
 * after this point finds the wait and ends it, and if the scan completed already, the wait ends now
 * (ScanDone). No completion is lost between the two. The push holds nothing meanwhile.
 */
async function waitForScan(state: RolloutState, taskToken: string, deps: BakeDeps): Promise<{ decision: string }> {
  const { service, rolloutId, image } = state;
  await deps.store.putScanWait({ service: service.name, rolloutId, digest: image.digest, taskToken, since: deps.clock.now().toISOString() });
  const scan = await deps.registry.scanFindings(image.repository, image.digest);
  if (!isScanPending(scan.status)) {
    await deps.store.deleteScanWait(service.name, image.digest);
    throw new ScanDoneError(`the image scan is ${scan.status}: going to prepare`);
  }
  deps.log.info('waiting for the image scan', { rolloutId, service: service.name, digest: image.digest, status: scan.status });
  return { decision: `waiting for the image scan of ${image.digest.slice(0, 19)}… (${scan.status}); the rollout in flight is not disturbed meanwhile` };
}
