/**
 * Configuration that cannot collide: no AWS resource managed by two services (validateServices, which the
 * construct runs at synth and servicesFromEnv at run time), and tag filters matched by RE2 in linear time.
 */
import { RE2JS } from 're2js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigMessage, servicesFromEnv, tagMatches, validateServiceConfig, validateServices } from '../../functions/core/config';
import { ErrorName } from '../../functions/core/errors';
import { ownResources } from '../fixtures/own-resources';
import { BLUE_TG, CLUSTER, GREEN_TG, LISTENER_ARN, LISTENER_RULE_ARN, serviceConfig, serviceInput } from '../fixtures/state';

type Change = (c: Record<string, any>) => void;

/** The sample service and a second one with its own resources, the second changed by `change`. */
function twoServices(change: Change): unknown[] {
  const second = JSON.parse(JSON.stringify(serviceConfig({ name: 'payments', repository: 'payments', ...ownResources('payments') }))) as Record<string, any>;
  change(second);
  return [serviceConfig(), second];
}

/** The sample service changed by `change` (JSON round-trip so the change may break types freely). */
function oneService(change: Change): unknown[] {
  const service = JSON.parse(JSON.stringify(serviceConfig())) as Record<string, any>;
  change(service);
  return [service];
}

/** The sample service's ECS service names, in `cluster`. */
function sameServiceNames(c: Record<string, any>, cluster: string): void {
  c.cluster = cluster;
  c.slots.blue.serviceName = 'checkout-blue';
  c.slots.green.serviceName = 'checkout-green';
}

const OTHER_RULE_ARN = LISTENER_RULE_ARN.replace(/[0-9a-f]{16}$/, '0123456789abcdef');
const SHOP_ARN = `arn:aws:ecs:us-east-1:123456789012:cluster/${CLUSTER}`;

