/**
 * Shared client settings. Each adapter builds its own client (so a function's bundle carries only the
 * clients it uses); the SDK reads the region, credentials and `AWS_ENDPOINT_URL` (moto, LocalStack) from
 * the environment itself, so the same code runs on AWS and locally.
 */

/** The SDK's own retries for throttling, beneath the state machine's retries with backoff. */
export const sdkOptions = { maxAttempts: 3 } as const;

/** Reads a required environment variable, with a message that names it. */
export function requireEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
}
