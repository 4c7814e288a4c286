import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MAX_SKEW_SECONDS, signSlackRequest, verifySlackSignature, type SlackSignatureInput } from '../../functions/chat/slack-signature';

/**
 * Slack's published verification example, verbatim.
 * @see https://api.slack.com/authentication/verifying-requests-from-slack
 */
const SLACK_EXAMPLE: SlackSignatureInput = {
  signingSecret: '8f742231b10e8888abcd99yyyzzz85a5',
  timestamp: '1531420618',
  body:
    'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar' +
    '&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=' +
    '&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN' +
    '&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c',
  signature: 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
  now: 1531420618,
};

const NOW = SLACK_EXAMPLE.now;
const example = (overrides: Partial<SlackSignatureInput> = {}): SlackSignatureInput => ({ ...SLACK_EXAMPLE, ...overrides });
/** Slack's recipe, written out here: `v0=` + hex HMAC-SHA256 of `v0:<timestamp>:<body>`, for any timestamp text. */
const sign = (secret: string, timestamp: string, body: string) => `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
/** The example with its timestamp replaced and signed again with the right secret: only the timestamp can be at fault. */
const resignedAt = (timestamp: string): SlackSignatureInput => example({ timestamp, signature: sign(SLACK_EXAMPLE.signingSecret, timestamp, SLACK_EXAMPLE.body) });
const hex = SLACK_EXAMPLE.signature.slice(3);

describe('verifySlackSignature', () => {
  it("accepts Slack's published verification example", () => {
    expect(verifySlackSignature(SLACK_EXAMPLE)).toBe(true);
  });

  it.each<[string, SlackSignatureInput]>([
    ['a body changed by one character', example({ body: SLACK_EXAMPLE.body.replace('user_name=roadrunner', 'user_name=roadrunnes') })],
    ['a body with a trailing newline', example({ body: `${SLACK_EXAMPLE.body}\n` })],
    ['an empty body under the example signature', example({ body: '' })],
    ['a timestamp changed by one second (still inside the window)', example({ timestamp: '1531420619' })],
    ['a wrong signing secret', example({ signingSecret: '8f742231b10e8888abcd99yyyzzz85a6' })],
    ['a signature of another version (v1=)', example({ signature: `v1=${hex}` })],
    ['a signature without its version', example({ signature: hex })],
    ['a signature in uppercase hex', example({ signature: `v0=${hex.toUpperCase()}` })],
    ['a signature truncated by one character', example({ signature: SLACK_EXAMPLE.signature.slice(0, -1) })],
    ['a signature with one extra character', example({ signature: `${SLACK_EXAMPLE.signature}0` })],
    ['a signature with a non-hex character', example({ signature: `${SLACK_EXAMPLE.signature.slice(0, -1)}g` })],
    ['a signature with surrounding spaces', example({ signature: ` ${SLACK_EXAMPLE.signature} ` })],
    ['an empty signature', example({ signature: '' })],
    ['an empty timestamp', resignedAt('')],
    ['an empty signing secret, even with a signature made with the empty key', example({ signingSecret: '', signature: sign('', SLACK_EXAMPLE.timestamp, SLACK_EXAMPLE.body) })],
    ['a non-numeric timestamp', resignedAt('yesterday')],
    ['a timestamp with a decimal part', resignedAt('1531420618.0')],
    ['a timestamp with a sign', resignedAt('+1531420618')],
    ['a timestamp with a leading space', resignedAt(' 1531420618')],
    ['a timestamp in hex', resignedAt('0x5B4772CA')],
    ['a timestamp in exponent notation', resignedAt('1.531420618e9')],
    ['a timestamp 301 s old (stale)', example({ now: NOW + MAX_SKEW_SECONDS + 1 })],
    ['a timestamp 301 s ahead (future)', example({ now: NOW - MAX_SKEW_SECONDS - 1 })],
    ['a correctly signed timestamp 301 s old', resignedAt(String(NOW - 301))],
    ['a correctly signed timestamp 301 s ahead', resignedAt(String(NOW + 301))],
    ['a current time that is not a number', example({ now: Number.NaN })],
  ])('refuses %s', (_case, input) => {
    expect(verifySlackSignature(input)).toBe(false);
  });

  it.each<[string, SlackSignatureInput]>([
    ['exactly 300 s old', example({ now: NOW + 300 })],
    ['exactly 300 s ahead', example({ now: NOW - 300 })],
    ['signed 300 s before now', resignedAt(String(NOW - 300))],
    ['signed 300 s after now', resignedAt(String(NOW + 300))],
  ])('accepts a timestamp %s (the window is inclusive)', (_case, input) => {
    expect(verifySlackSignature(input)).toBe(true);
  });

  it("accepts the example signed again by the test's own recipe (the control for the re-signed cases)", () => {
    expect(verifySlackSignature(resignedAt(SLACK_EXAMPLE.timestamp))).toBe(true);
  });

  it('refuses a request whose header is missing (undefined at run time)', () => {
    const input = { ...SLACK_EXAMPLE, signature: undefined } as unknown as SlackSignatureInput;

    expect(verifySlackSignature(input)).toBe(false);
  });
});

describe('signSlackRequest', () => {
  it("produces Slack's published example signature", () => {
    expect(signSlackRequest(SLACK_EXAMPLE.signingSecret, SLACK_EXAMPLE.body, NOW)).toBe(SLACK_EXAMPLE.signature);
  });

  it.each([
    ['a slash command', 'user_id=U0123ABCD&channel_id=C0123ABCD&text=rollback+checkout+p99+looks+wrong'],
    ['an empty body', ''],
    ['a body with non-ASCII text', 'text=r%C3%BCckrollen&user_id=U0123ABCD&note=réveil ☕'],
  ])('round-trips with verifySlackSignature for %s', (_case, body) => {
    const secret = 'a-signing-secret-of-our-own';
    const timestamp = 1_800_000_000;

    const signature = signSlackRequest(secret, body, timestamp);

    expect(signature).toMatch(/^v0=[0-9a-f]{64}$/);
    expect(verifySlackSignature({ signingSecret: secret, body, timestamp: String(timestamp), signature, now: timestamp })).toBe(true);
    expect(verifySlackSignature({ signingSecret: `${secret}!`, body, timestamp: String(timestamp), signature, now: timestamp })).toBe(false);
  });
});
