import { describe, expect, it } from 'vitest';
import { ConfigMessage } from '../../functions/core/config';
import { ErrorName, InvalidInputError } from '../../functions/core/errors';
import { assertRolloutInput, requireLive, requireRevision, rolloutInputProblems } from '../../functions/core/input';
import { DIGEST, registeredState as rolloutState, rolloutInput } from '../fixtures/state';

describe('rolloutInputProblems', () => {
  it('accepts the input the start function builds', () => {
    expect(rolloutInputProblems(rolloutInput())).toEqual([]);
  });

  it.each<[string, (s: Record<string, any>) => void, string[]]>([
    ['a rollout id with a colon', (s) => (s.rolloutId = 'checkout:1'), ['rolloutId: must be 1-80 letters, digits, - or _']],
    ['a rollout id of 81 characters', (s) => (s.rolloutId = 'r'.repeat(81)), ['rolloutId: must be 1-80 letters, digits, - or _']],
    ['a service without alarms', (s) => (s.service.alarms = []), [`service.alarms: ${ConfigMessage.NO_ALARMS}`]],
    ['a missing image', (s) => delete s.image, ['image: must be an object']],
    ['an image without repository', (s) => delete s.image.repository, ['image.repository: is required']],
    ['an image pinned to a tag', (s) => (s.image.uri = '123456789012.dkr.ecr.us-east-1.amazonaws.com/checkout:v1.4.2'), ['image.uri: must be <registry>/<repository>@sha256:<digest>']],
    ['a digest of the wrong form', (s) => (s.image.digest = 'sha256:abc'), ['image.digest: must be sha256: followed by 64 hex characters']],
  ])('refuses %s', (_name, change, expected) => {
    const input = JSON.parse(JSON.stringify(rolloutInput())) as Record<string, any>;
    change(input);

    expect(rolloutInputProblems(input)).toEqual(expected);
  });

  it('refuses a non-object', () => {
    expect(rolloutInputProblems('checkout')).toEqual(['input: must be an object']);
  });

  it('keeps the sample digest well-formed', () => {
    expect(rolloutInput().image.digest).toBe(DIGEST);
  });
});

describe('assertRolloutInput', () => {
  it('throws InvalidInput listing every problem', () => {
    const attempt = () => assertRolloutInput({ rolloutId: '', image: {} });

    expect(attempt).toThrow(InvalidInputError);
    expect(attempt).toThrow(
      expect.objectContaining({ name: ErrorName.InvalidInput, problems: expect.arrayContaining(['rolloutId: must be 1-80 letters, digits, - or _', 'image.repository: is required']) }),
    );
  });
});

describe('requireLive and requireRevision', () => {
  it('return the results of prepare and register', () => {
    const state = rolloutState();

    expect(requireLive(state)).toBe(state.live);
    expect(requireRevision(state)).toBe(state.revision);
  });

  it.each([
    ['live', () => requireLive(rolloutInput()), 'live: missing (prepare has not run)'],
    ['revision', () => requireRevision({ ...rolloutState(), revision: undefined }), 'revision: missing (register has not run)'],
  ])('throw InvalidInput when %s is missing', (_name, attempt, problem) => {
    expect(attempt).toThrow(expect.objectContaining({ name: ErrorName.InvalidInput, problems: [problem] }));
  });
});
