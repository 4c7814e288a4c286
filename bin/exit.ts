/**
 * The CLI's exit codes: one table for every command (`local event`, `local slack`, `status --watch`,
 * `plan`, `retry`, …), written in the README's CLI section. Light on purpose: the entry point imports it.
 */

/** What an exit code means. */
export const ExitCode = {
  /** Done: the command did what it was asked, and every rollout it ran or followed succeeded (`plan`: pre-flight passes). */
  OK: 0,
  /** A rollout it ran or followed did not succeed: rolled back, failed, refused or superseded (`plan`: a rollout would be refused). */
  NOT_SUCCEEDED: 1,
  /** `status --watch`: still running when `--timeout` was reached. */
  TIMED_OUT: 2,
  /**
   * The request was refused and nothing changed: a usage error (unknown command or option, bad value), an
   * unreadable or malformed input (event file, image), an unknown service, or a command Cutover refused
   * (not authorised, nothing to act on).
   */
  REFUSED: 3,
  /** Cutover could not be reached: no AWS credentials or Region, no such stack or no Cutover in it, no local environment running. */
  UNREACHABLE: 4,
} as const;

/** An error that ends the CLI with a given exit code and a message on stderr. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CliError';
  }
}

/** The exit code of a command's reply (the chat function's HTTP-like status). */
export const exitCodeOfReply = (status: number): number => (status === 200 || status === 202 ? ExitCode.OK : ExitCode.REFUSED);

/** The exit code of rollouts a command ran or followed: OK only when every one succeeded. */
export const exitCodeOfOutcomes = (outcomes: readonly string[]): number => (outcomes.every((o) => o === 'SUCCEEDED') ? ExitCode.OK : ExitCode.NOT_SUCCEEDED);

const NO_CREDENTIALS = new Set(['CredentialsProviderError', 'ExpiredTokenException', 'UnrecognizedClientException', 'InvalidClientTokenId', 'ExpiredToken']);

/**
 * What an error that ended the CLI means for the user: its exit code and message, with a hint at `--local`
 * when AWS could not be reached for want of credentials or a Region.
 */
export function describeFailure(error: unknown): { exitCode: number; message: string } {
  const e = error as { name?: string; message?: string; exitCode?: number };
  if (error instanceof CliError) return { exitCode: error.exitCode, message: error.message };
  const message = e?.message ?? String(error);
  if (NO_CREDENTIALS.has(e?.name ?? '') || /Region is missing|Could not load credentials/i.test(message)) {
    return {
      exitCode: ExitCode.UNREACHABLE,
      message:
        `${message}\n` +
        'AWS could not be reached: set credentials and a Region (AWS_PROFILE or AWS_ACCESS_KEY_ID…, AWS_REGION),\n' +
        'or use the local environment instead: `cutover local up` in another terminal, then add --local.',
    };
  }
  return { exitCode: ExitCode.NOT_SUCCEEDED, message };
}
