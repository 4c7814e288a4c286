/**
 * The `Cutover` construct: the rollout orchestrator for one or more ECS services behind an ALB.
 *
 * It builds one Lambda function per folder of `functions/`, the DynamoDB table of locks and history, the
 * Standard state machine loaded from `state-machines/rollout.asl.json` (its `${XxxFunctionArn}` placeholders
 * substituted with the functions' ARNs), and the two EventBridge rules that start and abort rollouts: an
 * ECR push starts one, a watched alarm going to ALARM aborts it. IAM is scoped to the ARNs in the props.
 *
 * @example
 * new Cutover(stack, 'Cutover', {
 *   services: [{
 *     name: 'checkout',
 *     cluster,
 *     blue: { service: blueService, targetGroup: blueTargetGroup },
 *     green: { service: greenService, targetGroup: greenTargetGroup },
 *     listener,
 *     containerName: 'app',
 *     repository,
 *     alarms: [errorAlarm, latencyAlarm],
 *   }],
 * });
 */
import { ArnFormat, CfnOutput, type CustomResource, Duration, Names, type RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as ecr from 'aws-cdk-lib/aws-ecr';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ACTIVE_INDEX, EXPIRES_AT_ATTRIBUTE } from '../functions/core/table';
import type { ChatAccess, ConcurrencyPolicy, ScanSeverity, ScanTimeoutAction } from '../functions/core/config';
import type { CanaryPlan } from '../functions/core/plan';
import type { HookStage, HookTimeoutAction } from '../functions/core/hooks';
import type { AnalysisConfig } from '../functions/core/analysis';
import type { TestTrafficConfig } from '../functions/core/test-cohort';
import { RECONCILE_TIMEOUT_MS } from '../functions/core/ownership';
import { WATCHERS_VARIABLE, watchersOf } from '../functions/core/watchers';
import { rolloutDashboard } from './dashboard';
import { CutoverDefaults } from './defaults';
import { eventRules } from './event-rules';
import { CUTOVER_FUNCTIONS, NOTIFYING_FUNCTIONS, pascal, REACTION_FUNCTIONS, type CoreFunctionName, type CutoverFunctionName } from './functions';
import { grantLeastPrivilege, grantSecretValue, TABLE_ACCESS } from './permissions';
import { handOverServices, resolveServices, type ServiceRefs } from './service-wiring';
import type { CutoverTaskDefinitionProps } from './slots';
import { rolloutStateMachine } from './state-machine';
import { bundleDirectory } from './assets';
import { checkRegionAvailability, RegionalFeature } from './region-availability';
import { METRICS_NAMESPACE, TELEMETRY_SERVICE } from '../functions/core/metrics';

/** The definition file and how its placeholders are found (infra/state-machine.ts). */
export { aslPlaceholders, placeholderOf, ROLLOUT_DEFINITION_PATH, substitutionsFor } from './state-machine';
export type { CutoverTaskDefinitionProps } from './slots';
// The construct is split by concern into the files beside it; its public names stay importable from here.
export { CUTOVER_FUNCTIONS, NOTIFYING_FUNCTIONS, REACTION_FUNCTIONS, type CutoverFunctionName } from './functions';
export { CutoverDefaults } from './defaults';
export { UNSCOPABLE_ACTIONS } from './permissions';
export { LAMBDA_ENVIRONMENT_LIMIT } from './service-wiring';

/** One slot of a managed service: its ECS service and the target group its tasks register with. */
export interface CutoverSlotProps {
  /**
   * The slot's ECS service: one built in this app (its task definition's roles are then the only ones Cutover
   * may pass to ECS), one imported (`ecs.FargateService.fromFargateServiceAttributes`, or from another stack),
   * or its name or ARN in the service's `cluster` (a token counts as an ARN, in the long format
   * `service/<cluster>/<name>`). An imported service needs the service's `taskDefinition` prop.
   */
  readonly service: ecs.IBaseService | string;
  /**
   * The target group the service's tasks register with (or its ARN); the listener forwards to it with a
   * weight.
   */
  readonly targetGroup: elbv2.ITargetGroup | string;
}

