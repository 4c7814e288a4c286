/**
 * A stack whose only resources are Cutover's, on one imported service (names and ARNs in eu-west-1): the infra
 * tests of a single prop build it with that prop.
 */
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Cutover, type CutoverServiceProps } from '../../infra/cutover';
import { testApp } from './example-app';

export const ACCOUNT = '111122223333';
export const REGION = 'eu-west-1';
export const arn = (service: string, resource: string) => `arn:aws:${service}:${REGION}:${ACCOUNT}:${resource}`;
export const LISTENER = arn('elasticloadbalancing', 'listener/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2');

/** The checkout service, imported, with `overrides`; synthesized. */
export function importedServiceStack(id: string, overrides: Partial<CutoverServiceProps>) {
  const app = testApp();
  const stack = new Stack(app, id, { env: { account: ACCOUNT, region: REGION } });
  const vpc = ec2.Vpc.fromVpcAttributes(stack, 'Vpc', { vpcId: 'vpc-0123', availabilityZones: ['eu-west-1a'] });
  const cluster = ecs.Cluster.fromClusterAttributes(stack, 'Cluster', { clusterName: 'shop', vpc });
  const service: CutoverServiceProps = {
    name: 'checkout',
    cluster,
    blue: { service: 'checkout-blue', targetGroup: arn('elasticloadbalancing', 'targetgroup/checkout-blue/0123456789abcdef') },
    green: { service: 'checkout-green', targetGroup: arn('elasticloadbalancing', 'targetgroup/checkout-green/fedcba9876543210') },
    listenerArn: LISTENER,
    containerName: 'app',
    repository: ecr.Repository.fromRepositoryName(stack, 'Repo', 'checkout'),
    alarms: [cloudwatch.Alarm.fromAlarmArn(stack, 'Errors', arn('cloudwatch', 'alarm:checkout-5xx'))],
    taskDefinition: { family: 'checkout', roles: [iam.Role.fromRoleArn(stack, 'TaskRole', `arn:aws:iam::${ACCOUNT}:role/checkout-task`)] },
    ...overrides,
  };
  const cutover = new Cutover(stack, 'Cutover', { services: [service] });
  return { app, stack, cutover, template: Template.fromStack(stack) };
}
