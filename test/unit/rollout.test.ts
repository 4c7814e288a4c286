import { describe, expect, it } from 'vitest';
import {
  executionName,
  imageUri,
  isDigest,
  liveSlotFromWeights,
  shortRevision,
  weightsFor,
} from '../../functions/core/rollout';
import { DIGEST, OTHER_DIGEST, PUSHED_AT } from '../fixtures/state';

const ALLOWED = /^[A-Za-z0-9_-]+$/;

describe('executionName', () => {
  it('reads as service, short digest and push time', () => {
    expect(executionName('checkout', DIGEST, PUSHED_AT)).toBe('checkout-1a73d44e2264-20261124T101500Z');
  });

  it('is the same for a duplicate delivery of the same push', () => {
    expect(executionName('checkout', DIGEST, PUSHED_AT)).toBe(executionName('checkout', DIGEST, PUSHED_AT));
  });

  it.each([
    ['another digest', 'checkout', OTHER_DIGEST, PUSHED_AT],
    ['another push time', 'checkout', DIGEST, '2026-11-24T10:15:01Z'],
    ['another service', 'payments', DIGEST, PUSHED_AT],
  ])('differs for %s', (_name, service, digest, at) => {
    expect(executionName(service, digest, at)).not.toBe(executionName('checkout', DIGEST, PUSHED_AT));
  });

  it('drops milliseconds so the same second reads the same', () => {
    expect(executionName('checkout', DIGEST, '2026-11-24T10:15:00.734Z')).toBe('checkout-1a73d44e2264-20261124T101500Z');
  });

  it.each([
    ['a 40-character service name', 'c'.repeat(40)],
    ['a service name of 200 characters', 's'.repeat(200)],
    ['a service name with dots, colons and spaces', 'shop.checkout: api v2'],
    ['a service name with unicode', 'küche-ß'],
  ])('stays within 80 allowed characters for %s', (_name, service) => {
    const name = executionName(service, DIGEST, PUSHED_AT);

    expect(name.length).toBeLessThanOrEqual(80);
    expect(name).toMatch(ALLOWED);
    expect(name).toContain('-1a73d44e2264-20261124T101500Z');
  });

  it('stays valid when the time cannot be read', () => {
    const name = executionName('checkout', DIGEST, 'not a time');

    expect(name).toBe('checkout-1a73d44e2264-unknown-time');
    expect(name).toMatch(ALLOWED);
  });
});

describe('weightsFor', () => {
  it.each([
    ['green', 25, { blue: 75, green: 25 }],
    ['blue', 25, { blue: 25, green: 75 }],
    ['green', 0, { blue: 100, green: 0 }],
    ['green', 100, { blue: 0, green: 100 }],
    ['blue', 100, { blue: 100, green: 0 }],
    ['green', 33.4, { blue: 67, green: 33 }],
    ['green', 150, { blue: 0, green: 100 }],
    ['blue', -10, { blue: 0, green: 100 }],
  ] as const)('puts %s at %d%% as %j', (slot, weight, expected) => {
    const weights = weightsFor(slot, weight);

    expect(weights).toEqual(expected);
    expect(weights.blue + weights.green).toBe(100);
  });
});

describe('liveSlotFromWeights', () => {
  it.each([
    [{ blue: 100, green: 0 }, 'blue'],
    [{ blue: 0, green: 100 }, 'green'],
    [{ blue: 75, green: 25 }, undefined],
    [{ blue: 50, green: 50 }, undefined],
    [{ blue: 0, green: 0 }, undefined],
    [{ blue: 100, green: 100 }, undefined],
  ])('reads %j as live slot %s', (weights, expected) => {
    expect(liveSlotFromWeights(weights)).toBe(expected);
  });
});

describe('isDigest', () => {
  it.each([
    [DIGEST, true],
    [DIGEST.toUpperCase(), false],
    [DIGEST.slice(7), false],
    [`${DIGEST}0`, false],
    ['sha256:', false],
    [undefined, false],
    [42, false],
  ])('reads %j as a digest: %s', (value, expected) => {
    expect(isDigest(value)).toBe(expected);
  });
});

describe('imageUri', () => {
  it('pins the image to its digest in the account and region registry', () => {
    expect(imageUri('123456789012', 'us-east-1', 'checkout', DIGEST)).toBe(`123456789012.dkr.ecr.us-east-1.amazonaws.com/checkout@${DIGEST}`);
  });
});

describe('shortRevision', () => {
  it.each([
    ['arn:aws:ecs:us-east-1:123456789012:task-definition/checkout:7', 'checkout:7'],
    ['checkout:7', 'checkout:7'],
  ])('shortens %s to %s', (arn, expected) => {
    expect(shortRevision(arn)).toBe(expected);
  });
});