/** A service Cutover rolls out: two slots behind one listener, an image repository, alarms and a plan. */
export interface CutoverServiceProps {
  /** Name operators use (`cutover status checkout`): 1-40 letters, digits, `-` or `_`. */
  readonly name: string;
  /** The ECS cluster both slots run in. */
  readonly cluster: ecs.ICluster;
  /** The blue slot. */
  readonly blue: CutoverSlotProps;
  /** The green slot. */
  readonly green: CutoverSlotProps;
  /**
   * The listener whose default action forwards to both target groups with weights. Cutover may modify
   * this listener (or the rule given in `listenerRuleArn`) and nothing else. Give it, its ARN
   * (`listenerArn`) or the rule's ARN (`listenerRuleArn`).
   * @default - the listener of `listenerArn` or `listenerRuleArn`
   */
  readonly listener?: elbv2.IApplicationListener;
  /**
   * ARN of the listener whose default action holds the weights, for a listener not built in this app.
   * @default - `listener`'s ARN
   */
  readonly listenerArn?: string;
  /**
   * ARN of a listener rule whose forward action holds the weights, when the service is not the listener's
   * default action.
   * @default - the listener's default action holds the weights
   */
  readonly listenerRuleArn?: string;
  /**
   * The slots' task definition: its family and the roles of its tasks. Required when either slot's service is
   * imported (Cutover cannot read them from an `IBaseService`); for services built in this app it replaces
   * what Cutover reads from them.
   * @default - read from the slots' services (built in this app)
   */
  readonly taskDefinition?: CutoverTaskDefinitionProps;
  /** Name of the container whose image a rollout replaces. */
  readonly containerName: string;
  /** The ECR repository whose pushes roll out to this service. */
  readonly repository: ecr.IRepository;
  /**
   * The canary plan: weights and bakes.
   * @default CanaryPlan.TEN_TWENTYFIVE_FIFTY_5M
   */
  readonly plan?: CanaryPlan;
  /** Alarms watched during a rollout; any one in ALARM aborts it. At least one. */
  readonly alarms: readonly cloudwatch.IAlarm[];
  /**
   * How long the old slot stays warm after the new slot takes 100%, so a rollback after completion is
   * instant. Then it is scaled to zero; its revision stays registered.
   * @default Duration.minutes(15)
   */
  readonly rollbackWindow?: Duration;
  /**
   * Time between two steady-state checks of the new slot's deployment.
   * @default Duration.seconds(15)
   */
  readonly steadyPollInterval?: Duration;
  /**
   * Steady-state checks before the new slot's deployment counts as failed.
   * @default 40 (10 minutes at the default interval)
   */
  readonly steadyMaxChecks?: number;
  /**
   * Who may steer this service with `/cutover` in Slack (needs the construct's `slack` prop).
   * @default - nobody: chat commands on this service are refused
   */
  readonly chat?: ChatAccess;
  /**
   * A push while a rollout of this service is in flight: `supersede` rolls the running one back cleanly and
   * rolls out the newest; `queue` runs it after, in push order; `reject` refuses it.
   * @default 'supersede'
   */
  readonly concurrency?: ConcurrencyPolicy;
  /**
   * Only tags matching this roll out: a glob (`v*`) or a regex between slashes (`/^release-\d+$/`).
   * @default - every tagged push to the repository (an untagged push never rolls out)
   */
  readonly tagFilter?: string;
  /**
   * Refuse images whose ECR scan has a finding at or above this severity (the repository should scan on
   * push, basic or enhanced). A push whose scan is still running waits for the scan's completion event, for
   * at most `timeout`, without disturbing the rollout in flight; then `onTimeout` refuses it (the default)
   * or rolls it out without the scan's verdict.
   * @default - no scan gate
   */
  readonly imageScan?: { readonly failOn: ScanSeverity; readonly timeout?: Duration; readonly onTimeout?: ScanTimeoutAction };
  /**
   * Revisions kept registered besides the live and retained ones; older ones are deregistered after a success.
   * @default 5
   */
  readonly keepRevisions?: number;
  /**
   * Roll out over changes made to the live slot outside Cutover instead of refusing (drift).
   * @default false
   */
  readonly adoptDrift?: boolean;
  /**
   * Lifecycle hooks: Lambda functions run at named stages of every rollout of this service (after the new
   * tasks are steady, after test traffic, before and after each weight change, after 100%, on rollback),
   * each on a task token: no polling while a hook works. The state machine may invoke them; each given
   * as a function (not an ARN) may answer on this state machine's tokens (SendTaskSuccess/Failure).
   * @default - no hooks
   * @example
   * hooks: { afterSteady: { functions: [smokeTest], timeout: Duration.minutes(5) }, onRollback: { functions: [revertMigration] } }
   */
  readonly hooks?: CutoverHooksProps;
  /**
   * Canary-vs-stable analysis: while the canary takes traffic, rollout-scoped CloudWatch metric-math alarms
   * compare the new slot's target group with the old slot's in the same window (5xx rate, p99 response time,
   * your own checks). CloudWatch evaluates them; one going to ALARM rolls back through the alarm path, with
   * the numbers in the reason. At a bake's end with too few requests on the canary to judge, `onInconclusive`
   * decides (pause for a human, extend the bake, or roll back; never pass). `dryRun` only records.
   * @default - no analysis (only the service's own alarms are watched)
   * @example
   * analysis: { errorRate: { maxIncreasePoints: 1 }, latencyP99: { maxIncreaseMs: 200 }, minRequests: 100 }
   */
  readonly analysis?: CutoverAnalysisProps;
  /**
   * Test traffic before production: once the new tasks are steady, an ALB listener rule sends the requests
   * carrying `header` (any of its values) and/or coming from `sourceCidrs` to the new slot, while production
   * stays 100% on the old one; the rule is removed before the first production weight (or before the
   * `setWeight` step at `untilStep`), and on success, rollback and recovery. It takes the highest free priority
   * on the service's listener (below the production rule's in listener-rule mode), or on `listenerArn`.
   * @default - no test cohort
   * @example
   * testTraffic: { header: { name: 'X-Cutover-Cohort', values: ['test'] } }
   */
  readonly testTraffic?: TestTrafficConfig;
}

