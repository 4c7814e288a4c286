/**
 * The bad-input corpus (`test/fixtures/bad-input/`): malformed and hostile ECR pushes, alarm state changes,
 * ECS events and Slack requests, delivered while a rollout is in flight (at 10%, baking). Each gets a clear
 * error naming what is wrong, or a logged ignore with the reason, and changes nothing.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signSlackRequest } from '../../functions/chat/slack-signature';
import type { Log } from '../../functions/core/ports';
import { canary } from '../../functions/core/plan';
import { until } from '../../infra/local/demo';
import { DEMO } from '../../infra/local/environment';
import { ecrPushEvent } from '../../infra/local/events';
import { startEmulator, type Emulator } from '../../infra/local/moto';
import { DEMO_CHAT, LOCAL_SIGNING_SECRET, LocalRuntime, type UrlResponse } from '../../infra/local/runtime';
import { observe, waitBounded } from './reliability';

const CORPUS = join(import.meta.dirname, '..', 'fixtures', 'bad-input');

interface SlackCase {
  readonly text: string;
  readonly user?: string;
  readonly channel?: string;
  readonly method?: string;
  /** Sign with this secret instead of the local one. */
  readonly secret?: string;
  /** Send this signature header as is (null: none). */
  readonly signature?: string | null;
  readonly signatureVersion?: string;
  /** Send this timestamp header as is. */
  readonly timestamp?: string;
  /** Seconds before now the request was signed (negative: in the future). */
  readonly age?: number;
  /** Sign `text`, then send this instead. */
  readonly tamperedText?: string;
  readonly repeat?: { readonly text: string; readonly times: number; readonly at: 'start' | 'end' };
}

interface BadInput {
  readonly case: string;
  readonly target: 'start' | 'alarm' | 'chat';
  readonly event?: unknown;
  readonly bus?: 'delivered' | 'filtered';
  readonly expand?: ReadonlyArray<{ readonly path: ReadonlyArray<string | number>; readonly repeat: string; readonly times: number }>;
  readonly slack?: SlackCase;
  readonly expect: { readonly error?: string; readonly message?: string; readonly ignored?: string; readonly status?: number; readonly body?: string };
}

const files = readdirSync(CORPUS)
  .filter((f) => f.endsWith('.json'))
  .sort();

function load(file: string): BadInput {
  const input = JSON.parse(readFileSync(join(CORPUS, file), 'utf8')) as BadInput;
  for (const { path, repeat, times } of input.expand ?? []) {
    const parent = path.slice(0, -1).reduce<Record<string | number, unknown>>((o, k) => o[k] as Record<string | number, unknown>, input.event as Record<string, unknown>);
    parent[path.at(-1)!] = repeat.repeat(times);
  }
  return input;
}

/** A log that keeps every line. */
const lines: Array<{ level: string; message: string; fields?: Record<string, unknown> }> = [];
const log: Log = {
  info: (message, fields) => lines.push({ level: 'info', message, fields }),
  warn: (message, fields) => lines.push({ level: 'warn', message, fields }),
  error: (message, fields) => lines.push({ level: 'error', message, fields }),
};

let emulator: Emulator;
let runtime: LocalRuntime;
let before: unknown;

/** Everything a bad input must leave as it was. */
async function snapshot() {
  return {
    ...(await observe(runtime)),
    executions: [...runtime.sfn.executions.values()].map((e) => ({ name: e.name, status: e.status, states: e.states.length })),
    waiting: runtime.sfn.waitingTasks().map((t) => t.state),
  };
}