describe('validateServices: no resource managed by two services', () => {
  it('accepts two services that each have their own ECS services, target groups and listener', () => {
    expect(validateServices(twoServices(() => {}))).toEqual([]);
  });

  it.each<[string, Change]>([
    ['the same ECS service names in another cluster', (c) => sameServiceNames(c, 'shop-eu')],
    ['the same ECS service names in another cluster given by ARN', (c) => sameServiceNames(c, `${SHOP_ARN}-eu`)],
    ['a listener rule on the listener the other service forwards with', (c) => (c.listenerArn = LISTENER_RULE_ARN)],
    ["another target group whose name matches the other service's", (c) => (c.slots.blue.targetGroupArn = BLUE_TG.replace(/[0-9a-f]{16}$/, 'fedcba9876543210'))],
  ])('accepts %s', (_name, change) => {
    expect(validateServices(twoServices(change))).toEqual([]);
  });

  it('accepts two rules of one listener, one per service', () => {
    const services = [serviceConfig({ listenerArn: LISTENER_RULE_ARN }), serviceConfig({ name: 'payments', ...ownResources('payments'), listenerArn: OTHER_RULE_ARN })];

    expect(validateServices(services)).toEqual([]);
  });

  it.each<[string, Change, string]>([
    [
      'an ECS service of the other service, same slot',
      (c) => (c.slots.blue.serviceName = 'checkout-blue'),
      `services[1].slots.blue.serviceName: ${ConfigMessage.SHARED} services[0].slots.blue.serviceName (shop/checkout-blue)`,
    ],
    [
      'an ECS service of the other service, other slot',
      (c) => (c.slots.green.serviceName = 'checkout-blue'),
      `services[1].slots.green.serviceName: ${ConfigMessage.SHARED} services[0].slots.blue.serviceName (shop/checkout-blue)`,
    ],
    [
      'an ECS service of the other service, its cluster given by ARN',
      (c) => {
        c.cluster = SHOP_ARN;
        c.slots.green.serviceName = 'checkout-green';
      },
      `services[1].slots.green.serviceName: ${ConfigMessage.SHARED} services[0].slots.green.serviceName (shop/checkout-green)`,
    ],
    [
      'a target group of the other service, same slot',
      (c) => (c.slots.blue.targetGroupArn = BLUE_TG),
      `services[1].slots.blue.targetGroupArn: ${ConfigMessage.SHARED} services[0].slots.blue.targetGroupArn (${BLUE_TG})`,
    ],
    [
      'a target group of the other service, other slot',
      (c) => (c.slots.green.targetGroupArn = BLUE_TG),
      `services[1].slots.green.targetGroupArn: ${ConfigMessage.SHARED} services[0].slots.blue.targetGroupArn (${BLUE_TG})`,
    ],
    ['the listener of the other service', (c) => (c.listenerArn = LISTENER_ARN), `services[1].listenerArn: ${ConfigMessage.SHARED} services[0].listenerArn (${LISTENER_ARN})`],
  ])('refuses %s, naming both paths', (_name, change, expected) => {
    expect(validateServices(twoServices(change))).toEqual([expected]);
  });

  it('refuses a listener rule that another service uses too', () => {
    const services = [serviceConfig({ listenerArn: LISTENER_RULE_ARN }), serviceConfig({ name: 'payments', ...ownResources('payments'), listenerArn: LISTENER_RULE_ARN })];

    expect(validateServices(services)).toEqual([`services[1].listenerArn: ${ConfigMessage.SHARED} services[0].listenerArn (${LISTENER_RULE_ARN})`]);
  });

  it.each<[string, Change]>([
    ['different ECS services', (c) => (c.slots.green.serviceName = 'checkout-green-2')],
    ['different target groups', (c) => (c.slots.green.targetGroupArn = GREEN_TG.replace('checkout-green', 'checkout-green-2'))],
  ])('accepts blue and green of one service on %s', (_name, change) => {
    expect(validateServices(oneService(change))).toEqual([]);
  });

  it.each<[string, Change, string]>([
    ['the same ECS service', (c) => (c.slots.green.serviceName = 'checkout-blue'), `services[0].slots: ${ConfigMessage.SAME_SERVICE}`],
    ['the same target group', (c) => (c.slots.green.targetGroupArn = BLUE_TG), `services[0].slots: ${ConfigMessage.SAME_TARGET_GROUP}`],
  ])('refuses blue and green of one service on %s, once', (_name, change, expected) => {
    expect(validateServices(oneService(change))).toEqual([expected]);
  });

  it('names each later service against the first one that uses the resource', () => {
    const services = [0, 1, 2].map((i) => serviceConfig({ name: `svc${i}`, ...ownResources(`svc${i}`), listenerArn: LISTENER_ARN }));

    expect(validateServices(services)).toEqual([
      `services[1].listenerArn: ${ConfigMessage.SHARED} services[0].listenerArn (${LISTENER_ARN})`,
      `services[2].listenerArn: ${ConfigMessage.SHARED} services[0].listenerArn (${LISTENER_ARN})`,
    ]);
  });

  it('reports every shared resource and every other problem at once', () => {
    const services = [serviceConfig(), serviceConfig(), null, { name: 'partial', cluster: CLUSTER, slots: { blue: { serviceName: 'checkout-green' } } }];

    expect(validateServices(services)).toEqual([
      `services[2]: ${ConfigMessage.NOT_OBJECT}`,
      ...validateServiceConfig(services[3], 'services[3]'),
      `services[1].name: ${ConfigMessage.DUPLICATE_SERVICE}`,
      `services[1].slots.blue.serviceName: ${ConfigMessage.SHARED} services[0].slots.blue.serviceName (shop/checkout-blue)`,
      `services[1].slots.blue.targetGroupArn: ${ConfigMessage.SHARED} services[0].slots.blue.targetGroupArn (${BLUE_TG})`,
      `services[1].slots.green.serviceName: ${ConfigMessage.SHARED} services[0].slots.green.serviceName (shop/checkout-green)`,
      `services[1].slots.green.targetGroupArn: ${ConfigMessage.SHARED} services[0].slots.green.targetGroupArn (${GREEN_TG})`,
      `services[1].listenerArn: ${ConfigMessage.SHARED} services[0].listenerArn (${LISTENER_ARN})`,
      `services[3].slots.blue.serviceName: ${ConfigMessage.SHARED} services[0].slots.green.serviceName (shop/checkout-green)`,
    ]);
  });

  it('refuses services sharing a target group in the start function environment with InvalidConfig', () => {
    const env = JSON.stringify([serviceInput(), serviceInput({ name: 'payments', ...ownResources('payments'), slots: { ...ownResources('payments').slots, green: serviceInput().slots.green } })]);

    expect(() => servicesFromEnv(env)).toThrow(
      expect.objectContaining({
        name: ErrorName.InvalidConfig,
        problems: [
          `services[1].slots.green.serviceName: ${ConfigMessage.SHARED} services[0].slots.green.serviceName (shop/checkout-green)`,
          `services[1].slots.green.targetGroupArn: ${ConfigMessage.SHARED} services[0].slots.green.targetGroupArn (${GREEN_TG})`,
        ],
      }),
    );
  });

  it('accepts services with their own resources in the start function environment', () => {
    const env = JSON.stringify([serviceInput(), serviceInput({ name: 'payments', ...ownResources('payments') })]);

    expect(servicesFromEnv(env).map((s) => s.name)).toEqual(['checkout', 'payments']);
  });
});