/** The canary analysis of a service (see `functions/core/analysis.ts`); the period as a Duration. */
export type CutoverAnalysisProps = Omit<AnalysisConfig, 'periodSeconds'> & {
  /** One evaluation period: a multiple of a minute (ALB publishes per minute). @default Duration.minutes(1) */
  readonly period?: Duration;
};

/** A service's lifecycle hooks, by stage (see `functions/core/hooks.ts` for the stages). */
export type CutoverHooksProps = Partial<Record<HookStage, CutoverHookProps>>;

/** The hooks of one stage. */
export interface CutoverHookProps {
  /** The functions, run one after the other: functions of this app, or ARNs (these get no grant to answer). */
  readonly functions: ReadonlyArray<lambda.IFunction | string>;
  /**
   * How long each function may take, from its first invocation to its answer.
   * @default Duration.minutes(10)
   */
  readonly timeout?: Duration;
  /**
   * What happens when a function has not answered by its timeout: `rollback`, or `continue` (recorded).
   * @default 'rollback'
   */
  readonly onTimeout?: HookTimeoutAction;
}

/** Properties of {@link Cutover}. */
export interface CutoverProps {
  /**
   * The services Cutover rolls out. At least one; names unique. They reach the start function as one
   * environment variable, and Lambda allows 4 KB for all of them: two or three services per construct
   * with default plans (synth warns when the estimate gets close).
   */
  readonly services: readonly CutoverServiceProps[];
  /**
   * The Slack app behind `/cutover`: a Lambda Function URL receives its slash commands, verifies each
   * request's signature with this signing secret (read from Secrets Manager, cached) and answers.
   * @default - no chat endpoint
   */
  readonly slack?: CutoverSlackProps;
  /**
   * Where rollout messages go (started, each step, rolled back with the reason, succeeded; one thread per
   * rollout with a bot token): a secret holding `{"botToken": "xoxb-…", "channel": "C0123ABCD"}` or
   * `{"webhookUrl": "https://hooks.slack.com/services/…"}`. A failed notification never fails a rollout.
   * @default - no notifications
   */
  readonly notifications?: { readonly secret: secretsmanager.ISecret };
  /**
   * Retention of the functions' and the state machine's log groups.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Name of the rollout state machine (fixed, so the functions can reach it without a reference cycle).
   * @default - derived from the construct path, unique in the stack
   */
  readonly stateMachineName?: string;
  /**
   * Memory of every function, in MiB.
   * @default 256
   */
  readonly memorySize?: number;
  /**
   * Memory of the reaction path's functions (the alarm function, which puts the traffic back, and the
   * rollback), in MiB. Lambda gives a function CPU in proportion to its memory (one vCPU at 1,769 MiB), and a
   * cold start is mostly CPU: these rarely run, so they are nearly always cold, and their cost is small.
   * @see https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html
   * @default 1769
   */
  readonly reactionMemorySize?: number;
  /**
   * Reserved concurrency: `reaction` for each function of the reaction path (the alarm function and the
   * rollback), so nothing else in the account can starve a rollback; `chat` caps the Slack endpoint, so a
   * flood of requests cannot take the account's concurrency. Reserving needs an account whose unreserved
   * concurrency stays at 100 or more (new accounts may have a limit of 10: raise it, or pass `false`).
   * @default { reaction: 5, chat: 10 }
   */
  readonly reservedConcurrency?: { readonly reaction: number; readonly chat: number } | false;
  /**
   * X-Ray tracing of the functions (the state machine is always traced).
   * @default lambda.Tracing.ACTIVE
   */
  readonly tracing?: lambda.Tracing;
  /**
   * What happens to the table of locks and rollout history when it leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Emit source maps in the bundles (and set `NODE_OPTIONS=--enable-source-maps`). Readable stack traces
   * at the cost of bundle size and cold start.
   * @default false
   */
  readonly sourceMaps?: boolean;
  /**
   * A CloudWatch dashboard of the rollouts: by outcome, rollback reaction time (p50, p95), the time each
   * weight was held, each service's traffic per slot (target-group `RequestCount`) and the watched alarms.
   * @default true
   */
  readonly dashboard?: boolean;
}

