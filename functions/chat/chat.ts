/**
 * The Slack slash-command endpoint (a Lambda Function URL): verify the signature before anything else,
 * then authorise and run the command, and answer within Slack's 3 seconds.
 *
 * Every command does a few DynamoDB / Step Functions calls (well under a second); the rollout itself goes
 * on in its execution, which reports progress through the notifications.
 * @see https://api.slack.com/interactivity/slash-commands
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { execute, type CommandDeps } from './commands';
import { verifySlackSignature } from './slack-signature';

export interface ChatDeps extends CommandDeps {
  /** The Slack app's signing secret. */
  readonly signingSecret: () => Promise<string>;
}

/** Slash-command payloads are small; anything bigger is not from Slack. */
export const MAX_BODY_BYTES = 16 * 1024;

const text = (statusCode: number, body: string): APIGatewayProxyStructuredResultV2 => ({ statusCode, headers: { 'content-type': 'text/plain; charset=utf-8' }, body });

export async function handleSlashCommand(event: APIGatewayProxyEventV2, deps: ChatDeps): Promise<APIGatewayProxyStructuredResultV2> {
  if (event?.requestContext?.http?.method !== 'POST') return text(405, 'POST only');
  const raw = event.body ?? '';
  if (Buffer.byteLength(raw) > MAX_BODY_BYTES * 2) return text(413, 'request too large');
  const body = event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
  if (Buffer.byteLength(body) > MAX_BODY_BYTES) return text(413, 'request too large');
  const headers = Object.fromEntries(Object.entries(event.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v ?? '']));
  const valid = verifySlackSignature({
    signingSecret: await deps.signingSecret(),
    body,
    timestamp: headers['x-slack-request-timestamp'] ?? '',
    signature: headers['x-slack-signature'] ?? '',
    now: Math.floor(deps.clock.now().getTime() / 1000),
  });
  if (!valid) {
    deps.log.warn('slash command refused: bad or stale signature');
    return text(401, 'invalid signature');
  }
  const form = new URLSearchParams(body);
  const user = form.get('user_id') ?? '';
  const channel = form.get('channel_id') ?? '';
  if (!/^[A-Z0-9]{2,24}$/.test(user)) return text(400, 'user_id missing or malformed');
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
