/**
 * Secrets never leave through a side door: not in a log line, an execution's input, output or history, an
 * error, a Slack reply or a Slack message. The secrets that exist: the Slack app's signing secret (chat) and
 * the notification credentials (a bot token or an incoming-webhook URL).
 */
import { CloudWatchClient, SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { slackNotifier } from '../../functions/aws/slack-notifier';
import type { Log } from '../../functions/core/ports';
import { canary } from '../../functions/core/plan';
import { fireAlarm, pushAndDeliver, until } from '../../infra/local/demo';
import { clientConfig, DEMO } from '../../infra/local/environment';
import { startEmulator, type Emulator } from '../../infra/local/moto';
import { LOCAL_SIGNING_SECRET, LocalRuntime } from '../../infra/local/runtime';
import { waitBounded } from './reliability';

/** The bot token the local runtime's notifier sends to the local Slack stand-in. */
const LOCAL_BOT_TOKEN = 'xoxb-local-bot-token';

function capturingLog(): Log & { text: () => string } {
  const lines: unknown[] = [];
  return {
    info: (message, fields) => lines.push({ level: 'info', message, fields }),
    warn: (message, fields) => lines.push({ level: 'warn', message, fields }),
    error: (message, fields) => lines.push({ level: 'error', message, fields }),
    text: () => JSON.stringify(lines),
  };
}

describe('secrets through a rollout, a rollback and chat commands on the local runtime', () => {
  let emulator: Emulator;
  let runtime: LocalRuntime;
  const log = capturingLog();
  const printed: unknown[] = [];
  const seen: unknown[] = [];

  beforeAll(async () => {
    // Arrange: whatever the handlers print goes into the haystack too
    for (const method of ['log', 'info', 'warn', 'error'] as const) vi.spyOn(console, method).mockImplementation((...args: unknown[]) => void printed.push(args));
    emulator = await startEmulator();
    runtime = await LocalRuntime.start({ emulator, timeScale: 0.001, retryMs: 1, log, services: [{ service: { plan: canary([10, 100], 3600) } }] });
    const waitingInBake = () => until(async () => runtime.sfn.waitingTasks().some((t) => t.state === 'Bake') && (await runtime.ports.store.getLock(DEMO.service))?.wait?.kind === 'bake', 30_000);

    // Act: a rollout an alarm rolls back, with forged, stale and genuine commands on the way
    seen.push(await pushAndDeliver(runtime, 'v2'));
    await waitingInBake();
    seen.push(await runtime.slack('rollback checkout', { signingSecret: 'guessed-secret' }));
    seen.push(await runtime.slack('rollback checkout', { timestamp: Math.floor(Date.now() / 1000) - 3600 }));
    seen.push(await runtime.slackRaw('text=rollback+checkout', { 'x-slack-signature': `v0=${'0'.repeat(64)}`, 'x-slack-request-timestamp': String(Math.floor(Date.now() / 1000)) }));
    seen.push(await runtime.slack('status checkout'));
    seen.push(await runtime.slack('history checkout'));
    seen.push(await fireAlarm(runtime, DEMO.alarms[0], 'Threshold Crossed'));
    await waitBounded(runtime);
    // ...then, the alarm back to OK, one that an operator promotes to success
    const cw = new CloudWatchClient(clientConfig(emulator.endpoint));
    await cw.send(new SetAlarmStateCommand({ AlarmName: DEMO.alarms[0], StateValue: 'OK', StateReason: 'recovered' }));
    cw.destroy();
    seen.push(await pushAndDeliver(runtime, 'v3'));
    await waitingInBake();
    seen.push(await runtime.slack('promote checkout'));
    seen.push(await runtime.slack('status'));
    await waitBounded(runtime);
  });

  afterAll(async () => {
    vi.restoreAllMocks();
    await runtime?.stop();
    await emulator?.stop();
  });

  /** Everything an operator or a log reader could see. */
  const haystack = () =>
    JSON.stringify({
      log: log.text(),
      printed,
      seen,
      executions: [...runtime.sfn.executions.values()].map((e) => ({ input: e.input, output: e.output, error: e.error, cause: e.cause, events: e.events })),
      slack: runtime.slackApi?.messages.map((m) => ({ channel: m.channel, text: m.text, thread: m.thread_ts })),
    });

  it('ran what it was meant to: a rollback, a success, refused forgeries, and notifications sent with the token', () => {
    const ends = [...runtime.sfn.executions.values()].map((e) => e.endState);
    expect(ends).toEqual(['Rolled back', 'Rollout succeeded']);
    const statuses = seen.filter((s): s is { statusCode: number } => typeof (s as { statusCode?: unknown }).statusCode === 'number').map((s) => s.statusCode);
    expect(statuses).toEqual([401, 401, 401, 200, 200, 200, 200]);
    // The token was in use (so a leak would have had something to leak).
    expect(runtime.slackApi!.messages.length).toBeGreaterThan(3);
    expect(runtime.slackApi!.messages.every((m) => m.token === LOCAL_BOT_TOKEN)).toBe(true);
  });

  it.each([
    ['the Slack signing secret', LOCAL_SIGNING_SECRET],
    ['the notification bot token', LOCAL_BOT_TOKEN],
  ])('never shows %s', (_name, secret) => {
    const text = haystack();
    expect(text.length).toBeGreaterThan(10_000);
    expect(text).not.toContain(secret);
  });
});

describe('secrets in the notifier when the credentials are wrong', () => {
  const TOKEN = 'xoxb-9876543210-SECRETSECRETSECRET';
  /** The secret part of an incoming-webhook URL is its path. */
  const HOOK_PATH = 'T0AAAA/B0BBBB/SECRETPATHSECRETPATH';
  const HOOK = `https://hooks.slack.com/services/${HOOK_PATH}`;

  /** Every 8-character piece of the secret, so a partial quote is caught too. */
  const pieces = (secret: string) => Array.from({ length: secret.length - 7 }, (_, i) => secret.slice(i, i + 8));

  it.each([
    ['a bare token stored instead of JSON', TOKEN, TOKEN, undefined],
    ['JSON cut short after the token', `{"botToken": "${TOKEN}", "channel": C0123}`, TOKEN, undefined],
    ['JSON cut short after the webhook URL', `{"webhookUrl": "${HOOK}"`, HOOK_PATH, undefined],
    ['Slack refusing the token', JSON.stringify({ botToken: TOKEN, channel: 'C0123' }), TOKEN, { ok: false, error: 'invalid_auth' }],
    ['the webhook answering 500', JSON.stringify({ webhookUrl: HOOK }), HOOK_PATH, 500],
  ] as const)('logs what went wrong with %s, and nothing of the secret', async (_name, stored, secret, answer) => {
    // Arrange
    const log = capturingLog();
    const fetch = async () => (typeof answer === 'number' ? new Response('oops', { status: answer }) : new Response(JSON.stringify(answer ?? { ok: true, ts: '1.1' }), { status: 200 }));
    const notifier = slackNotifier(async () => stored, log, { fetch: fetch as unknown as typeof globalThis.fetch });

    // Act
    const result = await notifier.post('Rollout of *checkout* started');

    // Assert
    expect(result).toEqual({ thread: undefined });
    expect(log.text()).toContain('notification not sent');
    for (const piece of pieces(secret)) expect(log.text()).not.toContain(piece);
  });
});
