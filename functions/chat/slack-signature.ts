/**
 * Verification of Slack's request signature, exactly as Slack specifies it: `v0=` + hex HMAC-SHA256 of
 * `v0:<timestamp>:<raw body>` keyed with the app's signing secret, compared in constant time, with requests
 * more than five minutes from now (either way) refused so a captured request cannot be replayed.
 * @see https://api.slack.com/authentication/verifying-requests-from-slack
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Slack's replay window: five minutes, either side of now. */
export const MAX_SKEW_SECONDS = 300;

export interface SlackSignatureInput {
  /** The app's signing secret. */
  readonly signingSecret: string;
  /** The raw request body, exactly as received (before any parsing). */
  readonly body: string;
  /** The `X-Slack-Request-Timestamp` header, as received. */
  readonly timestamp: string;
  /** The `X-Slack-Signature` header, as received (`v0=<64 hex>`). */
  readonly signature: string;
  /** The current time, in Unix seconds. */
  readonly now: number;
}

/**
 * True only for a request Slack signed within five minutes of `now`. Pure: no clock, no I/O.
 *
 * @example
 * verifySlackSignature({ signingSecret, body: rawBody, timestamp: headers['x-slack-request-timestamp'],
 *   signature: headers['x-slack-signature'], now: Math.floor(Date.now() / 1000) });
 */
export function verifySlackSignature(input: SlackSignatureInput): boolean {
  const { signingSecret, body, timestamp, signature, now } = input;
  if (typeof signingSecret !== 'string' || signingSecret === '') return false;
  if (typeof body !== 'string' || typeof timestamp !== 'string' || typeof signature !== 'string') return false;
  if (!/^\d{1,12}$/.test(timestamp) || !Number.isFinite(now)) return false;
  if (Math.abs(now - Number(timestamp)) > MAX_SKEW_SECONDS) return false;
  if (!/^v0=[0-9a-f]{64}$/.test(signature)) return false;
  const expected = createHmac('sha256', signingSecret).update(`v0:${timestamp}:${body}`).digest();
  const given = Buffer.from(signature.slice(3), 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Signs a body as Slack would (the CLI's `local slack` and tests use it). */
export function signSlackRequest(signingSecret: string, body: string, timestamp: number): string {
  return `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}