function slackRequest(s: SlackCase): Promise<UrlResponse> {
  const pad = s.repeat ? s.repeat.text.repeat(s.repeat.times) : '';
  const text = s.repeat?.at === 'start' ? pad + s.text : s.text + pad;
  const form = (t: string) =>
    new URLSearchParams({
      team_id: 'TDEMO0TEAM',
      channel_id: s.channel ?? DEMO_CHAT.channel,
      user_id: s.user ?? DEMO_CHAT.user,
      command: '/cutover',
      text: t,
      response_url: 'http://127.0.0.1:9/slack-response',
    }).toString();
  const timestamp = Math.floor(Date.now() / 1000) - (s.age ?? 0);
  const signed = signSlackRequest(s.secret ?? LOCAL_SIGNING_SECRET, form(text), timestamp).replace(/^v0=/, `${s.signatureVersion ?? 'v0'}=`);
  const headers: Record<string, string> = { 'x-slack-request-timestamp': s.timestamp ?? String(timestamp) };
  if (s.signature !== null) headers['x-slack-signature'] = s.signature ?? signed;
  return runtime.slackRaw(form(s.tamperedText ?? text), headers, s.method ?? 'POST');
}

/** What a function did with an event: its result, or the error it failed with. */
async function outcome(run: () => Promise<unknown>): Promise<{ result?: unknown; error?: { name: string; message: string } }> {
  try {
    return { result: await run() };
  } catch (error) {
    return { error: { name: (error as Error).name, message: (error as Error).message } };
  }
}

function assertOutcome(input: BadInput, got: { result?: unknown; error?: { name: string; message: string } }) {
  if (input.expect.error) {
    expect(got.error?.name, JSON.stringify(got.result)).toBe(input.expect.error);
    expect(got.error?.message).toContain(input.expect.message);
  } else {
    expect(got.error, got.error?.message).toBeUndefined();
    expect((got.result as { ignored?: string }).ignored).toContain(input.expect.ignored);
    expect((got.result as { aborted?: unknown[] }).aborted ?? []).toEqual([]);
    expect((got.result as { started?: unknown[] }).started ?? []).toEqual([]);
  }
}

beforeAll(async () => {
  emulator = await startEmulator();
  // A day-long bake (86 s here): the rollout waits at 10% while the corpus is delivered.
  runtime = await LocalRuntime.start({ emulator, timeScale: 0.001, retryMs: 1, notifications: false, log, services: [{ service: { plan: canary([10, 100], 86_400) } }] });
  const { digest } = await runtime.env.pushImage('v2');
  await runtime.deliver(ecrPushEvent({ repository: DEMO.repository, digest, tag: 'v2' }));
  await until(async () => runtime.sfn.waitingTasks().some((t) => t.state === 'Bake') && (await runtime.ports.store.getLock(DEMO.service))?.wait?.kind === 'bake', 30_000);
  before = await snapshot();
});

afterAll(async () => {
  // End the rollout the corpus ran against (an operator's rollback), then stop.
  if (runtime) {
    // A rollout in flight: its rollback is answered (and the traffic moved) in the request itself.
    await runtime.slack('rollback checkout end of the bad-input corpus');
    await waitBounded(runtime);
    await runtime.stop();
  }
  await emulator?.stop();
});

describe('bad-input corpus', () => {
  it('holds cases for every function that takes outside input', () => {
    expect(new Set(files.map((f) => load(f).target))).toEqual(new Set(['start', 'alarm', 'chat']));
    expect(files.length).toBeGreaterThanOrEqual(80);
  });

  it.each(files)('%s: refused or ignored, and nothing changes', async (file) => {
    // Arrange
    const input = load(file);
    lines.length = 0;

    // Act + Assert: the outcome
    if (input.target === 'chat') {
      const response = await slackRequest(input.slack!);
      expect(response.statusCode).toBe(input.expect.status);
      const text = response.statusCode === 200 ? (JSON.parse(response.body) as { text: string }).text : response.body;
      expect(text).toContain(input.expect.body);
    } else {
      const delivery = await runtime.deliver(input.event);
      if (input.bus === 'filtered') {
        expect(delivery, 'the rule lets it through').toEqual({});
      } else {
        expect(delivery.target).toBe(input.target);
        assertOutcome(input, delivery);
      }
      // Straight to the function as well: the rule is not the only guard.
      assertOutcome(input, await outcome(() => runtime.functions[input.target]!(structuredClone(input.event))));
      if (input.expect.ignored) expect(lines.some((l) => l.level === 'info' && String(l.fields?.reason).includes(input.expect.ignored!))).toBe(true);
    }

    // Assert: nothing changed
    expect(await snapshot()).toEqual(before);
  });
});
