/**
 * A second `npm run demo` (or `local up`) against the same external emulator (`AWS_ENDPOINT_URL`) finds the
 * first run's environment there: a load balancer and target groups whose names are taken, services, and
 * Cutover's records of the service (its lock, the state it last left, its history), which would read as drift.
 *
 * An emulator the user pointed us at is never reset (it may hold other things). Instead, before provisioning,
 * the local environment removes its own previous copy: only the resources that `provision` creates, found by
 * the fixed names it gives them (README, "Quick start"), and the table items of that one service. Anything else
 * on the emulator is left alone. An emulator this process started is new and empty: nothing to remove.
 */
import { BatchWriteItemCommand, DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { DeleteSecurityGroupCommand, DeleteSubnetCommand, DeleteVpcCommand, DescribeSecurityGroupsCommand, DescribeSubnetsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DeleteServiceCommand, ECSClient } from '@aws-sdk/client-ecs';
import {
  DeleteListenerCommand,
  DeleteLoadBalancerCommand,
  DeleteTargetGroupCommand,
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetGroupsCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { clientConfig, DEMO, endpointsOf, type EmulatorEndpoints } from './environment';

/** What was removed, for a progress line. */
export interface Removed {
  readonly services: number;
  readonly loadBalancers: number;
  readonly targetGroups: number;
  readonly records: number;
}

/** "Not there": the normal answer when there is no previous environment. */
const NOT_FOUND = new Set([
  'ServiceNotFoundException',
  'ClusterNotFoundException',
  'LoadBalancerNotFoundException',
  'LoadBalancerNotFound',
  'TargetGroupNotFoundException',
  'TargetGroupNotFound',
  'ResourceNotFoundException',
]);
const absent =
  <T>(fallback: T) =>
  (error: { name?: string }) => {
    if (error.name && NOT_FOUND.has(error.name)) return fallback;
    throw error;
  };

/** Removes the environment `provision(endpoint, { name })` made on this emulator before, if any. */
export async function removePreviousEnvironment(at: EmulatorEndpoints, name: string = DEMO.service): Promise<Removed> {
  const { endpoint, dynamodbEndpoint } = endpointsOf(at);
  const cfg = clientConfig(endpoint);
  const ecs = new ECSClient(cfg);
  const elb = new ElasticLoadBalancingV2Client(cfg);
  const ec2 = new EC2Client(cfg);
  const ddb = new DynamoDBClient(clientConfig(dynamodbEndpoint));
  try {
    let services = 0;
    for (const slot of ['blue', 'green']) {
      const deleted = await ecs.send(new DeleteServiceCommand({ cluster: DEMO.cluster, service: `${name}-${slot}`, force: true })).catch(absent(undefined));
      if (deleted) services++;
    }

    const lbs = (await elb.send(new DescribeLoadBalancersCommand({ Names: [`${name}-alb`] })).catch(absent(undefined)))?.LoadBalancers ?? [];
    for (const lb of lbs) {
      const listeners = (await elb.send(new DescribeListenersCommand({ LoadBalancerArn: lb.LoadBalancerArn }))).Listeners ?? [];
      for (const listener of listeners) await elb.send(new DeleteListenerCommand({ ListenerArn: listener.ListenerArn }));
      await elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: lb.LoadBalancerArn }));
    }
    let targetGroups = 0;
    for (const slot of ['blue', 'green']) {
      const found = (await elb.send(new DescribeTargetGroupsCommand({ Names: [`${name}-${slot}`] })).catch(absent(undefined)))?.TargetGroups ?? [];
      for (const tg of found) {
        await elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: tg.TargetGroupArn }));
        targetGroups++;
      }
    }
    // The VPC provision made for that load balancer (and only it: found through the load balancer).
    for (const vpcId of new Set(lbs.map((lb) => lb.VpcId).filter((v): v is string => !!v))) {
      await removeVpc(ec2, vpcId, `${name}-tasks`);
    }

    const records = await removeServiceRecords(ddb, name);
    return { services, loadBalancers: lbs.length, targetGroups, records };
  } finally {
    for (const c of [ecs, elb, ec2, ddb]) c.destroy();
  }
}

/** Best effort: a VPC that something else now uses stays (the next run makes its own). */
async function removeVpc(ec2: EC2Client, vpcId: string, securityGroup: string): Promise<void> {
  try {
    const filter = [{ Name: 'vpc-id', Values: [vpcId] }];
    const groups = (await ec2.send(new DescribeSecurityGroupsCommand({ Filters: filter }))).SecurityGroups ?? [];
    for (const g of groups.filter((g) => g.GroupName === securityGroup)) await ec2.send(new DeleteSecurityGroupCommand({ GroupId: g.GroupId }));
    const subnets = (await ec2.send(new DescribeSubnetsCommand({ Filters: filter }))).Subnets ?? [];
    for (const s of subnets) await ec2.send(new DeleteSubnetCommand({ SubnetId: s.SubnetId }));
    await ec2.send(new DeleteVpcCommand({ VpcId: vpcId }));
  } catch {
    // Left in place: it blocks nothing (names are not unique across VPCs).
  }
}

/** Deletes every item of the service in Cutover's table (lock, state, history, queue, steps, commands). */
async function removeServiceRecords(ddb: DynamoDBClient, service: string): Promise<number> {
  let removed = 0;
  let start: Record<string, import('@aws-sdk/client-dynamodb').AttributeValue> | undefined;
  do {
    const page = await ddb
      .send(
        new QueryCommand({
          TableName: DEMO.table,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': { S: `service#${service}` } },
          ProjectionExpression: 'pk, sk',
          ExclusiveStartKey: start,
        }),
      )
      .catch(absent(undefined));
    if (!page) return removed;
    const keys = page.Items ?? [];
    for (let i = 0; i < keys.length; i += 25) {
      const batch = keys.slice(i, i + 25).map((Key) => ({ DeleteRequest: { Key } }));
      let unprocessed: typeof batch | undefined = batch;
      while (unprocessed?.length) {
        const out = await ddb.send(new BatchWriteItemCommand({ RequestItems: { [DEMO.table]: unprocessed } }));
        unprocessed = out.UnprocessedItems?.[DEMO.table] as typeof batch | undefined;
      }
      removed += batch.length;
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return removed;
}
