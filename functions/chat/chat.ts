/**
 * The Slack slash-command endpoint (a Lambda Function URL): verify the signature before anything else,
 * then authorise and run the command, and answer within Slack's 3 seconds.
 *
 * A signed request is applied at most once: its signature is claimed in the {@link RequestLedger} before the
 * command runs, and the same signature again (a captured request sent a second time within Slack's
 * five-minute window) is refused with {@link REPLAY_STATUS} and changes nothing. Slack itself never sends a
 * request twice: every slash command is signed anew (its timestamp and `trigger_id` differ).
 *
 * Most commands do a few DynamoDB / Step Functions reads and are answered directly. A command that may take
 * longer ({@link mayTakeLong}: a rollback) is acknowledged at once and run by an asynchronous invocation of
 * this same function ({@link runDeferredCommand}), which posts the outcome to the request's `response_url`.
 * Either way the signature is verified and the request claimed first, in the request itself, so a forged,
 * stale, replayed or unauthorised request gets its answer at once and changes nothing.
 * @see https://api.slack.com/interactivity/slash-commands
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { describeError } from '../core/errors';
import type { RequestLedger } from '../core/ports';
import { slackText } from '../core/slack-text';
import { abortsInFlight, execute, mayTakeLong, type Actor, type CommandDeps, type Reply } from './commands';
import { DEFERRED_COMMAND, isDeferredCommand, responseUrlProblem, type CommandDeferral, type DeferredOutcome, type SlackResponse, type SlackResponses } from '../core/follow-up';
import { MAX_SKEW_SECONDS, verifySlackSignature } from './slack-signature';

export interface ChatDeps extends CommandDeps {
  /** The Slack app's signing secret. */
  readonly signingSecret: () => Promise<string>;
  /** Signatures of the requests already applied. */
  readonly requestLedger: RequestLedger;
  /** Starts the run of a command after its acknowledgement (an asynchronous invocation of this function). */
  readonly deferral: CommandDeferral;
  /** Posts a deferred command's outcome to its `response_url`. */
  readonly responses: SlackResponses;
  /** Also accept `http://127.0.0.1:…` response URLs (the local runtime's stand-in for Slack). @default false */
  readonly loopbackResponseUrls?: boolean;
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

/**
 * The time a direct answer should take from the start of the invocation: Slack gives up after 3 s, and a
 * cold start spends part of that before the invocation starts. Commands that may exceed it are deferred
 * ({@link mayTakeLong}); a direct answer that took longer is logged, so a command that outgrew it shows.
 * `npm run bench -- --only chat` measures the cold path.
 * @see https://api.slack.com/interactivity/slash-commands#responding_to_commands
 */
export const ANSWER_BUDGET_MS = 2_000;

/** The ledger key of a deferred command's run (the request's own claim is `slack:<signature>`). */
export const runKey = (signature: string) => `slack-run:${signature}`;

const text = (statusCode: number, body: string): APIGatewayProxyStructuredResultV2 => ({ statusCode, headers: { 'content-type': 'text/plain; charset=utf-8' }, body });
const json = (message: SlackResponse): APIGatewayProxyStructuredResultV2 => ({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(message) });
const claimUntil = (timestamp: string) => new Date((Number(timestamp) + MAX_SKEW_SECONDS + LEDGER_MARGIN_SECONDS) * 1000);

/** How Slack shows a command's reply: in the channel when it changed something, to the sender alone otherwise. */
function responseOf(commandText: string, reply: Reply): SlackResponse {
  // Operator mistakes (unknown service, nothing to promote) are answered in Slack, so they are 200s there.
  const mutating = reply.status === 200 && /^(rollback|promote|pause|resume)\b/i.test(commandText.trim());
  return { response_type: mutating ? 'in_channel' : 'ephemeral', text: reply.text };
}

/**
 * The chat function's one entry point. A Function URL delivers only HTTP events (`requestContext.http`):
 * those are slash commands, verified as such. Anything else can only come from a direct invocation, which
 * IAM allows to this function itself: its deferred commands.
 * @example
 * export const handler = lambda('chat', handleChatEvent, deps);
 */
export async function handleChatEvent(event: unknown, deps: ChatDeps): Promise<APIGatewayProxyStructuredResultV2 | DeferredOutcome> {
  if (typeof event === 'object' && event !== null && 'requestContext' in event) return handleSlashCommand(event as APIGatewayProxyEventV2, deps);
  return runDeferredCommand(event, deps);
}

