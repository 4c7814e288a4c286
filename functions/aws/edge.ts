/**
 * Translation of AWS SDK failures at the edge of each port: throttling, 5xx and network failures become
 * {@link AwsTransientError} (retried with backoff by the state machine); everything else passes through
 * untouched so the caller can catch the specific SDK exception it expects.
 */
import { AwsTransientError } from '../core/errors';

const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ProvisionedThroughputExceededException',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'LimitExceededException',
]);

const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'TimeoutError', 'RequestTimeout', 'RequestTimeoutException']);

/** True for failures that a later retry may not meet: throttling, 5xx, network and time-outs. */
export function isTransient(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as { name?: string; code?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
  if (e.name && (THROTTLING.has(e.name) || NETWORK.has(e.name))) return true;
  if (e.code && NETWORK.has(e.code)) return true;
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined && (status >= 500 || status === 429)) return true;
  return e.$retryable !== undefined && e.$retryable !== null;
}

/** Runs one AWS call; transient failures are rethrown as AwsTransientError naming the operation. */
export async function edge<T>(operation: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (isTransient(error)) {
      const name = (error as { name?: string }).name ?? 'Error';
      throw new AwsTransientError(`${operation} failed transiently (${name}); safe to retry`, { cause: error });
    }
    throw error;
  }
}

/** The SDK exception's name, for matching expected failures without importing every class. */
export const errorName = (error: unknown): string | undefined => (error as { name?: string } | null)?.name;
