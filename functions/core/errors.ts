/**
 * Typed errors of the rollout domain.
 *
 * Every error has a stable `name`. The state machine's `Retry` and `Catch` match these names, so the
 * constants in {@link ErrorName} are the single source: `state-machines/rollout.asl.json` uses the same
 * strings and a test checks that every name it uses is one of these.
 */

/** Stable error names, as matched by the state machine's `Retry` / `Catch`. */
export const ErrorName = {
  /** The input (event, execution input, configuration) is malformed. Nothing was changed. */
  InvalidInput: 'InvalidInput',
  /** The canary plan or service configuration breaks a validation rule. Nothing was changed. */
  InvalidConfig: 'InvalidConfig',
  /** Another rollout holds the service's lock. Nothing was changed. */
  RolloutBusy: 'RolloutBusy',
  /** A pre-flight check failed before any change (missing alarm, traffic split, unknown container...). */
  PreflightFailed: 'PreflightFailed',
  /** A watched CloudWatch alarm is in ALARM: the rollout must roll back. */
  AlarmFired: 'AlarmFired',
  /** The rollout was aborted from outside (alarm event, operator command): it must roll back. */
  RolloutAborted: 'RolloutAborted',
  /** The new revision's deployment failed (circuit breaker, tasks not starting). */
  DeploymentFailed: 'DeploymentFailed',
  /** Another rollout holds the lock; this one waits for its turn (queue / supersede). */
  RolloutQueued: 'RolloutQueued',
  /** The lock is free now: a waiting rollout goes to prepare at once. */
  TurnNow: 'TurnNow',
  /** A newer push for the same service replaced this waiting rollout. */
  Superseded: 'Superseded',
  /** The operator's pause was lifted before its hold began: go on at once. */
  PauseLifted: 'PauseLifted',
  /** A manual gate's timeout passed with nobody promoting it, and its action is rollback. */
  GateTimedOut: 'GateTimedOut',
  /** The new revision did not become steady within the allowed number of checks. */
  DeploymentTimedOut: 'DeploymentTimedOut',
  /**
   * The service's lock is no longer held by this rollout at its generation: it stops without touching the
   * service, which belongs to the next owner now.
   */
  LockLost: 'LockLost',
  /** A recovery of the service is under way or its lease has not run out: try again later (Lambda's async retry). */
  RecoveryPending: 'RecoveryPending',
  /**
   * A function invocation of the previous owner did not close its lease (it died, or failed after a write):
   * its write may still land, so the new owner writes nothing until that lease runs out. Try again then.
   */
  LeaseOpen: 'LeaseOpen',
  /** The image's scan has not completed yet: the push waits for it (no lock taken, nothing disturbed). */
  ScanPending: 'ScanPending',
  /** The scan completed while the wait for it was being set up: go to prepare now. */
  ScanDone: 'ScanDone',
  /** Throttling, a 5xx or a network failure from AWS: safe to retry. */
  AwsTransient: 'AwsTransient',
  /** An AWS resource the configuration names does not exist. */
  ResourceNotFound: 'ResourceNotFound',
  /** A lifecycle hook answered failure (or its function failed): roll back (on the rollback stage: recorded). */
  HookFailed: 'HookFailed',
  /** A lifecycle hook did not answer in time (or answered "still working" too often): its onTimeout decides. */
  HookTimedOut: 'HookTimedOut',
} as const;

export type ErrorName = (typeof ErrorName)[keyof typeof ErrorName];

/** Error names that the state machine retries with backoff. */
export const RETRYABLE_ERRORS: readonly ErrorName[] = [ErrorName.AwsTransient];

/** Error names that mean "abort the rollout and roll back". */
export const ABORT_ERRORS: readonly ErrorName[] = [ErrorName.AlarmFired, ErrorName.RolloutAborted];

/** Base class of every Cutover error: a stable name, a message for operators, optional context. */
export abstract class CutoverError extends Error {
  abstract override readonly name: ErrorName;
  readonly context: Record<string, unknown>;

