/**
 * Prop validation at synth: the run-time validators (validateServices, which runs validatePlan) on the
 * config the construct builds, with errors that name the prop. A passing and a failing case per rule.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigMessage } from '../../functions/core/config';
import { CanaryPlan, PlanMessage, type CanaryPlan as Plan } from '../../functions/core/plan';
import { Cutover, type CutoverProps, type CutoverServiceProps } from '../../infra/cutover';
import { ExampleEnvironment } from '../../infra/example-environment';
import { actionsOf, policyStatementsOf, testApp } from './example-app';

const RULE_ARN = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/checkout/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee';

describe('Cutover props', () => {
  let stack: Stack;
  let env: ExampleEnvironment;
  /** A second environment: a second service needs its own ECS services, target groups and listener. */
  let other: ExampleEnvironment;
  let count = 0;
  /** A valid service (on `env` unless told), with the given props replaced. */
  let service: (overrides?: Partial<CutoverServiceProps>, on?: ExampleEnvironment) => CutoverServiceProps;
  /** Builds a Cutover in the shared stack (a fresh id each time). */
  const build = (props: CutoverProps) => new Cutover(stack, `Cutover${++count}`, props);

  beforeAll(() => {
    stack = new Stack(testApp(), 'Validation');
    env = new ExampleEnvironment(stack, 'Environment');
    other = new ExampleEnvironment(stack, 'Other');
    service = (overrides = {}, on = env) => ({
      name: 'checkout',
      cluster: on.cluster,
      blue: on.blue,
      green: on.green,
      listener: on.listener,
      containerName: 'app',
      repository: on.repository,
      alarms: [on.errorAlarm, on.latencyAlarm],
      ...overrides,
    });
  });

  const badPlan: Plan = {
    steps: [
      { kind: 'setWeight', weight: 10 },
      { kind: 'setWeight', weight: 120 },
    ],
  };
  const customPlan: Plan = {
    steps: [
      { kind: 'setWeight', weight: 50 },
      { kind: 'bake', seconds: 60 },
      { kind: 'setWeight', weight: 100 },
    ],
  };

  // Each rule: a props change that breaks it, the message it must give, and a nearby change that passes.
  const rules: Array<{ rule: string; bad: () => CutoverProps; error: string; good: () => CutoverProps }> = [
    {
      rule: 'at least one service',
      bad: () => ({ services: [] }),
      error: 'services: must list at least one service',
      good: () => ({ services: [service()] }),
    },
    {
      rule: 'service name',
      bad: () => ({ services: [service({ name: 'check out!' })] }),
      error: `services[0].name: ${ConfigMessage.NAME}`,
      good: () => ({ services: [service({ name: 'checkout_v2' })] }),
    },
    {
      rule: 'unique service names',
      bad: () => ({ services: [service(), service({}, other)] }),
      error: `services[1].name: ${ConfigMessage.DUPLICATE_SERVICE}`,
      good: () => ({ services: [service(), service({ name: 'checkout-eu' }, other)] }),
    },
    {
      rule: 'at least one alarm',
      bad: () => ({ services: [service({ alarms: [] })] }),
      error: `services[0].alarms: ${ConfigMessage.NO_ALARMS}`,
      good: () => ({ services: [service({ alarms: [env.errorAlarm] })] }),
    },
    {
      rule: 'no alarm twice',
      bad: () => ({ services: [service({ alarms: [env.errorAlarm, env.errorAlarm] })] }),
      error: `services[0].alarms[1]: ${ConfigMessage.DUPLICATE_ALARM}`,
      good: () => ({ services: [service({ alarms: [env.errorAlarm, env.latencyAlarm] })] }),
    },
    {
      rule: 'plan step weights',
      bad: () => ({ services: [service({ plan: badPlan })] }),
      error: `services[0].plan.steps[1].weight: ${PlanMessage.WEIGHT_RANGE}`,
      good: () => ({ services: [service({ plan: customPlan })] }),
    },
    {
      rule: 'plan ends at 100',
      bad: () => ({ services: [service({ plan: { steps: [{ kind: 'setWeight', weight: 50 }] } })] }),
      error: `services[0].plan.steps: ${PlanMessage.LAST_WEIGHT_NOT_100}`,
      good: () => ({ services: [service({ plan: CanaryPlan.ALL_AT_ONCE })] }),
    },
    {
      rule: 'plan bakes follow a weight',
      bad: () => ({
        services: [
          service({
            plan: {
              steps: [
                { kind: 'bake', seconds: 60 },
                { kind: 'setWeight', weight: 100 },
              ],
            },
          }),
        ],
      }),
      error: `services[0].plan.steps[0]: ${PlanMessage.BAKE_BEFORE_WEIGHT}`,
      good: () => ({ services: [service({ plan: CanaryPlan.TEN_PERCENT_5M })] }),
    },
    {
      rule: 'two different ECS services',
      bad: () => ({ services: [service({ green: { service: env.blue.service, targetGroup: env.green.targetGroup } })] }),
      error: `services[0].blue/green: ${ConfigMessage.SAME_SERVICE}`,
      good: () => ({ services: [service({ green: env.green })] }),
    },
    {
      rule: 'two different target groups',
      bad: () => ({ services: [service({ green: { service: env.green.service, targetGroup: env.blue.targetGroup } })] }),
      error: `services[0].blue/green: ${ConfigMessage.SAME_TARGET_GROUP}`,
      good: () => ({ services: [service({ green: env.green })] }),
    },
    {
      rule: 'container name',
      bad: () => ({ services: [service({ containerName: '' })] }),
      error: `services[0].containerName: ${ConfigMessage.REQUIRED}`,
      good: () => ({ services: [service({ containerName: 'sidecar' })] }),
    },
    {
      rule: 'rollback window in whole seconds',
      bad: () => ({ services: [service({ rollbackWindow: Duration.millis(1500) })] }),
      error: `services[0].rollbackWindow: ${ConfigMessage.TIMING}`,
      good: () => ({ services: [service({ rollbackWindow: Duration.hours(1) })] }),
    },
    {
      rule: 'steady poll interval of at least a second',
      bad: () => ({ services: [service({ steadyPollInterval: Duration.seconds(0) })] }),
      error: `services[0].steadyPollInterval: ${ConfigMessage.TIMING}`,
      good: () => ({ services: [service({ steadyPollInterval: Duration.seconds(5) })] }),
    },
    {
      rule: 'steady checks a positive integer',
      bad: () => ({ services: [service({ steadyMaxChecks: 0 })] }),
      error: `services[0].steadyMaxChecks: ${ConfigMessage.TIMING}`,
      good: () => ({ services: [service({ steadyMaxChecks: 1 })] }),
    },
    {
      rule: 'a worst case far below the 25,000-event execution history limit',
      bad: () => ({ services: [service({ steadyMaxChecks: 1000 })] }),
      error: 'services[0]: its worst case is 26,858 execution history events (7 steps, 1000 steady checks), over the budget of 12,500',
      good: () => ({ services: [service({ steadyMaxChecks: 300 })] }),
    },
    {
      rule: 'listener rule ARN',
      bad: () => ({ services: [service({ listenerRuleArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/checkout/50dc6c495c0c9188/f2f7dc8efc522ab2' })] }),
      error: 'services[0].listenerRuleArn: must be the ARN of an Application Load Balancer listener rule',
      good: () => ({ services: [service({ listenerRuleArn: RULE_ARN })] }),
    },
    {
      rule: 'memory size',
      bad: () => ({ services: [service()], memorySize: 64 }),
      error: 'memorySize: must be an integer from 128 to 10240 (MiB)',
      good: () => ({ services: [service()], memorySize: 1024 }),
    },
    {
      rule: 'reaction memory size',
      bad: () => ({ services: [service()], reactionMemorySize: 20_000 }),
      error: 'reactionMemorySize: must be an integer from 128 to 10240 (MiB)',
      good: () => ({ services: [service()], reactionMemorySize: 3008 }),
    },
  ];

  it.each(rules)('refuses props that break "$rule", naming the prop', ({ bad, error }) => {
    // Arrange
    const props = bad();

    // Act
    const act = () => build(props);

    // Assert
    expect(act).toThrow(error);
  });

  it.each(rules)('accepts props that keep "$rule"', ({ good }) => {
    // Arrange
    const props = good();

    // Act
    const act = () => build(props);

    // Assert
    expect(act).not.toThrow();
  });

  it('reports every problem at once, each with its path', () => {
    // Arrange
    const props = { services: [service({ name: '', alarms: [], plan: badPlan })] };

    // Act
    const act = () => build(props);

    // Assert
    expect(act).toThrow(
      [
        'Cutover: invalid props:',
        `  services[0].name: ${ConfigMessage.NAME}`,
        `  services[0].alarms: ${ConfigMessage.NO_ALARMS}`,
        `  services[0].plan.steps[1].weight: ${PlanMessage.WEIGHT_RANGE}`,
      ].join('\n'),
    );
  });
});

describe('a service whose weights live on a listener rule', () => {
  it('lets shift and rollback modify that rule and not the listener', () => {
    // Arrange
    const stack = new Stack(testApp(), 'Rule');
    const env = new ExampleEnvironment(stack, 'Environment');

    // Act
    const cutover = new Cutover(stack, 'Cutover', {
      services: [
        {
          name: 'checkout',
          cluster: env.cluster,
          blue: env.blue,
          green: env.green,
          listener: env.listener,
          listenerRuleArn: RULE_ARN,
          containerName: 'app',
          repository: env.repository,
          alarms: [env.errorAlarm],
        },
      ],
    });

    // Assert
    const template = Template.fromStack(stack);
    for (const name of ['shift', 'rollback'] as const) {
      const role = stack.getLogicalId(cutover.functions[name].role!.node.defaultChild as never);
      const modifies = policyStatementsOf(template, role).filter((s) => actionsOf(s).some((a) => a.startsWith('elasticloadbalancing:Modify')));
      expect(modifies, name).toEqual([{ Effect: 'Allow', Action: 'elasticloadbalancing:ModifyRule', Resource: RULE_ARN }]);
    }
  });
});

describe("the size of the services list in the start function's environment", () => {
  const withServices = (count: number) => {
    // Several example environments share its fixed names (repository, alarms): CloudFormation would refuse
    // the template, so its validation is off; only the environment variables' size is read here.
    const stack = new Stack(testApp({ cfnValidation: false }), `Services${count}`);
    // Each service on its own environment: two services may not share an ECS service, target group or listener.
    const services = Array.from({ length: count }, (_, i) => {
      const env = new ExampleEnvironment(stack, `Environment${i}`);
      return {
        name: `checkout-${i}`,
        cluster: env.cluster,
        blue: env.blue,
        green: env.green,
        listener: env.listener,
        containerName: 'app',
        repository: env.repository,
        alarms: [env.errorAlarm, env.latencyAlarm],
      };
    });
    new Cutover(stack, 'Cutover', { services });
    return Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('CUTOVER_SERVICES may not fit'));
  };

  it('passes without a warning for two services', () => {
    // Act
    const warnings = withServices(2);

    // Assert
    expect(warnings).toEqual([]);
  });

  it("warns at synth when the list may outgrow Lambda's 4 KB environment", () => {
    // Act
    const warnings = withServices(3);

    // Assert
    expect(warnings).toHaveLength(1);
    expect(String(warnings[0]!.entry.data)).toMatch(/about \d+ bytes for 3 services/);
  });
});