/** A slash command as the Function URL delivers it: answered directly, or acknowledged and deferred. */
export async function handleSlashCommand(event: APIGatewayProxyEventV2, deps: ChatDeps): Promise<APIGatewayProxyStructuredResultV2> {
  const startedAt = deps.clock.now().getTime();
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
  const commandText = form.get('text') ?? '';
  if (!/^[A-Z0-9]{2,24}$/.test(user)) return text(400, 'user_id missing or malformed');
  const actor: Actor = { user, channel, via: 'slack' };
  // A rollback of a rollout in flight is run here: its abort moves the traffic itself (one hop).
  const deferred = mayTakeLong(commandText, actor, deps.services) && !(await abortsInFlight(commandText, deps));
  if (deferred) {
    // Its outcome goes to response_url: only Slack's, so a signed request cannot make this function post elsewhere.
    const problem = responseUrlProblem(form.get('response_url') ?? '', deps.loopbackResponseUrls);
    if (problem) {
      deps.log.warn("slash command refused: response_url not Slack's", { user, channel, problem });
      return text(400, `${problem}; the command was not run`);
    }
  }
  // Last before the command: a request refused above changed nothing, so a replay of it needs no claim. The
  // signature is canonical (only lowercase hex verifies), so one request has exactly one ledger key.
  if (!(await deps.requestLedger.claim(`slack:${signature}`, claimUntil(timestamp)))) {
    deps.log.warn('slash command refused: replayed request', { user, channel });
    return text(REPLAY_STATUS, REPLAY_TEXT);
  }
  const typed = slackText(commandText.trim().slice(0, 200));
  if (deferred) {
    try {
      await deps.deferral.defer({ kind: DEFERRED_COMMAND, body, timestamp, signature });
    } catch (error) {
      deps.log.error('slash command not started', { user, channel, error: describeError(error).name });
      return json({ response_type: 'ephemeral', text: `Could not start \`${typed}\` (${describeError(error).name}); nothing was changed. Send it again.` });
    }
    deps.log.info('slash command deferred', { user, channel, text: commandText.slice(0, 200) });
    return json({ response_type: 'ephemeral', text: `Working on \`${typed}\`: the outcome follows here.` });
  }
  const reply = await execute(commandText, actor, deps);
  const ms = deps.clock.now().getTime() - startedAt;
  deps.log.info('slash command', { user, channel, text: commandText.slice(0, 200), status: reply.status });
  if (ms > ANSWER_BUDGET_MS) deps.log.warn('slash command answered after its budget', { text: commandText.slice(0, 200), ms, budgetMs: ANSWER_BUDGET_MS });
  if (reply.status === 403) return text(403, reply.text);
  return json(responseOf(commandText, reply));
}

/**
 * Runs a command {@link handleSlashCommand} acknowledged, and posts its outcome to the request's
 * `response_url`. Trusts nothing in the event: the Slack signature is verified again, the `response_url`
 * checked again, and the run claimed in the ledger, because Lambda may deliver an asynchronous event more
 * than once. A command that reaches it after Slack's five-minute window is not run, and says so.
 */
export async function runDeferredCommand(event: unknown, deps: ChatDeps): Promise<DeferredOutcome> {
  if (!isDeferredCommand(event)) {
    deps.log.warn('chat event refused: neither a Function URL request nor a deferred command');
    return { ran: false, refused: 'not a slash command' };
  }
  const { body, timestamp, signature } = event;
  const signingSecret = await deps.signingSecret();
  // Slack's HMAC, checked at the request's own time; its age is checked apart, so a late command is told so.
  const genuine = Buffer.byteLength(body) <= MAX_BODY_BYTES && verifySlackSignature({ signingSecret, body, timestamp, signature, now: Number(timestamp) });
  if (!genuine) {
    deps.log.warn('deferred command refused: bad signature');
    return { ran: false, refused: 'invalid signature' };
  }
  const form = new URLSearchParams(body);
  const responseUrl = form.get('response_url') ?? '';
  const problem = responseUrlProblem(responseUrl, deps.loopbackResponseUrls);
  if (problem) {
    deps.log.warn("deferred command refused: response_url not Slack's", { problem });
    return { ran: false, refused: problem };
  }
  const user = form.get('user_id') ?? '';
  const channel = form.get('channel_id') ?? '';
  const commandText = form.get('text') ?? '';
  const typed = slackText(commandText.trim().slice(0, 200));
  const respond = async (message: SlackResponse) => {
    try {
      await deps.responses.post(responseUrl, message);
    } catch (error) {
      // The command has run (its audit record says so); only its answer is lost.
      deps.log.error('deferred command: outcome not posted to response_url', { user, channel, error: describeError(error).message.slice(0, 200) });
    }
  };
  if (Math.abs(Math.floor(deps.clock.now().getTime() / 1000) - Number(timestamp)) > MAX_SKEW_SECONDS) {
    deps.log.warn('deferred command refused: past its window', { user, channel, text: commandText.slice(0, 200) });
    await respond({
      response_type: 'ephemeral',
      text: `Not run: \`${typed}\` reached Cutover more than ${MAX_SKEW_SECONDS / 60} minutes after you sent it. Run status, and send it again if it still applies.`,
    });
    return { ran: false, refused: 'past its window' };
  }
  if (!(await deps.requestLedger.claim(runKey(signature), claimUntil(timestamp)))) {
    deps.log.warn('deferred command refused: already run', { user, channel });
    return { ran: false, refused: 'already run' };
  }
  let reply: Reply;
  try {
    reply = await execute(commandText, { user, channel, via: 'slack' }, deps);
  } catch (error) {
    await respond({ response_type: 'ephemeral', text: `\`${typed}\` failed (${describeError(error).name}). Run status to see where the service stands, and send it again if needed.` });
    throw error;
  }
  deps.log.info('slash command', { user, channel, text: commandText.slice(0, 200), status: reply.status, deferred: true });
  await respond(responseOf(commandText, reply));
  return { ran: true, status: reply.status };
}
