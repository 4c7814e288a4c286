/**
 * The Slack slash-command endpoint (a Lambda Function URL): verify the signature before anything else,
 * then authorise and run the command, and answer within Slack's 3 seconds.
 *
 * A signed request is applied at most once: its signature is claimed in the {@link RequestLedger} before the
 * command runs, and the same signature again (a captured request sent a second time within Slack's
 * five-minute window) is refused with {@link REPLAY_STATUS} and changes nothing. Slack itself never sends a
 * request twice: every slash command is signed anew (its timestamp and `trigger_id` differ).
 *
 * Every command does a few DynamoDB / Step Functions calls (well under a second); the rollout itself goes
 * on in its execution, which reports progress through the notifications.
 * @see https://api.slack.com/interactivity/slash-commands
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { RequestLedger } from '../core/ports';
import { execute, type CommandDeps } from './commands';
import { MAX_SKEW_SECONDS, verifySlackSignature } from './slack-signature';

export interface ChatDeps extends CommandDeps {
  /** The Slack app's signing secret. */
  readonly signingSecret: () => Promise<string>;
  /** Signatures of the requests already applied. */
  readonly requestLedger: RequestLedger;
}

/** Slash-command payloads are small; anything bigger is not from Slack. */
export const MAX_BODY_BYTES = 16 * 1024;

/**
 * The answer to a replayed request: 409 Conflict, not 401. The signature is genuine (the request was
 * authenticated); what conflicts is that it was applied already. A distinct status keeps replays apart from
 * forged or stale requests in the logs and the Function URL metrics.
 */
export const REPLAY_STATUS = 409;
export const REPLAY_TEXT = 'request already handled: a signed request is applied once';

/**
 * How long a claim outlives the request's window: its signature verifies until `timestamp + MAX_SKEW_SECONDS`
 * by this function's clock; the claim is kept a minute longer, so a clock that steps back cannot let the
 * request through again once DynamoDB's TTL has removed it.
 */
export const LEDGER_MARGIN_SECONDS = 60;

const text = (statusCode: number, body: string): APIGatewayProxyStructuredResultV2 => ({ statusCode, headers: { 'content-type': 'text/plain; charset=utf-8' }, body });

export async function handleSlashCommand(event: APIGatewayProxyEventV2, deps: ChatDeps): Promise<APIGatewayProxyStructuredResultV2> {
  if (event?.requestContext?.http?.method !== 'POST') return text(405, 'POST only');
  const raw = event.body ?? '';
  if (Buffer.byteLength(raw) > MAX_BODY_BYTES * 2) return text(413, 'request too large');
  const body = event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
  if (Buffer.byteLength(body) > MAX_BODY_BYTES) return text(413, 'request too large');
  // Slack checks the endpoint's certificate now and then with `ssl_check=1` (and no command): a 200 is all it
  // wants. It changes nothing and reads nothing, so it needs no signature.
  if (new URLSearchParams(body).get('ssl_check') === '1') return text(200, '');
  const headers = Object.fromEntries(Object.entries(event.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v ?? '']));
  const timestamp = headers['x-slack-request-timestamp'] ?? '';
  const signature = headers['x-slack-signature'] ?? '';
  const valid = verifySlackSignature({ signingSecret: await deps.signingSecret(), body, timestamp, signature, now: Math.floor(deps.clock.now().getTime() / 1000) });
  if (!valid) {
    deps.log.warn('slash command refused: bad or stale signature');
    return text(401, 'invalid signature');
  }
  const form = new URLSearchParams(body);
  const user = form.get('user_id') ?? '';
  const channel = form.get('channel_id') ?? '';
  if (!/^[A-Z0-9]{2,24}$/.test(user)) return text(400, 'user_id missing or malformed');
  // Last before the command: a request refused above changed nothing, so a replay of it needs no claim. The
  // signature is canonical (only lowercase hex verifies), so one request has exactly one ledger key.
  const claimUntil = new Date((Number(timestamp) + MAX_SKEW_SECONDS + LEDGER_MARGIN_SECONDS) * 1000);
  if (!(await deps.requestLedger.claim(`slack:${signature}`, claimUntil))) {
    deps.log.warn('slash command refused: replayed request', { user, channel });
    return text(REPLAY_STATUS, REPLAY_TEXT);
  }
  const reply = await execute(form.get('text') ?? '', { user, channel, via: 'slack' }, deps);
  deps.log.info('slash command', { user, channel, text: (form.get('text') ?? '').slice(0, 200), status: reply.status });
  if (reply.status === 403) return text(403, reply.text);
  // Operator mistakes (unknown service, nothing to promote) are answered in Slack, so they are 200s there.
  const mutating = reply.status === 200 && /^(rollback|promote|pause|resume)\b/i.test((form.get('text') ?? '').trim());
  return {
    statusCode: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ response_type: mutating ? 'in_channel' : 'ephemeral', text: reply.text }),
  };
}
