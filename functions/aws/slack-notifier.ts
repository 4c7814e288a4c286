/**
 * The {@link Notifier} port over Slack: `chat.postMessage` with a bot token (one thread per rollout), or an
 * incoming webhook (no threads). The credentials come from one Secrets Manager secret holding JSON:
 * `{"botToken": "xoxb-…", "channel": "C0123ABCD"}` or `{"webhookUrl": "https://hooks.slack.com/services/…"}`.
 *
 * Best effort by design: every failure (secret, network, Slack) is logged and swallowed, each post gives up
 * after 2 seconds, and the rollout goes on.
 * @see https://api.slack.com/methods/chat.postMessage
 */
import type { Log, Notifier } from '../core/ports';
import { cachedSecret } from './secrets';

export interface SlackCredentials {
  readonly botToken?: string;
  readonly channel?: string;
  readonly webhookUrl?: string;
}

export const POST_TIMEOUT_MS = 2000;

export function slackNotifier(credentials: () => Promise<string>, log: Log, options: { apiUrl?: string; fetch?: typeof fetch; timeoutMs?: number } = {}): Notifier {
  const apiUrl = options.apiUrl ?? 'https://slack.com/api';
  const send = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? POST_TIMEOUT_MS;
  return {
    async post(text, thread) {
      try {
        const creds = parseCredentials(await credentials());
        if (creds.botToken && creds.channel) {
          const res = await send(`${apiUrl}/chat.postMessage`, {
            method: 'POST',
            headers: { 'content-type': 'application/json; charset=utf-8', authorization: `Bearer ${creds.botToken}` },
            body: JSON.stringify({ channel: creds.channel, text, ...(thread ? { thread_ts: thread } : {}) }),
            signal: AbortSignal.timeout(timeoutMs),
          });
          const body = (await res.json()) as { ok?: boolean; ts?: string; error?: string };
          if (!body.ok) throw new Error(`chat.postMessage: ${body.error ?? res.status}`);
          return { thread: thread ?? body.ts };
        }
        if (creds.webhookUrl) {
          const res = await send(creds.webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text }), signal: AbortSignal.timeout(timeoutMs) });
          if (!res.ok) throw new Error(`webhook: HTTP ${res.status}`);
          return { thread };
        }
        throw new Error('the notification secret has neither botToken + channel nor webhookUrl');
      } catch (error) {
        // Never the credentials: only what went wrong.
        log.warn('notification not sent', { error: error instanceof Error ? error.message : 'unknown error' });
        return { thread };
      }
    },
  };
}

/**
 * The secret's JSON. Never V8's own parse error: its message quotes the text around the fault, and the text
 * is the token (a bare `xoxb-…` stored instead of JSON would be logged half).
 */
function parseCredentials(text: string): SlackCredentials {
  try {
    return JSON.parse(text) as SlackCredentials;
  } catch {
    throw new Error('the notification secret is not JSON: store {"botToken": "xoxb-…", "channel": "C…"} or {"webhookUrl": "https://hooks.slack.com/…"}');
  }
}

/** Notifications off. */
export const noNotifier: Notifier = { post: async (_text, thread) => ({ thread }) };

/**
 * The notifier a handler uses: Slack when `NOTIFY_SECRET_ARN` names the credentials secret, else none.
 * `SLACK_API_URL` points it elsewhere (the local runtime's stand-in for Slack).
 */
export function notifierFromEnv(log: Log, env: NodeJS.ProcessEnv = process.env): Notifier | undefined {
  if (!env.NOTIFY_SECRET_ARN) return undefined;
  return slackNotifier(cachedSecret(env.NOTIFY_SECRET_ARN), log, { apiUrl: env.SLACK_API_URL });
}