  constructor(message: string, options: { cause?: unknown; context?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.context = options.context ?? {};
  }
}

/** The input is malformed: a clear message, nothing changed. */
export class InvalidInputError extends CutoverError {
  override readonly name = ErrorName.InvalidInput;
  /** Every problem found, each with an indexed path (`detail.image-digest`). */
  readonly problems: readonly string[];
  constructor(message: string, problems: readonly string[] = [], options?: { cause?: unknown }) {
    super(problems.length ? `${message}: ${problems.join('; ')}` : message, options);
    this.problems = problems;
  }
}

/** The configuration or plan is invalid: every problem found, each with its path. */
export class InvalidConfigError extends CutoverError {
  override readonly name = ErrorName.InvalidConfig;
  readonly problems: readonly string[];
  constructor(subject: string, problems: readonly string[]) {
    super(`${subject} is invalid: ${problems.join('; ')}`);
    this.problems = problems;
  }
}

/** Another rollout holds the service's lock. */
export class RolloutBusyError extends CutoverError {
  override readonly name = ErrorName.RolloutBusy;
  constructor(service: string, holder: string) {
    super(`service ${service} is busy: rollout ${holder} holds its lock`, { context: { service, holder } });
  }
}

/** One or more pre-flight checks failed; nothing was changed. */
export class PreflightFailedError extends CutoverError {
  override readonly name = ErrorName.PreflightFailed;
  readonly problems: readonly string[];
  constructor(service: string, problems: readonly string[]) {
    super(`pre-flight failed for ${service}: ${problems.join('; ')}`, { context: { service } });
    this.problems = problems;
  }
}

/** A watched alarm is in ALARM. */
export class AlarmFiredError extends CutoverError {
  override readonly name = ErrorName.AlarmFired;
  constructor(
    readonly alarms: readonly string[],
    reason?: string,
  ) {
    // Without alarm names (an abort the alarm path recorded) the reason already says which alarm fired.
    super(alarms.length === 0 && reason ? reason : `alarm ${alarms.join(', ')} in ALARM${reason ? `: ${reason}` : ''}`, { context: { alarms } });
  }
}

/** The rollout was aborted (by an alarm event or an operator) and must roll back. */
export class RolloutAbortedError extends CutoverError {
  override readonly name = ErrorName.RolloutAborted;
  constructor(reason: string) {
    super(`rollout aborted: ${reason}`);
  }
}

/** The new revision's deployment failed. */
export class DeploymentFailedError extends CutoverError {
  override readonly name = ErrorName.DeploymentFailed;
}

/** The new revision never became steady. */
export class DeploymentTimedOutError extends CutoverError {
  override readonly name = ErrorName.DeploymentTimedOut;
}

/** The lock is held by someone else now. */
export class LockLostError extends CutoverError {
  override readonly name = ErrorName.LockLost;
  constructor(service: string, rolloutId: string, holder: string | undefined) {
    super(`rollout ${rolloutId} no longer holds the lock of ${service}${holder ? ` (held by ${holder})` : ''}`);
  }
}

/** Another rollout holds the lock: wait for the turn instead of failing. */
export class RolloutQueuedError extends CutoverError {
  override readonly name = ErrorName.RolloutQueued;
  constructor(service: string, holder: string, policy: string) {
    super(`service ${service} is busy with ${holder}; waiting for its turn (concurrency: ${policy})`, { context: { service, holder } });
  }
}

/** A newer push replaced this one (or the image live now is newer): it does not roll out. */
export class SupersededError extends CutoverError {
  override readonly name = ErrorName.Superseded;
}

/** Another recovery holds the service, alive or not yet past its lease: the caller tries again later. */
export class RecoveryPendingError extends CutoverError {
  override readonly name = ErrorName.RecoveryPending;
}

/** A write of the previous owner may still land until `until`: nothing was changed; try again after it. */
export class LeaseOpenError extends CutoverError {
  override readonly name = ErrorName.LeaseOpen;
  constructor(
    readonly service: string,
    readonly until: string,
    readonly waitMs: number,
  ) {
    super(`a write of the previous owner of ${service} may still land for ${Math.ceil(waitMs / 1000)} s (until ${until}); nothing was changed, trying again after it`);
  }
}

/** The image's scan is still running: the push waits for its completion event. */
export class ScanPendingError extends CutoverError {
  override readonly name = ErrorName.ScanPending;
}

/** The scan completed before its wait began: go to prepare now. */
export class ScanDoneError extends CutoverError {
  override readonly name = ErrorName.ScanDone;
}

/** The lock was free after all: go to prepare now. */
export class TurnNowError extends CutoverError {
  override readonly name = ErrorName.TurnNow;
}

/** The pause was lifted (resume) before the hold could record its token. */
export class PauseLiftedError extends CutoverError {
  override readonly name = ErrorName.PauseLifted;
}

/** A transient AWS failure (throttling, 5xx, network): retried with backoff by the state machine. */
export class AwsTransientError extends CutoverError {
  override readonly name = ErrorName.AwsTransient;
}

/** An AWS resource named by the configuration does not exist. */
export class ResourceNotFoundError extends CutoverError {
  override readonly name = ErrorName.ResourceNotFound;
}

/** A lifecycle hook failed: its answer, its callback, or its function's error. */
export class HookFailedError extends CutoverError {
  override readonly name = ErrorName.HookFailed;
}

/** A lifecycle hook ran out of time. */
export class HookTimedOutError extends CutoverError {
  override readonly name = ErrorName.HookTimedOut;
}

/** Reads `{ name, message }` from anything thrown, for records and decisions. */
export function describeError(error: unknown): { name: string; message: string } {
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: 'Error', message: String(error) };
}

/** The error an abort recorded on the lock stands for. */
export function abortError(abort: { error: string; reason: string }): Error {
  if (abort.error === ErrorName.AlarmFired) return new AlarmFiredError([], abort.reason);
  if (abort.error === ErrorName.DeploymentFailed) return new DeploymentFailedError(abort.reason);
  return new RolloutAbortedError(abort.reason);
}
