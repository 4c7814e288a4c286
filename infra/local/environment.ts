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
  CreateRuleCommand,
  CreateTargetGroupCommand,
  ElasticLoadBalancingV2Client,
  ModifyListenerCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { withDefaults, type ServiceConfig, type ServiceConfigInput } from '../../functions/core/config';
import { ACTIVE_INDEX } from '../../functions/aws/store';
import { imageUri } from '../../functions/core/rollout';
import type { Ecs, TargetHealthView, Traffic } from '../../functions/core/ports';

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

/** Where the emulator answers: one endpoint, or the moto_server started here with DynamoDB apart. */
export type EmulatorEndpoints = string | { readonly endpoint: string; readonly dynamodbEndpoint?: string };

/** The endpoint of every service but DynamoDB, and DynamoDB's. */
export function endpointsOf(at: EmulatorEndpoints): { endpoint: string; dynamodbEndpoint: string } {
  return typeof at === 'string' ? { endpoint: at, dynamodbEndpoint: at } : { endpoint: at.endpoint, dynamodbEndpoint: at.dynamodbEndpoint ?? at.endpoint };
}

export interface DemoEnvironment {
  readonly endpoint: string;
  /** Where the lock table is (see `Emulator.dynamodbEndpoint`). */
  readonly dynamodbEndpoint: string;
  readonly service: ServiceConfig;
  readonly tableName: string;
  /** Image URI (pinned to its digest) the live revision runs. */
  readonly initialImage: string;
  readonly initialTaskDefinitionArn: string;
  /** Pushes a new image to the demo repository; returns its digest, as ECR computes it. */
  pushImage(tag: string): Promise<{ digest: string; uri: string }>;
  /**
   * Pushes a multi-architecture image as Docker buildx does: each platform's image and its attestation by
   * digest (no tag), then the OCI image index naming them under `tag`. Returns the index's digest and every
   * manifest pushed, in push order, with the media types ECR's push event names.
   */
  pushIndex(tag: string, platforms: readonly string[]): Promise<IndexPushed>;
}

/** One manifest of a multi-architecture push. */
export interface ManifestPushed {
  readonly digest: string;
  readonly kind: 'image' | 'attestation' | 'index';
  readonly tag?: string;
  readonly manifestMediaType: string;
  /** The config's media type, as ECR reports it (`artifact-media-type`); none for an index. */
  readonly artifactMediaType?: string;
}

/** A multi-architecture push: the tagged index (what rolls out) and every manifest pushed, index last. */
export interface IndexPushed {
  readonly digest: string;
  readonly uri: string;
  readonly manifests: readonly ManifestPushed[];
}

const OCI = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

const sha256 = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;
/** A descriptor of a blob that is never uploaded (moto keeps manifests only). */
const blob = (mediaType: string, seed: string) => ({ mediaType, size: 1024, digest: sha256(`${seed}-${randomBytes(8).toString('hex')}`) });

/** A Docker image manifest (schema 2) whose sha256 is the digest ECR reports. */
function manifest(tag: string): string {
  const layer = `sha256:${createHash('sha256')
    .update(`${tag}-${randomBytes(8).toString('hex')}`)
    .digest('hex')}`;
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
  /**
   * Listener-rule mode: the service's traffic goes through a listener rule (path `/*`) at `priority`, whose ARN
   * becomes the service's `listenerArn`; the listener's default answers 404. `taken`: priorities other rules
   * of other applications already hold (path `/other-<n>/*`), to crowd the listener. @default the listener's default action
   */
  readonly listenerRule?: { readonly priority: number; readonly taken?: readonly number[] };
}

