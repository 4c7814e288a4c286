import { describe, expect, it } from 'vitest';
import { ConfigMessage, DEFAULT_TIMINGS, otherSlot, servicesFromEnv, validateServiceConfig, validateServices, withDefaults, type ServiceConfig } from '../../functions/core/config';
import { ErrorName, InvalidConfigError } from '../../functions/core/errors';
import { CanaryPlan, DEFAULT_PLAN, PlanMessage } from '../../functions/core/plan';
import { ownResources } from '../fixtures/own-resources';
import { BLUE_TG, serviceConfig, serviceInput } from '../fixtures/state';

/** A valid config changed by `change`; JSON round-trip so the change may break types freely. */
function changed(change: (c: Record<string, any>) => void): unknown {
  const config = JSON.parse(JSON.stringify(serviceConfig())) as Record<string, any>;
  change(config);
  return config;
}

describe('validateServiceConfig', () => {
  it('accepts the sample service with defaults applied', () => {
    expect(validateServiceConfig(serviceConfig())).toEqual([]);
  });

  it.each([
    ['a 40-character name of letters, digits, - and _', (c: Record<string, any>) => (c.name = 'Checkout_api-v2'.padEnd(40, 'x'))],
    ['a cluster ARN', (c: Record<string, any>) => (c.cluster = 'arn:aws:ecs:us-east-1:123456789012:cluster/shop')],
    ['a listener-rule ARN', (c: Record<string, any>) => (c.listenerArn = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/shop/1/2/3')],
    ['a GovCloud target group ARN', (c: Record<string, any>) => (c.slots.green.targetGroupArn = 'arn:aws-us-gov:elasticloadbalancing:us-gov-west-1:123456789012:targetgroup/g/1')],
    ['a single alarm', (c: Record<string, any>) => (c.alarms = ['checkout-5xx'])],
    ['timings of 1 second', (c: Record<string, any>) => (c.timings = { rollbackWindowSeconds: 1, steadyPollSeconds: 1, steadyMaxChecks: 1 })],
    ['a preset plan', (c: Record<string, any>) => (c.plan = CanaryPlan.LINEAR_20_PERCENT_1M)],
  ])('accepts %s', (_name, change) => {
    expect(validateServiceConfig(changed(change))).toEqual([]);
  });

  it.each([
    ['null', () => null, [`service: ${ConfigMessage.NOT_OBJECT}`]],
    ['a string', () => 'checkout', [`service: ${ConfigMessage.NOT_OBJECT}`]],
  ])('refuses %s as a whole', (_name, make, expected) => {
    expect(validateServiceConfig(make())).toEqual(expected);
  });

  it.each<[string, (c: Record<string, any>) => void, string]>([
    ['a name with a space', (c) => (c.name = 'check out'), `service.name: ${ConfigMessage.NAME}`],
    ['a name of 41 characters', (c) => (c.name = 'x'.repeat(41)), `service.name: ${ConfigMessage.NAME}`],
    ['an empty name', (c) => (c.name = ''), `service.name: ${ConfigMessage.NAME}`],
    ['a name with shell characters', (c) => (c.name = 'checkout;rm -rf /'), `service.name: ${ConfigMessage.NAME}`],
    ['a missing cluster', (c) => delete c.cluster, `service.cluster: ${ConfigMessage.REQUIRED}`],
    ['an empty container name', (c) => (c.containerName = ''), `service.containerName: ${ConfigMessage.REQUIRED}`],
    ['a repository that is not a string', (c) => (c.repository = 42), `service.repository: ${ConfigMessage.REQUIRED}`],
    ['a missing listener', (c) => delete c.listenerArn, `service.listenerArn: ${ConfigMessage.REQUIRED}`],
    ['a listener that is not an ARN', (c) => (c.listenerArn = 'my-listener'), `service.listenerArn: ${ConfigMessage.ARN}`],
    ['slots that are not an object', (c) => (c.slots = 'blue,green'), `service.slots: ${ConfigMessage.NOT_OBJECT}`],
    ['a missing green slot', (c) => delete c.slots.green, `service.slots.green: ${ConfigMessage.NOT_OBJECT}`],
    ['a slot without a service name', (c) => delete c.slots.blue.serviceName, `service.slots.blue.serviceName: ${ConfigMessage.REQUIRED}`],
    ['a slot without a target group', (c) => (c.slots.green.targetGroupArn = ''), `service.slots.green.targetGroupArn: ${ConfigMessage.REQUIRED}`],
    ['a target group that is not an ARN', (c) => (c.slots.green.targetGroupArn = 'checkout-green'), `service.slots.green.targetGroupArn: ${ConfigMessage.ARN}`],
    ['the same ECS service in both slots', (c) => (c.slots.green.serviceName = c.slots.blue.serviceName), `service.slots: ${ConfigMessage.SAME_SERVICE}`],
    ['the same target group in both slots', (c) => (c.slots.green.targetGroupArn = BLUE_TG), `service.slots: ${ConfigMessage.SAME_TARGET_GROUP}`],
    ['alarms that are not a list', (c) => (c.alarms = 'checkout-5xx'), `service.alarms: ${ConfigMessage.ALARMS}`],
    ['an empty alarm name', (c) => (c.alarms = ['checkout-5xx', '']), `service.alarms: ${ConfigMessage.ALARMS}`],
    ['no alarms', (c) => (c.alarms = []), `service.alarms: ${ConfigMessage.NO_ALARMS}`],
    ['an alarm listed twice', (c) => (c.alarms = ['checkout-5xx', 'checkout-p99-latency', 'checkout-5xx']), `service.alarms[2]: ${ConfigMessage.DUPLICATE_ALARM}`],
    ['timings that are not an object', (c) => (c.timings = 900), `service.timings: ${ConfigMessage.NOT_OBJECT}`],
    ['a zero poll interval', (c) => (c.timings.steadyPollSeconds = 0), `service.timings.steadyPollSeconds: ${ConfigMessage.TIMING}`],
    ['a fractional check count', (c) => (c.timings.steadyMaxChecks = 2.5), `service.timings.steadyMaxChecks: ${ConfigMessage.TIMING}`],
    ['a timing given as a string', (c) => (c.timings.rollbackWindowSeconds = '900'), `service.timings.rollbackWindowSeconds: ${ConfigMessage.TIMING}`],
    ['a missing timing', (c) => delete c.timings.steadyMaxChecks, `service.timings.steadyMaxChecks: ${ConfigMessage.TIMING}`],
    ['a plan that does not reach 100%', (c) => (c.plan = { steps: [{ kind: 'setWeight', weight: 50 }] }), `service.plan.steps: ${PlanMessage.LAST_WEIGHT_NOT_100}`],
    ['a missing plan', (c) => delete c.plan, `service.plan: ${PlanMessage.NOT_OBJECT}`],
  ])('refuses %s', (_name, change, expected) => {
    expect(validateServiceConfig(changed(change))).toEqual([expected]);
  });

  it('returns every problem at once, each with its path', () => {
    const config = changed((c) => {
      c.name = 'bad name';
      c.listenerArn = 'nope';
      c.slots.green.serviceName = 'checkout-blue';
      c.alarms = [];
      c.plan.steps[2] = { kind: 'setWeight', weight: 5 };
      c.timings.steadyPollSeconds = -1;
    });

    expect(validateServiceConfig(config, 'services[1]')).toEqual([
      `services[1].name: ${ConfigMessage.NAME}`,
      `services[1].listenerArn: ${ConfigMessage.ARN}`,
      `services[1].slots: ${ConfigMessage.SAME_SERVICE}`,
      `services[1].alarms: ${ConfigMessage.NO_ALARMS}`,
      `services[1].plan.steps[2].weight: ${PlanMessage.WEIGHT_DECREASES}`,
      `services[1].timings.steadyPollSeconds: ${ConfigMessage.TIMING}`,
    ]);
  });
});

describe('validateServices', () => {
  it('accepts two services with different names', () => {
    const services = [serviceConfig(), serviceConfig({ name: 'payments', repository: 'payments', ...ownResources('payments') })];

    expect(validateServices(services)).toEqual([]);
  });

  it('refuses a service name used twice, naming the second', () => {
    const services = [serviceConfig(), serviceConfig({ repository: 'checkout-v2', ...ownResources('checkout-v2') })];

    expect(validateServices(services)).toEqual([`services[1].name: ${ConfigMessage.DUPLICATE_SERVICE}`]);
  });

  it('indexes the problems of each service by its position', () => {
    const services = [serviceConfig(), null, serviceConfig({ name: 'payments', alarms: [], ...ownResources('payments') })];

    expect(validateServices(services)).toEqual([`services[1]: ${ConfigMessage.NOT_OBJECT}`, `services[2].alarms: ${ConfigMessage.NO_ALARMS}`]);
  });
});

describe('withDefaults', () => {
  it('fills in the default plan and timings', () => {
    const config = withDefaults(serviceInput());

    expect(config.plan).toEqual(DEFAULT_PLAN);
    expect(config.timings).toEqual(DEFAULT_TIMINGS);
  });

  it('keeps the timings that are given and defaults the others', () => {
    const config = withDefaults(serviceInput({ timings: { steadyMaxChecks: 4 } }));

    expect(config.timings).toEqual({ rollbackWindowSeconds: 900, steadyPollSeconds: 15, steadyMaxChecks: 4 });
  });
});

describe('servicesFromEnv', () => {
  it('parses the services, applies defaults and keeps what was given', () => {
    const json = JSON.stringify([serviceInput({ plan: CanaryPlan.TEN_PERCENT_5M, timings: { steadyPollSeconds: 5 } })]);

    const services = servicesFromEnv(json);

    const expected: ServiceConfig = { ...serviceConfig(), plan: CanaryPlan.TEN_PERCENT_5M, timings: { ...DEFAULT_TIMINGS, steadyPollSeconds: 5 } };
    expect(services).toEqual([expected]);
  });

  it.each([
    ['text that is not JSON', '[{"name": "checkout"', /^not valid JSON: /],
    ['a JSON object instead of an array', JSON.stringify(serviceInput()), /^must be a JSON array of services$/],
  ])('refuses %s with InvalidConfig', (_name, json, problem) => {
    const attempt = () => servicesFromEnv(json);

    expect(attempt).toThrow(InvalidConfigError);
    try {
      attempt();
    } catch (error) {
      const e = error as InvalidConfigError;
      expect(e.name).toBe(ErrorName.InvalidConfig);
      expect(e.problems).toHaveLength(1);
      expect(e.problems[0]).toMatch(problem);
    }
  });

  it('lists every problem of every service in one InvalidConfig error', () => {
    const json = JSON.stringify([serviceInput(), serviceInput({ ...ownResources('eu'), listenerArn: 'x' }), serviceInput({ ...ownResources('us'), alarms: [] }), 'checkout']);

    let caught: unknown;
    try {
      servicesFromEnv(json);
    } catch (error) {
      caught = error;
    }

    expect(caught).toBeInstanceOf(InvalidConfigError);
    expect((caught as InvalidConfigError).problems).toEqual([
      `services[1].listenerArn: ${ConfigMessage.ARN}`,
      `services[2].alarms: ${ConfigMessage.NO_ALARMS}`,
      `services[3]: ${ConfigMessage.NOT_OBJECT}`,
      `services[1].name: ${ConfigMessage.DUPLICATE_SERVICE}`,
      `services[2].name: ${ConfigMessage.DUPLICATE_SERVICE}`,
    ]);
    expect((caught as Error).message).toMatch(/^CUTOVER_SERVICES is invalid: /);
  });
});

describe('otherSlot', () => {
  it.each([
    ['blue', 'green'],
    ['green', 'blue'],
  ] as const)('pairs %s with %s', (slot, other) => {
    expect(otherSlot(slot)).toBe(other);
  });
});
