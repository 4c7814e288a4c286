/**
 * `cutover retry <service>`: runs the image of the service's last failed, refused or rolled-back rollout
 * again, without a new push. It starts the rollout state machine with the input a push would have started
 * it with (the same image, pinned to its digest, with ECR's push time), so the retry goes through the same
 * validation and ownership protocol as a push: prepare's input checks and pre-flight, the push order, the
 * lock and the concurrency policy. Only the execution name differs (`<service>-r<n>-<digest>`: one digest
 * is one rollout per push, and a retry is a deliberate new attempt of it), and `retryOf` names the rollout
 * it retries, so prepare lets the newest push run again once instead of taking it for a late delivery.
 */
import type { ServiceConfig } from '../core/config';
import type { Clock, Executions, HistoryRecord, RolloutStore } from '../core/ports';
import { isDigest, type RolloutInput } from '../core/rollout';

/** The outcomes a retry re-runs. */
export const RETRYABLE_OUTCOMES = ['FAILED', 'REFUSED', 'ROLLED_BACK'] as const;

/** Why there is nothing to retry. */
export class NothingToRetryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NothingToRetry';
  }
}

/**
 * The rollout a retry re-runs: the service's newest record, if it failed, was refused or was rolled back
 * and names its image. Anything else (a rollout in progress, a success, no rollout yet) is said, not guessed.
 * @throws NothingToRetryError
 */
export function retryable(service: string, history: readonly HistoryRecord[]): HistoryRecord & { image: string } {
  const [last] = history;
  if (!last) throw new NothingToRetryError(`${service} has no rollout yet: nothing to retry`);
  if (!last.outcome || last.outcome === 'RUNNING') throw new NothingToRetryError(`${service}: ${last.rolloutId} is in progress; retry runs after a rollout failed, was refused or rolled back`);
  if (!(RETRYABLE_OUTCOMES as readonly string[]).includes(last.outcome)) {
    throw new NothingToRetryError(`${service}: the last rollout ${last.rolloutId} ended ${last.outcome}; retry only re-runs one that ${RETRYABLE_OUTCOMES.join(', ').toLowerCase().replace('_', ' ')}`);
  }
  if (!last.image || !isDigest(last.image.split('@')[1])) throw new NothingToRetryError(`${service}: the last rollout ${last.rolloutId} has no image pinned to a digest to retry`);
  return last as HistoryRecord & { image: string };
}

/**
 * A retry's execution name: `<service>-r<attempt>-<digest hex>`, at most 80 allowed characters. The attempt
 * counts the earlier retries of the same image, so the same retry sent twice starts one execution.
 */
export function retryName(service: string, digest: string, attempt: number): string {
  const safe = service.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 40);
  const head = `${safe}-r${attempt}-`;
  return `${head}${digest.replace(/^sha256:/, '').slice(0, 80 - head.length)}`;
}

/** The execution input of a retry of `record`: a push's input for the same image. */
export function retryInput(service: ServiceConfig, record: HistoryRecord & { image: string }, history: readonly HistoryRecord[], actor: string, now: Date): RolloutInput & { retryOf: string } {
  const uri = record.image;
  const digest = uri.slice(uri.lastIndexOf('@') + 1);
  const attempt = 1 + history.filter((h) => h.image === uri && h.rolloutId.startsWith(`${service.name.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 40)}-r`)).length;
  const name = retryName(service.name, digest, attempt);
  return {
    rolloutId: name,
    service,
    image: { repository: service.repository, digest, uri, ...(record.pushedAt ? { pushedAt: record.pushedAt } : {}) },
    trigger: { kind: 'cli', id: `${actor} retry of ${record.rolloutId}`, at: now.toISOString() },
    retryOf: record.rolloutId,
  };
}

export interface RetryDeps {
  readonly store: Pick<RolloutStore, 'listHistory'>;
  readonly executions: Pick<Executions, 'start'>;
  readonly clock: Clock;
}

export interface RetryResult {
  readonly service: string;
  readonly retryOf: string;
  readonly outcome: string;
  readonly image: string;
  readonly rolloutId: string;
  readonly executionArn: string;
  /** The same retry was started already (sent twice): nothing new started. */
  readonly alreadyStarted: boolean;
}

/**
 * Starts a retry of the service's last failed, refused or rolled-back rollout.
 * @throws NothingToRetryError when the last rollout is not one to retry.
 */
export async function retryRollout(service: ServiceConfig, actor: string, deps: RetryDeps): Promise<RetryResult> {
  const history = await deps.store.listHistory(service.name, 20);
  const record = retryable(service.name, history);
  const input = retryInput(service, record, history, actor, deps.clock.now());
  const out = await deps.executions.start(input.rolloutId, input);
  return {
    service: service.name,
    retryOf: record.rolloutId,
    outcome: record.outcome!,
    image: record.image,
    rolloutId: input.rolloutId,
    executionArn: out.executionArn,
    alreadyStarted: out.alreadyStarted,
  };
}
