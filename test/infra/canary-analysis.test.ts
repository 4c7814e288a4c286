/**
 * The canary analysis in the construct: the `analysis` prop reaches the functions (the period in seconds),
 * the alarm rule and the alarm function's watchers match the service's comparison alarms by prefix, and IAM
 * lets shift create and the others delete only the alarms under that prefix; a plan it cannot judge fails synth.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import { describe, expect, it } from 'vitest';
import { canary } from '../../functions/core/plan';
import { Cutover, type CutoverServiceProps } from '../../infra/cutover';
import { actionsOf, policyStatementsOf, render, testApp, type Json, type Statement } from './example-app';

const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';
const arn = (service: string, resource: string) => `arn:aws:${service}:${REGION}:${ACCOUNT}:${resource}`;
const PREFIX_ARN = `arn:<AWS::Partition>:cloudwatch:${REGION}:${ACCOUNT}:alarm:cutover-analysis-checkout.*`;

function analysedStack(overrides: Partial<CutoverServiceProps>) {
  const app = testApp();
  const stack = new Stack(app, 'Analysed', { env: { account: ACCOUNT, region: REGION } });
  const vpc = ec2.Vpc.fromVpcAttributes(stack, 'Vpc', { vpcId: 'vpc-0123', availabilityZones: ['eu-west-1a'] });
  const cluster = ecs.Cluster.fromClusterAttributes(stack, 'Cluster', { clusterName: 'shop', vpc });
  const service: CutoverServiceProps = {
    name: 'checkout',
    cluster,
    blue: { service: 'checkout-blue', targetGroup: arn('elasticloadbalancing', 'targetgroup/checkout-blue/0123456789abcdef') },
    green: { service: 'checkout-green', targetGroup: arn('elasticloadbalancing', 'targetgroup/checkout-green/fedcba9876543210') },
    listenerArn: arn('elasticloadbalancing', 'listener/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2'),
    containerName: 'app',
    repository: ecr.Repository.fromRepositoryName(stack, 'Repo', 'checkout'),
    alarms: [cloudwatch.Alarm.fromAlarmArn(stack, 'Errors', arn('cloudwatch', 'alarm:checkout-5xx'))],
    taskDefinition: { family: 'checkout', roles: [iam.Role.fromRoleArn(stack, 'TaskRole', `arn:aws:iam::${ACCOUNT}:role/checkout-task`)] },
    ...overrides,
  };
  const cutover = new Cutover(stack, 'Cutover', { services: [service] });
  return { stack, cutover, template: Template.fromStack(stack) };
}

const resourcesOf = (statements: Statement[]) => statements.flatMap((s) => [s.Resource].flat().map((r) => render(r as Json)));
const envOf = (template: Template, variable: string) => {
  const fn = Object.values(template.findResources('AWS::Lambda::Function')).find((f) => f.Properties.Environment?.Variables?.[variable] !== undefined);
  const raw = fn!.Properties.Environment.Variables[variable] as Json;
  return JSON.parse(typeof raw === 'string' ? raw : render(raw));
};

describe('analysis on a service', () => {
  const { stack, cutover, template } = analysedStack({ analysis: { latencyP99: { maxIncreaseMs: 200 }, period: Duration.minutes(2), evaluationPeriods: 2, onInconclusive: 'rollback' } });
  const allowing = (fn: keyof typeof cutover.functions, action: string): Statement[] => {
    const id = stack.getLogicalId((cutover.functions[fn]!.role as iam.Role).node.defaultChild as never);
    return policyStatementsOf(template, id).filter((s) => actionsOf(s).includes(action));
  };

  it('reaches the functions as the service configuration, the period in seconds', () => {
    const [config] = envOf(template, 'CUTOVER_SERVICES');
    expect(config.analysis).toEqual({ latencyP99: { maxIncreaseMs: 200 }, periodSeconds: 120, evaluationPeriods: 2, onInconclusive: 'rollback' });
  });

  it("routes the service's comparison alarms to the alarm function by prefix, and tells it whose they are", () => {
    const rules = Object.values(template.findResources('AWS::Events::Rule')).map((r) => r.Properties.EventPattern);
    const alarmRule = rules.find((p) => p?.source?.[0] === 'aws.cloudwatch');
    expect(alarmRule.detail.alarmName).toEqual(['checkout-5xx', { prefix: 'cutover-analysis-checkout.' }]);
    expect(envOf(template, 'CUTOVER_WATCHERS')[0].comparisonAlarms).toEqual({ prefix: 'cutover-analysis-checkout.', dryRun: false });
  });

  it('lets shift create (and tag) only the comparison alarms of the service, and those that end a canary delete only them', () => {
    expect(resourcesOf(allowing('shift', 'cloudwatch:PutMetricAlarm'))).toEqual([PREFIX_ARN]);
    expect(resourcesOf(allowing('shift', 'cloudwatch:TagResource'))).toEqual([PREFIX_ARN]);
    // (the chat function, made only with `slack`, gets the same)
    for (const fn of ['finalize', 'rollback', 'reconcile', 'prepare'] as const) expect(resourcesOf(allowing(fn, 'cloudwatch:DeleteAlarms'))).toEqual([PREFIX_ARN]);
    expect(allowing('check-alarms', 'cloudwatch:PutMetricAlarm')).toEqual([]);
    expect(resourcesOf(allowing('check-alarms', 'cloudwatch:GetMetricData'))).toEqual(['*']);
  });

  it('grants none of it to a stack without analysis', () => {
    const plain = analysedStack({});
    const id = plain.stack.getLogicalId((plain.cutover.functions.shift.role as iam.Role).node.defaultChild as never);
    expect(policyStatementsOf(plain.template, id).filter((s) => actionsOf(s).includes('cloudwatch:PutMetricAlarm'))).toEqual([]);
  });
});

describe('analysis props the construct refuses', () => {
  it('a bake at a canary weight too short to be judged, naming the step', () => {
    expect(() => analysedStack({ analysis: {}, plan: canary([10, 100], 120) })).toThrow(
      /services\[0\]\.plan\.steps\[1\]: a bake of 120 s at 10% is shorter than the canary analysis needs to judge it/,
    );
  });

  it('a bad analysis setting, naming it', () => {
    expect(() => analysedStack({ analysis: { minRequests: 0 } })).toThrow(/services\[0\]\.analysis\.minRequests: must be a whole number ≥ 1/);
  });
});
