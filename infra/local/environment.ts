/**
 * The example target environment, provisioned on the emulator: the same shape as `infra/example-environment.ts`
 * deploys on AWS (one ALB listener forwarding to two target groups, blue and green ECS services, an ECR
 * repository, two alarms) plus Cutover's own table. Names are stable: other tools and tests rely on them.
 */
import { createHash, randomBytes } from 'node:crypto';
import { CloudWatchClient, PutMetricAlarmCommand, SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateSecurityGroupCommand, CreateSubnetCommand, CreateVpcCommand, EC2Client } from '@aws-sdk/client-ec2';
import { CreateRepositoryCommand, ECRClient, PutImageCommand, StartImageScanCommand } from '@aws-sdk/client-ecr';
import { CreateClusterCommand, CreateServiceCommand, ECSClient, RegisterTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { withDefaults, type ServiceConfig, type ServiceConfigInput } from '../../functions/core/config';
import { ACTIVE_INDEX } from '../../functions/aws/store';
import { imageUri } from '../../functions/core/rollout';

/** Stable names of the demo environment. */
export const DEMO = {
  account: '123456789012',
  region: 'us-east-1',
  service: 'checkout',
  repository: 'checkout',
  container: 'app',
  cluster: 'demo',
  blueService: 'checkout-blue',
  greenService: 'checkout-green',
  alarms: ['checkout-5xx', 'checkout-latency-p99'],
  table: 'cutover-rollouts',
  desiredCount: 2,
} as const;

/** SDK client settings for the emulator: explicit endpoint, region and dummy credentials. */
export function clientConfig(endpoint: string) {
  return {
    endpoint,
    region: DEMO.region,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 3,
  };
}

export interface DemoEnvironment {
  readonly endpoint: string;
  readonly service: ServiceConfig;
  readonly tableName: string;
  /** Image URI (pinned to its digest) the live revision runs. */
  readonly initialImage: string;
  readonly initialTaskDefinitionArn: string;
  /** Pushes a new image to the demo repository; returns its digest, as ECR computes it. */
  pushImage(tag: string): Promise<{ digest: string; uri: string }>;
}

/** A Docker image manifest (schema 2) whose sha256 is the digest ECR reports. */
function manifest(tag: string): string {
  const layer = `sha256:${createHash('sha256').update(`${tag}-${randomBytes(8).toString('hex')}`).digest('hex')}`;
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: 1470, digest: layer },
    layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: 2_811_478, digest: layer }],
  });
}

export interface ProvisionOptions {
  /** Overrides of the service configuration (plan, timings, alarms...). */
  readonly service?: Partial<ServiceConfigInput>;
  /** Name prefix, so several environments can share one emulator. @default 'checkout' */
  readonly name?: string;
}

