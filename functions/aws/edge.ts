/**
 * Translation of AWS SDK failures at the edge of each port: throttling, 5xx and network failures become
 * {@link AwsTransientError} (retried with backoff by the state machine); everything else passes through
 * untouched so the caller can catch the specific SDK exception it expects.
 */
import { isRetryableByTrait, isServerError, isThrottlingError, isTransientError } from '@smithy/core/retry';
import type { SdkError } from '@smithy/types';
import { AwsTransientError } from '../core/errors';

/** Network failures the SDK's own list leaves out (a DNS lookup that failed for now). */
const NETWORK = new Set(['EAI_AGAIN']);

/**
 * True for failures that a later retry may not meet: throttling, 5xx, network failures and time-outs, as
 * the SDK's own retry strategy classifies them (`@smithy/core/retry`), plus {@link NETWORK}.
 */
export function isTransient(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as SdkError & { code?: string };
  if (isThrottlingError(e) || isTransientError(e) || isServerError(e) || isRetryableByTrait(e)) return true;
  return (e.code !== undefined && NETWORK.has(e.code)) || NETWORK.has(e.name);
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
