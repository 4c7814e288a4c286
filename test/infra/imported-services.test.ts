/**
 * Bring your own services: slots whose ECS services, target groups and listener were made elsewhere (another
 * stack, another tool, by hand), given by interface or by ARN. Read from the synthesized template: the
 * services the start function gets, and IAM scoped to exactly the imported ARNs.
 */
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { describe, expect, it } from 'vitest';
import { Cutover, type CutoverServiceProps } from '../../infra/cutover';
import { actionsOf, policyStatementsOf, render, testApp, type Json, type Statement } from './example-app';

const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';
const arn = (service: string, resource: string) => `arn:aws:${service}:${REGION}:${ACCOUNT}:${resource}`;
const BLUE_SERVICE = arn('ecs', 'service/shop/checkout-blue');
const BLUE_TG = arn('elasticloadbalancing', 'targetgroup/checkout-blue/0123456789abcdef');
const GREEN_TG = arn('elasticloadbalancing', 'targetgroup/checkout-green/fedcba9876543210');
const LISTENER = arn('elasticloadbalancing', 'listener/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2');
const TASK_ROLE = arn('iam', 'role/checkout-task').replace(`:${REGION}:`, '::');
const EXECUTION_ROLE = arn('iam', 'role/checkout-execution').replace(`:${REGION}:`, '::');

/** A stack whose only resources are Cutover's: everything it manages is imported. */
function importedStack(overrides: (stack: Stack) => Partial<CutoverServiceProps> = () => ({})) {
  const app = testApp();
  const stack = new Stack(app, 'Imported', { env: { account: ACCOUNT, region: REGION } });
  const vpc = ec2.Vpc.fromVpcAttributes(stack, 'Vpc', { vpcId: 'vpc-0123', availabilityZones: ['eu-west-1a'] });
  const cluster = ecs.Cluster.fromClusterAttributes(stack, 'Cluster', { clusterName: 'shop', vpc });
  const service: CutoverServiceProps = {
    name: 'checkout',
    cluster,
    blue: { service: ecs.FargateService.fromFargateServiceAttributes(stack, 'Blue', { cluster, serviceArn: BLUE_SERVICE }), targetGroup: BLUE_TG },
    green: { service: 'checkout-green', targetGroup: elbv2.ApplicationTargetGroup.fromTargetGroupAttributes(stack, 'GreenTg', { targetGroupArn: GREEN_TG }) },
    listenerArn: LISTENER,
    containerName: 'app',
    repository: ecr.Repository.fromRepositoryName(stack, 'Repo', 'checkout'),
    alarms: [cloudwatch.Alarm.fromAlarmArn(stack, 'Errors', arn('cloudwatch', 'alarm:checkout-5xx'))],
    taskDefinition: {
      family: 'checkout',
      roles: [iam.Role.fromRoleArn(stack, 'TaskRole', TASK_ROLE), iam.Role.fromRoleArn(stack, 'ExecutionRole', EXECUTION_ROLE)],
    },
    ...overrides(stack),
  };
  const cutover = new Cutover(stack, 'Cutover', { services: [service] });
  return { stack, cutover, template: Template.fromStack(stack) };
}

/** The statements of a function's role that allow `action`. */
function allowing(stack: Stack, template: Template, role: iam.IRole | undefined, action: string): Statement[] {
  const id = stack.getLogicalId((role as iam.Role).node.defaultChild as never);
  return policyStatementsOf(template, id).filter((s) => actionsOf(s).includes(action));
}
const resourcesOf = (statements: Statement[]) => statements.flatMap((s) => [s.Resource].flat().map((r) => render(r as Json)));