/** The Slack app's settings. */
export interface CutoverSlackProps {
  /** The app's signing secret ("Basic Information" → "App Credentials"), as a plain-text secret. */
  readonly signingSecret: secretsmanager.ISecret;
}

/**
 * Canary rollouts for ECS services behind an ALB, driven by ECR pushes and aborted by CloudWatch alarms.
 *
 * @example
 * const cutover = new Cutover(stack, 'Cutover', { services: [checkout] });
 * cutover.grantStartRollout(deployRole);
 */
export class Cutover extends Construct {
  /** The rollout state machine (Standard), the one in `state-machines/rollout.asl.json`. */
  public readonly stateMachine: sfn.StateMachine;
  /** Locks (one per service, in flight) and rollout history. */
  public readonly table: dynamodb.Table;
  /** The functions, by name (`functions/<name>/handler.ts`). */
  public readonly functions: Readonly<Record<CoreFunctionName, lambda.Function>> & { readonly chat?: lambda.Function };
  /** The Slack slash command's Request URL (with the `slack` prop). */
  public readonly chatUrl?: lambda.FunctionUrl;
  /** ECR push (PUSH, SUCCESS) to a configured repository → the start function. */
  public readonly pushRule: events.Rule;
  /** The image-scan gate's wake-ups (ECR's and Inspector's scan-complete events), when a service has a gate. */
  public readonly scanRules: readonly events.Rule[] = [];
  /** A configured alarm going to ALARM → the alarm function. */
  public readonly alarmRule: events.Rule;
  /** ECS deployment failures and task start/placement failures → the alarm (abort) function. */
  public readonly ecsFailureRule: events.Rule;
  /** Executions that ended while owning a service → reconcile (the dead-execution path). */
  public readonly recoveryRule: events.Rule;
  /** Events the rules could not deliver, and start/alarm invocations that failed after their retries. */
  public readonly deadLetterQueue: sqs.Queue;
  /**
   * Per service whose slots are built in this app: the custom resources through which its deploys write back
   * what Cutover owns (live state) and release a task-definition change through the canary.
   */
  public readonly liveState: ReadonlyArray<{ readonly service: string; readonly liveState: CustomResource; readonly release: CustomResource }>;
  /** The rollouts dashboard (unless the `dashboard` prop is false). */
  public readonly dashboard?: cloudwatch.Dashboard;

