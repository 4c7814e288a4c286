import type { Action } from '@aws-sdk/client-elastic-load-balancing-v2';
import { describe, expect, it } from 'vitest';
import { forwardWeights } from '../../functions/aws/traffic';
import { BLUE_TG, GREEN_TG } from '../fixtures/state';

const OTHER_TG = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/maintenance/0f0f0f0f0f0f0f0f';

const forward = (groups: Array<{ arn: string; weight?: number }>): Action => ({
  Type: 'forward',
  ForwardConfig: { TargetGroups: groups.map((g) => ({ TargetGroupArn: g.arn, Weight: g.weight })) },
});

describe('forwardWeights', () => {
  it.each<[string, Action, Record<string, number>]>([
    [
      '100/0 weights',
      forward([
        { arn: BLUE_TG, weight: 100 },
        { arn: GREEN_TG, weight: 0 },
      ]),
      { [BLUE_TG]: 100, [GREEN_TG]: 0 },
    ],
    [
      'a 75/25 split',
      forward([
        { arn: BLUE_TG, weight: 75 },
        { arn: GREEN_TG, weight: 25 },
      ]),
      { [BLUE_TG]: 75, [GREEN_TG]: 25 },
    ],
    [
      'weights that do not sum to 100, as percent of their total',
      forward([
        { arn: BLUE_TG, weight: 3 },
        { arn: GREEN_TG, weight: 1 },
      ]),
      { [BLUE_TG]: 75, [GREEN_TG]: 25 },
    ],
    [
      'weights up to 999',
      forward([
        { arn: BLUE_TG, weight: 999 },
        { arn: GREEN_TG, weight: 0 },
      ]),
      { [BLUE_TG]: 100, [GREEN_TG]: 0 },
    ],
    // Relative weights are read exactly, never rounded to 100 or 0: 999/1 is split traffic.
    [
      '999/1 as 99.9 / 0.1, not 100 / 0',
      forward([
        { arn: BLUE_TG, weight: 999 },
        { arn: GREEN_TG, weight: 1 },
      ]),
      { [BLUE_TG]: 99.9, [GREEN_TG]: 0.1 },
    ],
    [
      '1/999 as 0.1 / 99.9, not 0 / 100',
      forward([
        { arn: BLUE_TG, weight: 1 },
        { arn: GREEN_TG, weight: 999 },
      ]),
      { [BLUE_TG]: 0.1, [GREEN_TG]: 99.9 },
    ],
    [
      '2/1 as exact thirds',
      forward([
        { arn: BLUE_TG, weight: 2 },
        { arn: GREEN_TG, weight: 1 },
      ]),
      { [BLUE_TG]: 200 / 3, [GREEN_TG]: 100 / 3 },
    ],
    ['two groups without weights as equal', forward([{ arn: BLUE_TG }, { arn: GREEN_TG }]), { [BLUE_TG]: 50, [GREEN_TG]: 50 }],
    ['a group without a weight as weight 1', forward([{ arn: BLUE_TG }, { arn: GREEN_TG, weight: 3 }]), { [BLUE_TG]: 25, [GREEN_TG]: 75 }],
    ['a single group without a weight as 100', forward([{ arn: BLUE_TG }]), { [BLUE_TG]: 100 }],
    [
      'all weights 0 as 0, not a division by zero',
      forward([
        { arn: BLUE_TG, weight: 0 },
        { arn: GREEN_TG, weight: 0 },
      ]),
      { [BLUE_TG]: 0, [GREEN_TG]: 0 },
    ],
    [
      'a third group',
      forward([
        { arn: BLUE_TG, weight: 50 },
        { arn: GREEN_TG, weight: 0 },
        { arn: OTHER_TG, weight: 50 },
      ]),
      { [BLUE_TG]: 50, [GREEN_TG]: 0, [OTHER_TG]: 50 },
    ],
    ['a plain TargetGroupArn forward as that group at 100 (moto)', { Type: 'forward', TargetGroupArn: GREEN_TG }, { [GREEN_TG]: 100 }],
    [
      'the single-group shape AWS returns, with both TargetGroupArn and ForwardConfig',
      { Type: 'forward', TargetGroupArn: BLUE_TG, ForwardConfig: { TargetGroups: [{ TargetGroupArn: BLUE_TG, Weight: 1 }] } },
      { [BLUE_TG]: 100 },
    ],
    ['an empty ForwardConfig with a TargetGroupArn', { Type: 'forward', TargetGroupArn: BLUE_TG, ForwardConfig: { TargetGroups: [] } }, { [BLUE_TG]: 100 }],
    ['a forward with no target group as no weights', { Type: 'forward' }, {}],
  ])('reads %s', (_name, action, expected) => {
    expect(forwardWeights(action)).toEqual(expected);
  });
});