/** Creates the demo environment on the emulator at `at`. */
export async function provision(at: EmulatorEndpoints, options: ProvisionOptions = {}): Promise<DemoEnvironment> {
  const { endpoint, dynamodbEndpoint } = endpointsOf(at);
  const cfg = clientConfig(endpoint);
  const ec2 = new EC2Client(cfg);
  const elb = new ElasticLoadBalancingV2Client(cfg);
  const ecr = new ECRClient(cfg);
  const ecs = new ECSClient(cfg);
  const cw = new CloudWatchClient(cfg);
  const ddb = new DynamoDBClient(clientConfig(dynamodbEndpoint));
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

  // Each manifest under its own sha256 (moto would make up an index's digest), so the index names its children.
  const putManifest = async (manifest: string, mediaType: string, tag?: string) => {
    const digest = sha256(manifest);
    await ecr.send(new PutImageCommand({ repositoryName: repository, imageManifest: manifest, imageManifestMediaType: mediaType, imageDigest: digest, imageTag: tag }));
    return digest;
  };
  const pushIndex = async (tag: string, platforms: readonly string[]): Promise<IndexPushed> => {
    const manifests: ManifestPushed[] = [];
    const entries: object[] = [];
    const attestations: object[] = [];
    for (const platform of platforms) {
      const [os, architecture] = platform.split('/') as [string, string];
      const image = JSON.stringify({ schemaVersion: 2, mediaType: OCI.manifest, config: blob(OCI.config, platform), layers: [blob(OCI.layer, platform)] });
      const digest = await putManifest(image, OCI.manifest);
      await ecr.send(new StartImageScanCommand({ repositoryName: repository, imageId: { imageDigest: digest } }));
      manifests.push({ digest, kind: 'image', manifestMediaType: OCI.manifest, artifactMediaType: OCI.config });
      entries.push({ mediaType: OCI.manifest, digest, size: image.length, platform: { architecture, os } });
      // buildx's provenance attestation: an OCI image manifest whose layer is an in-toto statement.
      const attestation = JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI.manifest,
        config: blob(OCI.config, `${platform}-attestation`),
        layers: [{ ...blob('application/vnd.in-toto+json', `${platform}-provenance`), annotations: { 'in-toto.io/predicate-type': 'https://slsa.dev/provenance/v0.2' } }],
      });
      const attested = await putManifest(attestation, OCI.manifest);
      manifests.push({ digest: attested, kind: 'attestation', manifestMediaType: OCI.manifest, artifactMediaType: OCI.config });
      attestations.push({
        mediaType: OCI.manifest,
        digest: attested,
        size: attestation.length,
        annotations: { 'vnd.docker.reference.digest': digest, 'vnd.docker.reference.type': 'attestation-manifest' },
        platform: { architecture: 'unknown', os: 'unknown' },
      });
    }
    const index = JSON.stringify({ schemaVersion: 2, mediaType: OCI.index, manifests: [...entries, ...attestations] });
    const digest = await putManifest(index, OCI.index, tag);
    manifests.push({ digest, kind: 'index', tag, manifestMediaType: OCI.index });
    return { digest, uri: imageUri(DEMO.account, DEMO.region, repository, digest), manifests };
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
  const subnets = await Promise.all(['a', 'b'].map((az, i) => ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: `10.0.${i}.0/24`, AvailabilityZone: `${DEMO.region}${az}` }))));
  const sg = await ec2.send(new CreateSecurityGroupCommand({ GroupName: `${name}-tasks`, Description: `${name} tasks`, VpcId: vpcId }));
  const lb = await elb.send(new CreateLoadBalancerCommand({ Name: `${name}-alb`, Subnets: subnets.map((s) => s.Subnet!.SubnetId!), Type: 'application' }));
  const [blueTg, greenTg] = await Promise.all(
    ['blue', 'green'].map((slot) => elb.send(new CreateTargetGroupCommand({ Name: `${name}-${slot}`, Protocol: 'HTTP', Port: 8080, VpcId: vpcId, TargetType: 'ip' }))),
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

  let listenerArn = listener.Listeners![0]!.ListenerArn!;
  if (options.listenerRule) {
    const forward = {
      Type: 'forward' as const,
      ForwardConfig: {
        TargetGroups: [
          { TargetGroupArn: blueArn, Weight: 100 },
          { TargetGroupArn: greenArn, Weight: 0 },
        ],
      },
    };
    for (const priority of options.listenerRule.taken ?? []) {
      await elb.send(
        new CreateRuleCommand({
          ListenerArn: listenerArn,
          Priority: priority,
          Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: [`/other-${priority}/*`] } }],
          Actions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '200' } }],
        }),
      );
    }
    const rule = await elb.send(
      new CreateRuleCommand({ ListenerArn: listenerArn, Priority: options.listenerRule.priority, Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/*'] } }], Actions: [forward] }),
    );
    await elb.send(
      new ModifyListenerCommand({
        ListenerArn: listenerArn,
        DefaultActions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '404', ContentType: 'text/plain', MessageBody: 'no route' } }],
      }),
    );
    listenerArn = rule.Rules![0]!.RuleArn!;
  }

  const service = withDefaults({
    name,
    cluster: DEMO.cluster,
    slots: {
      blue: { serviceName: `${name}-blue`, targetGroupArn: blueArn },
      green: { serviceName: `${name}-green`, targetGroupArn: greenArn },
    },
    listenerArn,
    containerName: DEMO.container,
    repository,
    alarms,
    chat: { channels: ['CDEMO0CUTOVER'], users: ['UDEMO0OPERATOR'] },
    ...options.service,
  } as ServiceConfigInput);

  for (const c of [ec2, elb, ecs, cw, ddb]) c.destroy();
  return { endpoint, dynamodbEndpoint, service, tableName: DEMO.table, initialImage: initial.uri, initialTaskDefinitionArn: tdArn, pushImage, pushIndex };
}

/**
 * Target health on the emulator. moto registers no ECS task with its target group, so DescribeTargetHealth
 * there answers an empty group. Locally, each task a slot's service runs is one target: the group's health is
 * read from the emulator (a missing group stays missing), then modelled from the slot's ECS service as AWS
 * would report it — its running tasks (up to its desired count) healthy; none while it wants 0. A service in
 * `broken` (the `broken-old` scenario: its tasks stopped, its targets failing their health checks) runs no
 * task and has only unhealthy targets, until it is taken out of the set again.
 */
export function localTargetHealth(traffic: Traffic, ecs: Ecs, services: () => readonly ServiceConfig[], broken: ReadonlySet<string>): { traffic: Traffic; ecs: Ecs } {
  const slotOf = (arn: string) => {
    for (const service of services()) {
      for (const slot of ['blue', 'green'] as const) if (service.slots[slot].targetGroupArn === arn) return { cluster: service.cluster, serviceName: service.slots[slot].serviceName };
    }
    return undefined;
  };
  const modelledEcs: Ecs = {
    ...ecs,
    async describeService(cluster, name) {
      const view = await ecs.describeService(cluster, name);
      if (!view || !broken.has(name)) return view;
      return { ...view, runningCount: 0, deployments: view.deployments.map((d) => ({ ...d, runningCount: 0 })) };
    },
  };
  return {
    ecs: modelledEcs,
    traffic: {
      ...traffic,
      async targetHealth(arn): Promise<TargetHealthView | undefined> {
        const read = await traffic.targetHealth(arn);
        const slot = slotOf(arn);
        if (!read || !slot || read.total > 0) return read;
        const view = await ecs.describeService(slot.cluster, slot.serviceName);
        const desired = view?.desiredCount ?? 0;
        if (broken.has(slot.serviceName) && desired > 0) return { healthy: 0, total: desired, problems: [`${desired} unhealthy (Target.FailedHealthChecks)`] };
        const running = desired > 0 ? Math.min(view?.runningCount ?? 0, desired) : 0;
        return { healthy: running, total: running, problems: [] };
      },
    },
  };
}