  private readonly services: readonly ServiceRefs[];
  private readonly slack?: CutoverSlackProps;
  /** The state machine's name (fixed, so its ARN is known without a reference). */
  public readonly stateMachineName: string;
  private readonly stateMachineArnString: string;

  constructor(scope: Construct, id: string, props: CutoverProps) {
    super(scope, id);
    const services = resolveServices(this, props);
    this.services = services;
    const stack = Stack.of(this);

    const logRetention = props.logRetention ?? CutoverDefaults.logRetention;
    const memorySize = props.memorySize ?? CutoverDefaults.memorySize;
    const reactionMemorySize = props.reactionMemorySize ?? CutoverDefaults.reactionMemorySize;
    const tracing = props.tracing ?? CutoverDefaults.tracing;
    const sourceMaps = props.sourceMaps ?? CutoverDefaults.sourceMaps;

    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      removalPolicy: props.removalPolicy ?? CutoverDefaults.removalPolicy,
      // Only the chat function's request claims carry it: they go some time after Slack's replay window.
      timeToLiveAttribute: EXPIRES_AT_ATTRIBUTE,
    });
    // Sparse: only the locks of rollouts in flight carry activeKey, so the alarm path reads only those.
    this.table.addGlobalSecondaryIndex({
      indexName: ACTIVE_INDEX,
      partitionKey: { name: 'activeKey', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.ALL,
    });

    const functions = {} as Record<CoreFunctionName, lambda.Function> & { chat?: lambda.Function };
    for (const name of CUTOVER_FUNCTIONS) {
      if (name === 'chat' && !props.slack) continue;
      const memory = (REACTION_FUNCTIONS as readonly string[]).includes(name) ? reactionMemorySize : memorySize;
      functions[name] = this.buildFunction(name, { logRetention, memorySize: memory, tracing, sourceMaps });
    }
    this.functions = functions;
    const reserved = props.reservedConcurrency ?? CutoverDefaults.reservedConcurrency;
    if (reserved) {
      const reserve = (fn: lambda.Function | undefined, n: number) => {
        if (fn) (fn.node.defaultChild as lambda.CfnFunction).reservedConcurrentExecutions = n;
      };
      for (const name of REACTION_FUNCTIONS) reserve(functions[name], reserved.reaction);
      reserve(functions.chat, reserved.chat);
    }

    // A fixed name, so functions the definition invokes can know its ARN without a reference to it (which
    // would be a dependency cycle): they hand the lock to the next waiting push by its task token.
    this.stateMachineName = props.stateMachineName ?? `${Names.uniqueResourceName(this, { maxLength: 72, separator: '-' })}-rollout`;
    this.stateMachineArnString = stack.formatArn({ service: 'states', resource: 'stateMachine', resourceName: this.stateMachineName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    this.stateMachine = rolloutStateMachine(this, { functions, stateMachineName: this.stateMachineName, logRetention });

    for (const name of ['start', 'alarm', 'prepare', 'finalize', 'rollback', 'reconcile', 'retire', 'hook'] as const) functions[name].addEnvironment('STATE_MACHINE_ARN', this.stateMachineArnString);
    const servicesJson = stack.toJsonString(services.map((s) => s.config));
    for (const name of ['start', 'reconcile', 'release'] as const) functions[name].addEnvironment('CUTOVER_SERVICES', servicesJson);
    functions.release.addEnvironment('STATE_MACHINE_ARN', this.stateMachineArnString);
    // The alarm function aborts without reading the locks first: it knows who watches which alarm.
    functions.alarm.addEnvironment(WATCHERS_VARIABLE, stack.toJsonString(watchersOf(services.map((s) => s.config))));
    // What the CLI needs to find this orchestrator (`cutover status checkout --stack <name>`).
    new CfnOutput(this, 'TableName', { value: this.table.tableName, description: 'Cutover: locks, history and audit trail' });
    new CfnOutput(this, 'StateMachineArn', { value: this.stateMachine.stateMachineArn, description: 'Cutover: the rollout state machine' });
    new CfnOutput(this, 'StartFunctionName', { value: functions.start.functionName, description: 'Cutover: the start function (its environment holds the services)' });
    this.slack = props.slack;
    if (props.notifications) {
      for (const name of NOTIFYING_FUNCTIONS) {
        functions[name].addEnvironment('NOTIFY_SECRET_ARN', props.notifications.secret.secretArn);
        grantSecretValue(props.notifications.secret, functions[name]);
      }
    }
    if (functions.chat && props.slack) {
      functions.chat.addEnvironment('CUTOVER_SERVICES', servicesJson);
      functions.chat.addEnvironment('STATE_MACHINE_ARN', this.stateMachineArnString);
      // The secret's ARN, never its value: the function reads it from Secrets Manager.
      functions.chat.addEnvironment('SLACK_SIGNING_SECRET_ARN', props.slack.signingSecret.secretArn);
      // Slack cannot sign with SigV4: the URL is public and every request's Slack signature is verified
      // before any work is done (functions/chat/slack-signature.ts).
      this.chatUrl = functions.chat.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });
      // A command that may outlast Slack's 3 s runs in an asynchronous invocation of the function itself
      // (functions/chat/chat.ts). Never retried by Lambda: a command runs once (each run is also claimed in
      // the table, as Lambda may deliver an event twice). Dropped after 30 minutes, when Slack's response_url
      // has expired; the function itself refuses one older than Slack's 5-minute window, and says so.
      functions.chat.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.minutes(30) });
      new CfnOutput(this, 'SlackCommandUrl', { value: this.chatUrl.url, description: 'Request URL of the /cutover slash command' });
    }
    // A feature the Region lacks would only show when the deploy reaches it: say it at synth.
    checkRegionAvailability(this, [
      { feature: RegionalFeature.STATE_MACHINE_LOGGING },
      { feature: RegionalFeature.STATE_MACHINE_TRACING },
      ...(tracing !== lambda.Tracing.DISABLED ? [{ feature: RegionalFeature.FUNCTION_TRACING, turnOff: 'set `tracing: lambda.Tracing.DISABLED`' }] : []),
      ...(this.chatUrl ? [{ feature: RegionalFeature.FUNCTION_URL, turnOff: 'leave out the `slack` prop (no /cutover endpoint)' }] : []),
    ]);

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter queue of the push and alarm rules and of the start and alarm functions; a dead-letter queue has no dead-letter queue of its own.',
    });
    // EventBridge invokes asynchronously: a function that keeps failing lands here too, not in the void.
    for (const name of ['start', 'alarm', 'reconcile'] as const) {
      functions[name].configureAsyncInvoke({
        onFailure: new destinations.SqsDestination(this.deadLetterQueue),
        retryAttempts: 2,
        maxEventAge: Duration.hours(1),
      });
    }
    ({
      pushRule: this.pushRule,
      scanRules: this.scanRules,
      alarmRule: this.alarmRule,
      ecsFailureRule: this.ecsFailureRule,
      recoveryRule: this.recoveryRule,
    } = eventRules(this, {
      services,
      functions,
      deadLetterQueue: this.deadLetterQueue,
      stateMachineArn: this.stateMachineArnString,
    }));

    grantLeastPrivilege(
      this,
      {
        functions,
        table: this.table,
        stateMachine: this.stateMachine,
        stateMachineName: this.stateMachineName,
        stateMachineArn: this.stateMachineArnString,
        services: this.services,
        slack: this.slack,
      },
      tracing,
    );

    // What CloudFormation owns and what Cutover owns in the slots built in this app (infra/iac-ownership.ts).
    this.liveState = handOverServices(this, services, functions);

    if (props.dashboard ?? CutoverDefaults.dashboard) {
      this.dashboard = rolloutDashboard(
        this,
        'Dashboard',
        services.map((s) => ({
          name: s.props.name,
          // The load balancer's name is read from the listener's ARN (a rule's ARN names it the same way).
          listener: { listenerArn: s.props.listener?.listenerArn ?? s.props.listenerArn ?? s.trafficArn },
          blue: typeof s.props.blue.targetGroup === 'string' ? { targetGroupArn: s.props.blue.targetGroup } : s.props.blue.targetGroup,
          green: typeof s.props.green.targetGroup === 'string' ? { targetGroupArn: s.props.green.targetGroup } : s.props.green.targetGroup,
          alarms: s.props.alarms,
        })),
      );
    }
  }

  /**
   * Lets `grantee` start a rollout by hand (the CLI's `cutover rollout`), with the same input the start
   * function builds.
   */
  public grantStartRollout(grantee: iam.IGrantable): iam.Grant {
    return this.stateMachine.grantStartExecution(grantee);
  }

  /** Lets `grantee` read locks and rollout history (the CLI's and chat's `status`). */
  public grantReadHistory(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({ grantee, actions: ['dynamodb:GetItem', 'dynamodb:Query'], resourceArns: [this.table.tableArn] });
  }

  private buildFunction(name: CutoverFunctionName, options: { logRetention: logs.RetentionDays; memorySize: number; tracing: lambda.Tracing; sourceMaps: boolean }): lambda.Function {
    const id = pascal(name);
    const logGroup = new logs.LogGroup(this, `${id}Logs`, { retention: options.logRetention });
    // Own role: no AWSLambdaBasicExecutionRole (it allows writing to every log group in the account).
    const role = new iam.Role(this, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Cutover ${name} function`,
    });
    logGroup.grantWrite(role);
    const fn = new lambda.Function(this, `${id}Function`, {
      description: `Cutover: ${name}`,
      // Bundled once by `npm run build` (scripts/build.mjs): esbuild, ESM, minified, the pinned SDK inside.
      // The app that synthesizes needs neither esbuild nor Docker, and deploys the bundle the tests ran.
      // Without source maps the `.map` beside the bundle stays out of the asset.
      code: lambda.Code.fromAsset(bundleDirectory(name), options.sourceMaps ? {} : { exclude: ['*.map'] }),
      handler: 'index.handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: options.memorySize,
      // Reconcile may wait out a dead execution's last write (a whole lease) before it recovers the service.
      timeout: name === 'reconcile' ? Duration.millis(RECONCILE_TIMEOUT_MS) : CutoverDefaults.timeout,
      tracing: options.tracing,
      role,
      logGroup,
      environment: {
        // Powertools: the service on every log line, and the namespace of the EMF metrics.
        POWERTOOLS_SERVICE_NAME: TELEMETRY_SERVICE,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        ...(name in TABLE_ACCESS ? { TABLE_NAME: this.table.tableName } : {}),
        ...(options.sourceMaps ? { NODE_OPTIONS: '--enable-source-maps' } : {}),
      },
    });
    return fn;
  }
}
