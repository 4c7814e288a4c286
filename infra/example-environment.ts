/**
 * An example target environment for Cutover: the `checkout` service as two Fargate services (blue and
 * green slots) behind one internet-facing ALB whose listener forwards with weights (blue 100, green 0),
 * an ECR repository `checkout`, and the two alarms a rollout watches.
 *
 * The demo names are fixed (service `checkout`, repository `checkout`, container `app`, alarms
 * `checkout-5xx` and `checkout-latency-p99`): the local runtime and the docs use the same names.
 */
import { Duration, RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { Cutover } from './cutover';

/** The demo's fixed names. */
export const EXAMPLE_NAMES = {
  service: 'checkout',
  repository: 'checkout',
  container: 'app',
  blueService: 'checkout-blue',
  greenService: 'checkout-green',
  errorAlarm: 'checkout-5xx',
  latencyAlarm: 'checkout-latency-p99',
} as const;

/** Properties of {@link ExampleEnvironment}. */
export interface ExampleEnvironmentProps {
  /**
   * Image of the first revision, before any rollout. Rollouts replace it with `checkout@sha256:...`.
   * @default ecs.ContainerImage.fromRegistry('public.ecr.aws/nginx/nginx:stable-alpine')
   */
  readonly initialImage?: ecs.ContainerImage;
  /**
   * Tasks of the live (blue) slot.
   * @default 2
   */
  readonly desiredCount?: number;
  /**
   * Retention of the VPC flow logs and the container logs.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * A VPC, an internet-facing ALB with a weighted listener, an ECS cluster with two Fargate services (the
 * blue and green slots of `checkout`), an ECR repository and two alarms.
 */
export class ExampleEnvironment extends Construct {
  /** Two AZs, public subnets only (no NAT gateway), rejected traffic logged. */
  public readonly vpc: ec2.Vpc;
  /** Internet-facing. */
  public readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  /** HTTP on port 80; its default action forwards to blue (100) and green (0). */
  public readonly listener: elbv2.ApplicationListener;
  /** Container Insights on. */
  public readonly cluster: ecs.Cluster;
  /** `checkout`: pushes to it start rollouts. */
  public readonly repository: ecr.Repository;
  /** Family `checkout`, container `app`: the first revision both slots run. */
  public readonly taskDefinition: ecs.FargateTaskDefinition;
  /** The live slot at first: `checkout-blue`, weight 100. */
  public readonly blue: { readonly service: ecs.FargateService; readonly targetGroup: elbv2.ApplicationTargetGroup };
  /** The idle slot at first: `checkout-green`, weight 0, no tasks. */
  public readonly green: { readonly service: ecs.FargateService; readonly targetGroup: elbv2.ApplicationTargetGroup };
  /** `checkout-5xx`: targets answering 5xx. */
  public readonly errorAlarm: cloudwatch.Alarm;
  /** `checkout-latency-p99`: p99 target response time. */
  public readonly latencyAlarm: cloudwatch.Alarm;
  /** Holds the Slack app's signing secret: paste it in after creating the app. */
  public readonly slackSigningSecret: secretsmanager.Secret;

  constructor(scope: Construct, id: string, props: ExampleEnvironmentProps = {}) {
    super(scope, id);
    const retention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;

    // Public subnets only, no NAT gateway: the tasks get public IPs to pull images, and accept traffic
    // from the ALB's security group only.
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 }],
      flowLogs: {
        rejected: {
          destination: ec2.FlowLogDestination.toCloudWatchLogs(new logs.LogGroup(this, 'FlowLogs', { retention })),
          trafficType: ec2.FlowLogTrafficType.REJECT,
        },
      },
    });

    this.repository = new ecr.Repository(this, 'Repository', {
      repositoryName: EXAMPLE_NAMES.repository,
      imageScanOnPush: true,
      encryption: ecr.RepositoryEncryption.AES_256,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [{ description: 'Keep the last 50 images', maxImageCount: 50 }],
    });

    this.cluster = new ecs.Cluster(this, 'Cluster', { vpc: this.vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });

    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'TaskDefinition', {
      family: EXAMPLE_NAMES.service,
      cpu: 256,
      memoryLimitMiB: 512,
      runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.ARM64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
    });
    this.taskDefinition.addContainer('App', {
      containerName: EXAMPLE_NAMES.container,
      image: props.initialImage ?? ecs.ContainerImage.fromRegistry('public.ecr.aws/nginx/nginx:stable-alpine'),
      portMappings: [{ containerPort: 80 }],
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: EXAMPLE_NAMES.service, logGroup: new logs.LogGroup(this, 'AppLogs', { retention }) }),
    });
    // Revisions Cutover registers pull `checkout@sha256:...` from this repository.
    this.repository.grantPull(this.taskDefinition.obtainExecutionRole());
    Validations.of(this.taskDefinition.obtainExecutionRole()).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'ecr:GetAuthorizationToken (needed to pull from the checkout repository) does not support resource-level permissions; the pull actions themselves are scoped to the repository.',
    });

    const albSecurityGroup = new ec2.SecurityGroup(this, 'LoadBalancerSecurityGroup', {
      vpc: this.vpc,
      description: 'checkout ALB: HTTP from the internet',
      allowAllOutbound: false,
    });
    albSecurityGroup.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(80), 'HTTP from the internet');
    Validations.of(albSecurityGroup).acknowledge({
      id: 'AwsSolutions-EC23',
      reason: 'The example ALB is internet-facing by design: it serves the checkout demo on port 80 to anyone; the tasks accept traffic from this security group only.',
    });
    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', {
      vpc: this.vpc,
      internetFacing: true,
      securityGroup: albSecurityGroup,
      dropInvalidHeaderFields: true,
    });
    Validations.of(this.loadBalancer).acknowledge({
      id: 'AwsSolutions-ELB2',
      reason:
        'The example stack is environment-agnostic (it synthesizes offline, without an account or region), and ALB access logging needs a ' +
        'concrete region for the log-delivery principal; enable it with loadBalancer.logAccessLogs(bucket) in a region-bound stack.',
    });

    const serviceSecurityGroup = new ec2.SecurityGroup(this, 'ServiceSecurityGroup', {
      vpc: this.vpc,
      description: 'checkout tasks: HTTP from the ALB only',
    });
    serviceSecurityGroup.addIngressRule(albSecurityGroup, ec2.Port.tcp(80), 'HTTP from the ALB');
    albSecurityGroup.addEgressRule(serviceSecurityGroup, ec2.Port.tcp(80), 'HTTP to the checkout tasks');

    const slot = (name: string, serviceName: string, desiredCount: number) => {
      const targetGroup = new elbv2.ApplicationTargetGroup(this, `${name}TargetGroup`, {
        vpc: this.vpc,
        targetType: elbv2.TargetType.IP,
        protocol: elbv2.ApplicationProtocol.HTTP,
        port: 80,
        // Short draining: a rollback moves the weights back and should not wait 5 minutes for connections.
        deregistrationDelay: Duration.seconds(30),
        healthCheck: { path: '/', interval: Duration.seconds(15), healthyThresholdCount: 2 },
      });
      const service = new ecs.FargateService(this, `${name}Service`, {
        cluster: this.cluster,
        serviceName,
        taskDefinition: this.taskDefinition,
        desiredCount,
        minHealthyPercent: 100,
        maxHealthyPercent: 200,
        assignPublicIp: true,
        vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
        securityGroups: [serviceSecurityGroup],
        // A failed deployment ends as FAILED (Cutover's steady check then rolls back); ECS does not roll back on its own.
        circuitBreaker: { enable: true, rollback: false },
      });
      service.attachToApplicationTargetGroup(targetGroup);
      return { service, targetGroup };
    };
    this.blue = slot('Blue', EXAMPLE_NAMES.blueService, props.desiredCount ?? 2);
    this.green = slot('Green', EXAMPLE_NAMES.greenService, 0);

    this.listener = this.loadBalancer.addListener('Http', {
      protocol: elbv2.ApplicationProtocol.HTTP,
      port: 80,
      open: false,
      defaultAction: elbv2.ListenerAction.weightedForward([
        { targetGroup: this.blue.targetGroup, weight: 100 },
        { targetGroup: this.green.targetGroup, weight: 0 },
      ]),
    });

    this.errorAlarm = new cloudwatch.Alarm(this, 'ErrorAlarm', {
      alarmName: EXAMPLE_NAMES.errorAlarm,
      alarmDescription: 'checkout targets answer 5xx',
      metric: this.loadBalancer.metrics.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, { period: Duration.minutes(1), statistic: 'Sum' }),
      threshold: 5,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.latencyAlarm = new cloudwatch.Alarm(this, 'LatencyAlarm', {
      alarmName: EXAMPLE_NAMES.latencyAlarm,
      alarmDescription: 'checkout p99 target response time above 1 s',
      metric: this.loadBalancer.metrics.targetResponseTime({ period: Duration.minutes(1), statistic: 'p99' }),
      threshold: 1,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    this.slackSigningSecret = new secretsmanager.Secret(this, 'SlackSigningSecret', {
      description: 'Signing secret of the Slack app behind /cutover (replace the generated value with the one Slack shows)',
    });
    Validations.of(this.slackSigningSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: 'Slack issues this signing secret and rotates it on its side ("Regenerate" in the app settings); a Lambda rotation cannot change it.',
    });
  }
}

