/**
 * The chat function's {@link SlackResponses} over HTTPS: a JSON POST to the slash command's `response_url`.
 * The URL has been checked to be Slack's (`responseUrlProblem`) before it gets here; redirects are refused,
 * so the post cannot be sent on to another host.
 * @see https://api.slack.com/interactivity/handling#message_responses
 */
import type { SlackResponses } from '../core/follow-up';

/** How long a post may take before it is given up (the command has run by then; only its answer is lost). */
export const RESPONSE_TIMEOUT_MS = 5_000;

export function slackResponses(options: { fetch?: typeof fetch; timeoutMs?: number } = {}): SlackResponses {
  return {
    async post(responseUrl, message) {
      const send = options.fetch ?? globalThis.fetch;
      const res = await send(responseUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: JSON.stringify(message),
        redirect: 'error',
        signal: AbortSignal.timeout(options.timeoutMs ?? RESPONSE_TIMEOUT_MS),
      });
      if (!res.ok) throw new Error(`response_url answered HTTP ${res.status}`);
    },
  };
}