describe('tagMatches: linear time whatever the pattern', () => {
  // With a backtracking engine (JavaScript's RegExp) the false cases below take exponential (or high
  // polynomial) time and would not finish; that they return at all is the proof, so no timing assertion.
  it.each<[string, string, string, boolean]>([
    ['the nested quantifier /^(a+)+$/', '/^(a+)+$/', 'a'.repeat(300), true],
    ['the nested quantifier /^(a+)+$/', '/^(a+)+$/', `${'a'.repeat(300)}b`, false],
    ['the alternation /^(a|a)*$/', '/^(a|a)*$/', `${'a'.repeat(300)}b`, false],
    ['the glob *a*a*a*a*a*a*a*a*a*a*b', `${'*a'.repeat(10)}*b`, 'a'.repeat(300), false],
    ['the glob *a*a*a*a*a*a*a*a*a*a*', `${'*a'.repeat(10)}*`, 'a'.repeat(300), true],
  ])('%s against a 300-character tag returns %s', (_name, filter, tag, expected) => {
    expect(tagMatches(filter, tag)).toBe(expected);
  });

  it('matches a 300-character tag against a glob', () => {
    const tag = `release-${'1.2.3-'.repeat(48)}rc1`.padEnd(300, 'x');

    expect([tag.length, tagMatches('release-*-rc?*', tag), tagMatches('release-*-rc?', tag)]).toEqual([300, true, false]);
  });

  describe('compiling', () => {
    afterEach(() => {
      vi.restoreAllMocks();
    });

    it('compiles each distinct filter once, however many pushes it matches', () => {
      const compile = vi.spyOn(RE2JS, 'compile');

      const matched = ['v1', 'v2', 'x3', 'v4'].map((tag) => tagMatches('v?-compiled-once*', `${tag}-compiled-once`));
      tagMatches('/^compiled-once-\\d+$/', 'compiled-once-1');
      tagMatches('/^compiled-once-\\d+$/', 'compiled-once-2');

      expect({ matched, compiled: compile.mock.calls.length }).toEqual({ matched: [true, true, false, true], compiled: 2 });
    });
  });
});

describe('validateServiceConfig: a tag filter RE2 can run', () => {
  const withFilter = (tagFilter: unknown) => ({ ...serviceConfig(), tagFilter });

  it.each([['/^release-\\d+$/'], ['/^(main|develop)-[0-9a-f]{7}$/'], ['/^v(?:\\d+\\.){2}\\d+$/'], ['/^(?P<major>\\d+)\\./'], ['/^(a+)+$/'], ['v*-rc?']])('accepts %s', (tagFilter) => {
    expect(validateServiceConfig(withFilter(tagFilter))).toEqual([]);
  });

  it.each([
    ['a lookahead', '/^(?=v)\\w+$/', 'invalid or unsupported Perl syntax: `(?=`'],
    ['a negative lookahead', '/^(?!dev-)\\w+$/', 'invalid or unsupported Perl syntax: `(?!`'],
    ['a lookbehind', '/(?<=v)\\d+$/', 'invalid named capture: `(?<=v)\\d+$`'],
    ['a negative lookbehind', '/(?<!pre)release$/', 'invalid named capture: `(?<!pre)release$`'],
    ['a backreference', '/^(\\w+)-\\1$/', 'invalid escape sequence: `\\1`'],
    ['a possessive quantifier', '/^v\\d++$/', 'invalid nested repetition operator: `++`'],
  ])('refuses %s, saying what RE2 does not support', (_name, tagFilter, why) => {
    expect(validateServiceConfig(withFilter(tagFilter))).toEqual([`service.tagFilter: ${ConfigMessage.TAG_FILTER_RE2} (RE2: ${why})`]);
  });

  it('explains a refused lookahead in words an operator can act on', () => {
    expect(validateServiceConfig(withFilter('/^(?=v)\\w+$/'), 'services[2]')).toEqual([
      'services[2].tagFilter: must be a regex in RE2 syntax, which matches in linear time: no backreferences (\\1) and no lookahead or lookbehind (RE2: invalid or unsupported Perl syntax: `(?=`)',
    ]);
  });
});