/** Properties of {@link CutoverExampleStack}. */
export interface CutoverExampleStackProps extends StackProps {
  /** Passed to the example environment. @default {} */
  readonly environment?: ExampleEnvironmentProps;
}

/** The example environment with a `Cutover` that rolls out its `checkout` service: what `bin/app.ts` deploys. */
export class CutoverExampleStack extends Stack {
  /** The target environment. (Not `environment`: that is the Stack's own `aws://account/region`.) */
  public readonly target: ExampleEnvironment;
  /** The orchestrator, wired to the environment's `checkout` service. */
  public readonly cutover: Cutover;

  constructor(scope: Construct, id: string, props: CutoverExampleStackProps = {}) {
    super(scope, id, { description: 'Cutover: canary rollouts for the example checkout service', ...props });
    this.target = new ExampleEnvironment(this, 'Environment', props.environment);
    const env = this.target;
    this.cutover = new Cutover(this, 'Cutover', {
      services: [
        {
          name: EXAMPLE_NAMES.service,
          cluster: env.cluster,
          blue: env.blue,
          green: env.green,
          listener: env.listener,
          containerName: EXAMPLE_NAMES.container,
          repository: env.repository,
          alarms: [env.errorAlarm, env.latencyAlarm],
          // To allow /cutover on checkout, list your Slack IDs: chat: { channels: ['C0123ABCD'], users: ['U0123ABCD'] }
        },
      ],
      slack: { signingSecret: env.slackSigningSecret },
    });
  }
}