/** Creates the demo environment on the emulator at `endpoint`. */
export async function provision(endpoint: string, options: ProvisionOptions = {}): Promise<DemoEnvironment> {
  const cfg = clientConfig(endpoint);
  const ec2 = new EC2Client(cfg);
  const elb = new ElasticLoadBalancingV2Client(cfg);
  const ecr = new ECRClient(cfg);
  const ecs = new ECSClient(cfg);
  const cw = new CloudWatchClient(cfg);
  const ddb = new DynamoDBClient(cfg);
  const name = options.name ?? DEMO.service;
  const repository = options.service?.repository ?? (name === DEMO.service ? DEMO.repository : name);
  // The alarms that exist; the service may be configured to watch others (a typo, for pre-flight to catch).
  const alarms = name === DEMO.service ? [...DEMO.alarms] : [`${name}-5xx`, `${name}-latency-p99`];

  const pushImage = async (tag: string) => {
    const out = await ecr.send(new PutImageCommand({ repositoryName: repository, imageManifest: manifest(tag), imageTag: tag }));
    const digest = out.image?.imageId?.imageDigest;
    if (!digest) throw new Error('ECR PutImage returned no digest');
    // The repository scans on push, as ECR does with scanOnPush (moto answers with a canned finding).
    await ecr.send(new StartImageScanCommand({ repositoryName: repository, imageId: { imageDigest: digest } }));
    return { digest, uri: imageUri(DEMO.account, DEMO.region, repository, digest) };
  };

  // Cutover's table (shared by every service on this emulator).
  await ddb
    .send(
      new CreateTableCommand({
        TableName: DEMO.table,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
          { AttributeName: 'activeKey', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        GlobalSecondaryIndexes: [
          {
            IndexName: ACTIVE_INDEX,
            KeySchema: [
              { AttributeName: 'activeKey', KeyType: 'HASH' },
              { AttributeName: 'sk', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
      }),
    )
    .catch((error: { name?: string }) => {
      if (error.name !== 'ResourceInUseException') throw error;
    });

  const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }));
  const vpcId = vpc.Vpc!.VpcId!;
  const subnets = await Promise.all(
    ['a', 'b'].map((az, i) => ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: `10.0.${i}.0/24`, AvailabilityZone: `${DEMO.region}${az}` }))),
  );
  const sg = await ec2.send(new CreateSecurityGroupCommand({ GroupName: `${name}-tasks`, Description: `${name} tasks`, VpcId: vpcId }));
  const lb = await elb.send(new CreateLoadBalancerCommand({ Name: `${name}-alb`, Subnets: subnets.map((s) => s.Subnet!.SubnetId!), Type: 'application' }));
  const [blueTg, greenTg] = await Promise.all(
    ['blue', 'green'].map((slot) =>
      elb.send(new CreateTargetGroupCommand({ Name: `${name}-${slot}`, Protocol: 'HTTP', Port: 8080, VpcId: vpcId, TargetType: 'ip' })),
    ),
  );
  const blueArn = blueTg!.TargetGroups![0]!.TargetGroupArn!;
  const greenArn = greenTg!.TargetGroups![0]!.TargetGroupArn!;
  const listener = await elb.send(
    new CreateListenerCommand({
      LoadBalancerArn: lb.LoadBalancers![0]!.LoadBalancerArn!,
      Protocol: 'HTTP',
      Port: 80,
      DefaultActions: [
        {
          Type: 'forward',
          ForwardConfig: {
            TargetGroups: [
              { TargetGroupArn: blueArn, Weight: 100 },
              { TargetGroupArn: greenArn, Weight: 0 },
            ],
          },
        },
      ],
    }),
  );

  await ecr.send(new CreateRepositoryCommand({ repositoryName: repository, imageScanningConfiguration: { scanOnPush: true } })).catch((error: { name?: string }) => {
    if (error.name !== 'RepositoryAlreadyExistsException') throw error;
  });
  const initial = await pushImage('v1');

  await ecs.send(new CreateClusterCommand({ clusterName: DEMO.cluster }));
  const td = await ecs.send(
    new RegisterTaskDefinitionCommand({
      family: name,
      networkMode: 'awsvpc',
      requiresCompatibilities: ['FARGATE'],
      cpu: '256',
      memory: '512',
      executionRoleArn: `arn:aws:iam::${DEMO.account}:role/${name}-execution`,
      taskRoleArn: `arn:aws:iam::${DEMO.account}:role/${name}-task`,
      containerDefinitions: [
        {
          name: DEMO.container,
          image: initial.uri,
          essential: true,
          portMappings: [{ containerPort: 8080, protocol: 'tcp' }],
          environment: [{ name: 'PORT', value: '8080' }],
        },
      ],
      tags: [{ key: 'team', value: 'payments' }],
    }),
  );
  const tdArn = td.taskDefinition!.taskDefinitionArn!;
  for (const [slot, tg, count] of [
    ['blue', blueArn, DEMO.desiredCount],
    ['green', greenArn, 0],
  ] as const) {
    await ecs.send(
      new CreateServiceCommand({
        cluster: DEMO.cluster,
        serviceName: `${name}-${slot}`,
        taskDefinition: tdArn,
        desiredCount: count,
        launchType: 'FARGATE',
        loadBalancers: [{ targetGroupArn: tg, containerName: DEMO.container, containerPort: 8080 }],
        networkConfiguration: { awsvpcConfiguration: { subnets: subnets.map((s) => s.Subnet!.SubnetId!), securityGroups: [sg.GroupId!] } },
      }),
    );
  }

  for (const [alarm, metric, threshold, stat] of [
    [alarms[0], 'HTTPCode_Target_5XX_Count', 10, 'Sum'],
    [alarms[1], 'TargetResponseTime', 1.5, 'Maximum'],
  ] as const) {
    if (!alarm) continue;
    await cw.send(
      new PutMetricAlarmCommand({
        AlarmName: alarm,
        Namespace: 'AWS/ApplicationELB',
        MetricName: metric,
        Statistic: stat,
        Period: 60,
        EvaluationPeriods: 1,
        Threshold: threshold,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
      }),
    );
    await cw.send(new SetAlarmStateCommand({ AlarmName: alarm, StateValue: 'OK', StateReason: 'provisioned by the local environment' }));
  }

  const service = withDefaults({
    name,
    cluster: DEMO.cluster,
    slots: {
      blue: { serviceName: `${name}-blue`, targetGroupArn: blueArn },
      green: { serviceName: `${name}-green`, targetGroupArn: greenArn },
    },
    listenerArn: listener.Listeners![0]!.ListenerArn!,
    containerName: DEMO.container,
    repository,
    alarms,
    chat: { channels: ['CDEMO0CUTOVER'], users: ['UDEMO0OPERATOR'] },
    ...options.service,
  } as ServiceConfigInput);

  for (const c of [ec2, elb, ecs, cw, ddb]) c.destroy();
  return { endpoint, service, tableName: DEMO.table, initialImage: initial.uri, initialTaskDefinitionArn: tdArn, pushImage };
}