describe('a service whose slots were made outside this app', () => {
  const { stack, cutover, template } = importedStack();

  it('gives the start function the imported services, target groups and listener', () => {
    const start = Object.values(template.findResources('AWS::Lambda::Function')).find((f) => f.Properties.Environment?.Variables?.CUTOVER_SERVICES !== undefined);
    const raw = start!.Properties.Environment.Variables.CUTOVER_SERVICES as Json;
    const [config] = JSON.parse(typeof raw === 'string' ? raw : render(raw));
    expect(config).toMatchObject({
      name: 'checkout',
      cluster: 'shop',
      slots: { blue: { serviceName: 'checkout-blue', targetGroupArn: BLUE_TG }, green: { serviceName: 'checkout-green', targetGroupArn: GREEN_TG } },
      listenerArn: LISTENER,
    });
  });

  it('lets the functions change exactly the two imported services', () => {
    for (const fn of [cutover.functions.deploy, cutover.functions.rollback, cutover.functions.prepare]) {
      expect(new Set(resourcesOf(allowing(stack, template, fn.role, 'ecs:UpdateService')))).toEqual(
        new Set([BLUE_SERVICE, `arn:<AWS::Partition>:ecs:${REGION}:${ACCOUNT}:service/shop/checkout-green`]),
      );
    }
  });

  it('lets the functions modify the imported listener and nothing else', () => {
    expect(resourcesOf(allowing(stack, template, cutover.functions.shift.role, 'elasticloadbalancing:ModifyListener'))).toEqual([LISTENER]);
    expect(allowing(stack, template, cutover.functions.shift.role, 'elasticloadbalancing:ModifyRule')).toEqual([]);
  });

  it('passes only the roles named in taskDefinition, only to ECS tasks', () => {
    const passRole = allowing(stack, template, cutover.functions.register.role, 'iam:PassRole');
    expect(new Set(resourcesOf(passRole))).toEqual(new Set([TASK_ROLE, EXECUTION_ROLE]));
    expect(passRole.every((s) => JSON.stringify(s.Condition) === JSON.stringify({ StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } }))).toBe(true);
  });

  it('tags only revisions of the family named in taskDefinition', () => {
    expect(resourcesOf(allowing(stack, template, cutover.functions.register.role, 'ecs:TagResource'))).toEqual([`arn:<AWS::Partition>:ecs:${REGION}:${ACCOUNT}:task-definition/checkout:*`]);
  });
});

describe('a slot given by listener rule only', () => {
  const RULE = arn('elasticloadbalancing', 'listener-rule/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee');
  const { stack, cutover, template } = importedStack(() => ({ listenerArn: undefined, listenerRuleArn: RULE }));

  it('modifies the rule and no listener', () => {
    expect(resourcesOf(allowing(stack, template, cutover.functions.shift.role, 'elasticloadbalancing:ModifyRule'))).toEqual([RULE]);
    expect(allowing(stack, template, cutover.functions.shift.role, 'elasticloadbalancing:ModifyListener')).toEqual([]);
  });
});

describe('validation of imported slots', () => {
  it.each<[string, (stack: Stack) => Partial<CutoverServiceProps>, string]>([
    [
      'no taskDefinition',
      () => ({ taskDefinition: undefined }),
      "services[0].taskDefinition: required when a slot's service is imported (blue.service, green.service is not an ecs.BaseService built in this app)",
    ],
    [
      'a bad family',
      (s) => ({ taskDefinition: { family: 'checkout:3', roles: [iam.Role.fromRoleArn(s, 'R', TASK_ROLE)] } }),
      'services[0].taskDefinition.family: must be a task-definition family name',
    ],
    ['no roles list', () => ({ taskDefinition: { family: 'checkout' } as never }), "services[0].taskDefinition.roles: must list the task and execution roles of the family's revisions"],
    ['no listener at all', () => ({ listenerArn: undefined }), 'services[0].listener: required: the listener, its ARN (listenerArn) or the ARN of the listener rule (listenerRuleArn)'],
    [
      'both a listener and its ARN',
      (s) => ({ listener: elbv2.ApplicationListener.fromApplicationListenerAttributes(s, 'L', { listenerArn: LISTENER, securityGroup: ec2.SecurityGroup.fromSecurityGroupId(s, 'Sg', 'sg-0123') }) }),
      'services[0].listenerArn: give either listener or listenerArn, not both',
    ],
  ])('refuses %s, naming the prop', (_case, overrides, message) => {
    expect(() => importedStack(overrides)).toThrow(message);
  });

  it('accepts an imported slot once taskDefinition is given (the passing case)', () => {
    expect(() => importedStack()).not.toThrow();
  });
});
