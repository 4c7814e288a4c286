/**
 * Commands answered after the acknowledgement: Slack waits 3 seconds for the answer to a slash command,
 * and a command that may take longer (a restore after completion waits on leases and moves traffic) is acknowledged at once
 * and run in an asynchronous invocation of the chat function itself, which posts the outcome to the
 * request's `response_url`.
 *
 * The asynchronous event is the signed Slack request itself (raw body, timestamp, signature), under a kind
 * no Function URL event has: a Function URL only ever delivers HTTP events, so nothing sent to the URL can
 * take this path, and a direct invocation (which IAM allows to the function itself only) still needs Slack's
 * signature of the command it carries.
 * @see https://api.slack.com/interactivity/handling#message_responses
 * @see https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html
 */

/** The `kind` of the chat function's asynchronous event (never a field of an HTTP event). */
export const DEFERRED_COMMAND = 'cutover.chat.deferred-command';

/** A slash command to run after its acknowledgement: the Slack request exactly as it arrived. */
export interface DeferredCommand {
  readonly kind: typeof DEFERRED_COMMAND;
  /** The raw form body Slack signed. */
  readonly body: string;
  /** `X-Slack-Request-Timestamp`, as received. */
  readonly timestamp: string;
  /** `X-Slack-Signature`, as received. */
  readonly signature: string;
}

/** What the asynchronous invocation did with its event. */
export interface DeferredOutcome {
  readonly ran: boolean;
  /** The command's status (as its reply had it: 200, 409…), when it ran. */
  readonly status?: number;
  /** Why it did not run. */
  readonly refused?: string;
}

/** A message posted to a `response_url`, as Slack documents it. */
export interface SlackResponse {
  readonly response_type: 'in_channel' | 'ephemeral';
  readonly text: string;
}

/** Starts the deferred run of a command (on AWS: `Invoke` of this function with `InvocationType: 'Event'`). */
export interface CommandDeferral {
  defer(command: DeferredCommand): Promise<void>;
}

/** Posts to a slash command's `response_url` (valid for 30 minutes, up to 5 posts). */
export interface SlackResponses {
  post(responseUrl: string, message: SlackResponse): Promise<void>;
}

/** The host of every `response_url` Slack hands out. */
export const SLACK_RESPONSE_HOST = 'hooks.slack.com';

/** Whether `event` has the shape of a {@link DeferredCommand} (and none of an HTTP event). */
export function isDeferredCommand(event: unknown): event is DeferredCommand {
  if (typeof event !== 'object' || event === null || 'requestContext' in event) return false;
  const e = event as Record<string, unknown>;
  return e.kind === DEFERRED_COMMAND && typeof e.body === 'string' && typeof e.timestamp === 'string' && typeof e.signature === 'string';
}

/**
 * Why `url` is not a `response_url` the function may post to, or undefined when it is: `https://hooks.slack.com/…`
 * only, so a signed request cannot make the function post elsewhere. `loopback` also admits
 * `http://127.0.0.1:<port>/…` (the local runtime's stand-in for Slack; never set on AWS).
 */
export function responseUrlProblem(url: string, loopback = false): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'response_url is missing or not a URL';
  }
  if (parsed.username || parsed.password) return 'response_url must not carry credentials';
  if (parsed.protocol === 'https:' && parsed.hostname === SLACK_RESPONSE_HOST && (parsed.port === '' || parsed.port === '443')) return undefined;
  if (loopback && parsed.protocol === 'http:' && parsed.hostname === '127.0.0.1') return undefined;
  return `response_url must be https://${SLACK_RESPONSE_HOST}/…, not ${parsed.protocol}//${parsed.host}`;
}
