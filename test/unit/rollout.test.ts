import { describe, expect, it } from 'vitest';
import {
  executionName,
  imageUri,
  inactiveRevision,
  isDigest,
  isNewerPush,
  liveSlotFromWeights,
  newestPush,
  percentText,
  shortRevision,
  slotWeights,
  weightsFor,
  weightsText,
} from '../../functions/core/rollout';
import { BLUE_TG, DIGEST, GREEN_TG, OTHER_DIGEST, RETAINED_TD, serviceConfig } from '../fixtures/state';

const ALLOWED = /^[A-Za-z0-9_-]+$/;

describe('executionName', () => {
  const hex = DIGEST.slice('sha256:'.length);

  it('reads as the service and the digest', () => {
    expect(executionName('checkout', DIGEST)).toBe(`checkout-${hex.slice(0, 79 - 'checkout'.length)}`);
  });

  it('is one name per digest and service, whatever tag or delivery brought it', () => {
    expect(executionName('checkout', DIGEST)).toBe(executionName('checkout', DIGEST));
  });

  it.each([
    ['another digest', 'checkout', OTHER_DIGEST],
    ['another service', 'payments', DIGEST],
  ])('differs for %s', (_name, service, digest) => {
    expect(executionName(service, digest)).not.toBe(executionName('checkout', DIGEST));
  });

  it.each([
    ['a 40-character service name', 'c'.repeat(40)],
    ['a service name of 200 characters', 's'.repeat(200)],
    ['a service name with dots, colons and spaces', 'shop.checkout: api v2'],
    ['a service name with unicode', 'küche-ß'],
  ])('stays within 80 allowed characters for %s and keeps at least 39 hex digits of the digest', (_name, service) => {
    const name = executionName(service, DIGEST);

    expect(name.length).toBeLessThanOrEqual(80);
    expect(name).toMatch(ALLOWED);
    expect(name).toContain(`-${hex.slice(0, 39)}`);
  });
});

describe('isNewerPush', () => {
  it.each([
    ['a later push time', { pushedAt: '2026-11-24T10:15:00.002Z', digest: 'sha256:a' }, { pushedAt: '2026-11-24T10:15:00.001Z', digest: 'sha256:b' }, true],
    ['an earlier push time', { pushedAt: '2026-11-24T10:15:00.001Z', digest: 'sha256:b' }, { pushedAt: '2026-11-24T10:15:00.002Z', digest: 'sha256:a' }, false],
    ['the same instant and a higher digest', { pushedAt: '2026-11-24T10:15:00.001Z', digest: 'sha256:b' }, { pushedAt: '2026-11-24T10:15:00.001Z', digest: 'sha256:a' }, true],
    ['the same instant and a lower digest', { pushedAt: '2026-11-24T10:15:00.001Z', digest: 'sha256:a' }, { pushedAt: '2026-11-24T10:15:00.001Z', digest: 'sha256:b' }, false],
    ['the same push', { pushedAt: '2026-11-24T10:15:00.001Z', digest: 'sha256:a' }, { pushedAt: '2026-11-24T10:15:00.001Z', digest: 'sha256:a' }, false],
  ])('orders %s', (_name, a, b, newer) => {
    expect(isNewerPush(a, b)).toBe(newer);
  });

  it('keeps the newest of two pushes, either of which may be missing', () => {
    const older = { pushedAt: '2026-11-24T10:15:00.001Z', digest: 'sha256:a' };
    const newer = { pushedAt: '2026-11-24T10:15:00.002Z', digest: 'sha256:a' };
    expect(newestPush(older, newer)).toBe(newer);
    expect(newestPush(newer, older)).toBe(newer);
    expect(newestPush(undefined, older)).toBe(older);
    expect(newestPush(older, undefined)).toBe(older);
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
    // Raw ALB weights 999/1 and 1/999: traffic on both slots, however little.
    [{ blue: 99.9, green: 0.1 }, undefined],
    [{ blue: 0.1, green: 99.9 }, undefined],
    // Blue below 100 because a third target group has the rest.
    [{ blue: 99.98, green: 0 }, undefined],
  ])('reads %j as live slot %s', (weights, expected) => {
    expect(liveSlotFromWeights(weights)).toBe(expected);
  });
});

describe('slotWeights', () => {
  const { slots } = serviceConfig();

  it('gives each slot the share of its target group', () => {
    expect(slotWeights({ [BLUE_TG]: 99.9, [GREEN_TG]: 0.1 }, slots)).toEqual({ blue: 99.9, green: 0.1 });
  });

  it('reads 0 for a slot whose target group the forward does not name, and leaves other groups out', () => {
    expect(slotWeights({ [BLUE_TG]: 100, 'arn:other': 0 }, slots)).toEqual({ blue: 100, green: 0 });
  });
});

describe('percentText', () => {
  it.each([
    [100, '100'],
    [0, '0'],
    [25, '25'],
    [99.9, '99.9'],
    [0.1, '0.1'],
    [(2 * 100) / 3, '66.7'],
    [(1 * 100) / 4995, '0.02'],
    [(4994 * 100) / 4995, '99.98'],
  ])('shows %d as %s', (weight, expected) => {
    expect(percentText(weight)).toBe(expected);
  });

  it.each([(1 * 100) / 4995, (1 * 100) / 1000, (999 * 100) / 1000, (4994 * 100) / 4995])('never shows a share of %d as 0 or 100', (weight) => {
    expect(['0', '100']).not.toContain(percentText(weight));
    expect(Number(percentText(weight))).not.toBe(0);
    expect(Number(percentText(weight))).not.toBe(100);
  });

  it('writes weights as blue / green', () => {
    expect(weightsText({ blue: 99.9, green: 0.1 })).toBe('blue 99.9 / green 0.1');
  });
});

describe('inactiveRevision', () => {
  it('has nothing to say about an ACTIVE revision', () => {
    expect(inactiveRevision(RETAINED_TD, { definition: { status: 'ACTIVE' } })).toBeUndefined();
  });

  it.each<[string, { definition: Record<string, unknown> } | undefined, string]>([
    ['a deregistered revision', { definition: { status: 'INACTIVE' } }, 'checkout:7 is INACTIVE, not ACTIVE (deregistered outside Cutover)'],
    ['a revision being deleted', { definition: { status: 'DELETE_IN_PROGRESS' } }, 'checkout:7 is DELETE_IN_PROGRESS, not ACTIVE (deregistered outside Cutover)'],
    ['a revision ECS no longer knows', undefined, 'checkout:7 no longer exists'],
    ['a revision without a status', { definition: {} }, 'checkout:7 has no ACTIVE status'],
  ])('explains %s', (_name, found, expected) => {
    expect(inactiveRevision(RETAINED_TD, found)).toBe(expected);
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

  it.each([
    ['cn-north-1', 'amazonaws.com.cn'],
    ['cn-northwest-1', 'amazonaws.com.cn'],
    ['us-gov-west-1', 'amazonaws.com'],
    ['us-iso-east-1', 'c2s.ic.gov'],
    ['us-isob-east-1', 'sc2s.sgov.gov'],
  ])("uses the partition's DNS suffix in %s", (region, suffix) => {
    expect(imageUri('123456789012', region, 'checkout', DIGEST)).toBe(`123456789012.dkr.ecr.${region}.${suffix}/checkout@${DIGEST}`);
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
