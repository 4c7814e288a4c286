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
import { Annotations, ArnFormat, CfnOutput, type CustomResource, Duration, Names, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as ecr from 'aws-cdk-lib/aws-ecr';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ACTIVE_INDEX, EXPIRES_AT_ATTRIBUTE } from '../functions/core/table';
import { placeholderOfFunction, placeholders as aslPlaceholders, readRolloutDefinition, ROLLOUT_DEFINITION_PATH } from '../state-machines/definition';
import { DEFAULT_SCAN_TIMEOUT_SECONDS, DEFAULT_TIMINGS, validateServices, type ChatAccess, type ConcurrencyPolicy, type ScanSeverity, type ScanTimeoutAction, type ServiceConfig } from '../functions/core/config';
import { CanaryPlan, normalizePlan } from '../functions/core/plan';
import { alarmEventPattern, ecrScanPattern, ecsFailurePattern, executionEndedPattern, inspectorScanPattern, pushEventPattern, type EventPattern } from './rules';
import { RECONCILE_TIMEOUT_MS } from '../functions/core/ownership';
import { WATCHERS_VARIABLE, watchersOf } from '../functions/core/watchers';
import { rolloutDashboard } from './dashboard';
import { handOverLiveState } from './iac-ownership';
import { resolveSlot, taskDefinitionAccess, type CutoverTaskDefinitionProps, type ResolvedSlot, type TaskDefinitionAccess } from './slots';
import { bundleDirectory } from './assets';
import { checkRegionAvailability, RegionalFeature } from './region-availability';
import { METRICS_NAMESPACE, TELEMETRY_SERVICE } from '../functions/core/metrics';

/**
 * The definition file and how its placeholders are found: shared with the local runner
 * (state-machines/definition.ts), so what CDK deploys and what runs locally is one file read one way.
 */
export { aslPlaceholders, ROLLOUT_DEFINITION_PATH };
export type { CutoverTaskDefinitionProps } from './slots';

/** The Lambda functions, one per folder of `functions/` that has a `handler.ts`. */
export const CUTOVER_FUNCTIONS = [
  'start',
  'prepare',
  'register',
  'deploy',
  'check-steady',
  'check-alarms',
  'shift',
  'bake',
  'alarm',
  'finalize',
  'retire',
  'rollback',
  'reconcile',
  'chat',
  // Custom resources of the user's own deploys (infra/iac-ownership.ts): what is live written back, and a
  // task-definition change released through the canary.
  'live-state',
  'release',
] as const;

/** Name of one of Cutover's functions (its folder under `functions/`). */
export type CutoverFunctionName = (typeof CUTOVER_FUNCTIONS)[number];

/** The functions every Cutover has; `chat` exists only with the `slack` prop. */
type CoreFunctionName = Exclude<CutoverFunctionName, 'chat'>;

const pascal = (name: string) => name.replace(/(^|-)([a-z])/g, (_m, _d, c: string) => c.toUpperCase());

/** The ASL placeholder a function's ARN substitutes: `check-steady` → `CheckSteadyFunctionArn`. */
export const placeholderOf = (name: CutoverFunctionName): string => placeholderOfFunction(name);

/**
 * The `definitionSubstitutions` for the placeholders of a definition.
 * @throws Error naming every placeholder that has no value: a state machine with a literal `${...}` in a
 * `Resource` would fail only at deploy time.
 */
export function substitutionsFor(placeholders: readonly string[], values: Readonly<Record<string, string>>): Record<string, string> {
  const missing = placeholders.filter((p) => !(p in values));
  if (missing.length) {
    throw new Error(`Cutover: ${ROLLOUT_DEFINITION_PATH} has placeholders without a substitution: ${missing.map((p) => `\${${p}}`).join(', ')}`);
  }
  return Object.fromEntries(placeholders.map((p) => [p, values[p]!]));
}

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

/** The functions between an alarm and the traffic back on the retained slot (their own memory and concurrency). */
export const REACTION_FUNCTIONS = ['alarm', 'rollback'] as const;

/** The functions that post rollout messages (functions/aws/slack-notifier.ts). */
export const NOTIFYING_FUNCTIONS = ['prepare', 'shift', 'finalize', 'retire', 'rollback', 'reconcile'] as const;

/** The Slack app's settings. */
export interface CutoverSlackProps {
  /** The app's signing secret ("Basic Information" → "App Credentials"), as a plain-text secret. */
  readonly signingSecret: secretsmanager.ISecret;
}

/** Defaults of the optional props, in one place (the README's "Default settings" table reads the same). */
export const CutoverDefaults = {
  plan: CanaryPlan.TEN_TWENTYFIVE_FIFTY_5M,
  rollbackWindow: Duration.seconds(DEFAULT_TIMINGS.rollbackWindowSeconds),
  steadyPollInterval: Duration.seconds(DEFAULT_TIMINGS.steadyPollSeconds),
  steadyMaxChecks: DEFAULT_TIMINGS.steadyMaxChecks,
  logRetention: logs.RetentionDays.ONE_MONTH,
  memorySize: 256,
  reactionMemorySize: 1769,
  timeout: Duration.seconds(30),
  tracing: lambda.Tracing.ACTIVE,
  removalPolicy: RemovalPolicy.RETAIN,
  sourceMaps: false,
  dashboard: true,
  reservedConcurrency: { reaction: 5, chat: 10 },
} as const;

/**
 * Actions that AWS does not scope to a resource: they can only be granted on `*`.
 * @see https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html
 */
export const UNSCOPABLE_ACTIONS = {
  describeTaskDefinition: 'ecs:DescribeTaskDefinition',
  registerTaskDefinition: 'ecs:RegisterTaskDefinition',
  describeListeners: 'elasticloadbalancing:DescribeListeners',
  describeRules: 'elasticloadbalancing:DescribeRules',
  describeTargetGroups: 'elasticloadbalancing:DescribeTargetGroups',
  listTaskDefinitions: 'ecs:ListTaskDefinitions',
  deregisterTaskDefinition: 'ecs:DeregisterTaskDefinition',
  /**
   * Scoped to alarm ARNs, DescribeAlarms answers AccessDenied for a composite alarm (AWS documents `*` for
   * it; aws-cdk's own custom resources had to do the same). It only reads alarm states.
   */
  describeAlarms: 'cloudwatch:DescribeAlarms',
  /** Enhanced-scanning findings, read through ECR's DescribeImageScanFindings (Inspector has no resource scope for them). */
  listInspectorFindings: 'inspector2:ListFindings',
} as const;

/** The X-Ray actions Lambda's active tracing adds on `*` (they have no resource type). */
const XRAY_ACTIONS = ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'];

const ELB_DESCRIBE = [UNSCOPABLE_ACTIONS.describeListeners, UNSCOPABLE_ACTIONS.describeRules];

/** DynamoDB item actions each function's store calls need (see functions/aws/store.ts). */
const TABLE_ACCESS: Partial<Record<CutoverFunctionName, readonly string[]>> = {
  // The claim of each execution's first start (a duplicate delivery is counted once); a completed scan
  // reads and forgets the wait of the push of that image.
  start: ['dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:DeleteItem'],
  // Lock, drift reference, queue (read to wake the next push after a refusal, delete its own entry).
  // A dead owner's service is recovered on the way (the service state is put).
  prepare: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Query', 'dynamodb:PutItem'],
  // The fence before each change (GetItem reads the lock when it fails).
  register: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
  deploy: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
  'check-steady': ['dynamodb:GetItem'],
  'check-alarms': ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
  // Weights on the lock, and one record per step.
  shift: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:PutItem'],
  // Wait tokens on the lock; a queued push's entry.
  bake: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'],
  alarm: ['dynamodb:UpdateItem'],
  // History, the service's state (drift reference), the lock, and the queue to wake the next push.
  finalize: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:PutItem', 'dynamodb:Query'],
  // The scale-down takes the lock, reads the service state, fences and releases; a restore (the committed
  // slot emptied outside Cutover) also writes the record and the service state.
  retire: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:PutItem', 'dynamodb:Query'],
  // Finds the locks a dead execution holds (the index), recovers, closes records, wakes the next push.
  reconcile: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:Query'],
  // GetItem: the abort's time, for the rollback reaction metric.
  rollback: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:PutItem', 'dynamodb:Query'],
  // Whether an owner holds the service (a deploy then refuses to write what it is changing).
  'live-state': ['dynamodb:GetItem'],
  // Status and history read locks and records; commands write the lock (abort, pause) and the audit trail;
  // a rollback after completion takes and releases the lock; PutItem also claims each signed request once
  // (functions/aws/request-ledger.ts).
  chat: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Query', 'dynamodb:PutItem'],
};

/** The rollout ingredients of one service, as CDK references. */
interface ServiceRefs {
  readonly props: CutoverServiceProps;
  readonly config: ServiceConfig;
  /** What the functions modify: the listener, or the listener rule. */
  readonly trafficArn: string;
  readonly usesRule: boolean;
  readonly blue: ResolvedSlot;
  readonly green: ResolvedSlot;
  /** The family and roles of the slots' revisions (undefined only when the props are invalid). */
  readonly taskDefinition?: TaskDefinitionAccess;
}

/**
 * Turns a resolved CloudFormation value into the text cdk-nag uses in a finding id (`Ref` → `<Id>`,
 * `Fn::GetAtt` → `<Id.Attr>`, `Fn::Join` joined), so a specific finding can be acknowledged.
 * @see https://github.com/cdklabs/cdk-nag/blob/main/src/utils/flatten-cfn-reference.ts
 */
function nagText(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value.replace(/\$\{/g, '<').replace(/\}/g, '>');
  const v = value as Record<string, unknown>;
  if (v['Fn::Join']) {
    const [delimiter, items] = v['Fn::Join'] as [string, unknown[]];
    return items.map(nagText).join(delimiter);
  }
  if (v['Fn::Sub']) return nagText(v['Fn::Sub']);
  if (v['Fn::GetAtt']) {
    const [resource, attribute] = v['Fn::GetAtt'] as [unknown, unknown];
    return `<${nagText(resource)}.${nagText(attribute)}>`;
  }
  if (v['Fn::ImportValue']) return nagText(v['Fn::ImportValue']);
  if (v.Ref) return `<${nagText(v.Ref)}>`;
  return JSON.stringify(value);
}

/**
 * Read access to a secret's value, and nothing else (`secret.grantRead` also grants DescribeSecret, which no
 * function calls). A secret imported by name or partial ARN has no full ARN: its ARN lacks the random
 * suffix Secrets Manager adds, so the policy matches any suffix, as the construct library's own grant does.
 * A customer-managed key, if any, still lets the function decrypt.
 */
function grantSecretValue(secret: secretsmanager.ISecret, fn: lambda.IFunction): void {
  const resource = secret.secretFullArn ?? `${secret.secretArn}-??????`;
  fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [resource] }));
  secret.encryptionKey?.grantDecrypt(fn);
}

/** Unique by string (two references to the same resource render the same token string). */
/** The shared pattern (the local bus uses the same one) in CDK's shape: `detail-type` is `detailType` there. */
function cdkPattern(pattern: EventPattern): events.EventPattern {
  const { source, 'detail-type': detailType, detail } = pattern as Record<string, unknown>;
  return { source: source as string[], detailType: detailType as string[], detail: detail as Record<string, unknown> };
}

const unique = (values: readonly string[]) => [...new Set(values)];

/** Tokens as distinct placeholder ARNs, so the run-time validators can check everything else. */
function forValidation(value: unknown): unknown {
  if (typeof value === 'string') return Token.isUnresolved(value) ? `arn:aws:cdk-token:::${value}` : value;
  if (typeof value === 'number') return Token.isUnresolved(value) ? 1 : value;
  if (Array.isArray(value)) return value.map(forValidation);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, forValidation(v)]));
  return value;
}

/**
 * Lambda's limit on a function's environment variables, all together.
 * @see https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
 */
export const LAMBDA_ENVIRONMENT_LIMIT = 4096;

/**
 * The length of the services' JSON once deployed, estimated: an ARN not known at synth counts 140
 * characters (a listener ARN is about 130), a name 64.
 */
function deployedLength(configs: readonly ServiceConfig[]): number {
  return JSON.stringify(configs, (key, value: unknown) =>
    typeof value === 'string' && Token.isUnresolved(value) ? 'x'.repeat(/Arn$/.test(key) ? 140 : 64) : value,
  ).length;
}

/** Maps a validator path (`services[0].slots.blue.serviceName`) to the prop that sets it (`services[0].blue.service`). */
function propPath(problem: string, services: readonly CutoverServiceProps[]): string {
  return problem
    .replace(/^(services\[\d+\])\.slots\.(blue|green)\.serviceName/, '$1.$2.service')
    .replace(/^(services\[\d+\])\.slots\.(blue|green)\.targetGroupArn/, '$1.$2.targetGroup')
    .replace(/^(services\[\d+\])\.slots:/, '$1.blue/green:')
    .replace(/^(services\[(\d+)\])\.listenerArn/, (_m, at: string, i: string) => `${at}.${services[Number(i)]?.listenerRuleArn !== undefined ? 'listenerRuleArn' : 'listener'}`)
    .replace(/^(services\[\d+\])\.timings\.rollbackWindowSeconds/, '$1.rollbackWindow')
    .replace(/^(services\[\d+\])\.timings\.steadyPollSeconds/, '$1.steadyPollInterval')
    .replace(/^(services\[\d+\])\.timings\.steadyMaxChecks/, '$1.steadyMaxChecks')
    .replace(/^(services\[\d+\])\.imageScan\.timeoutSeconds/, '$1.imageScan.timeout');
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
    const services = this.validate(props);
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

    const definition = readRolloutDefinition();
    const arns = Object.fromEntries(CUTOVER_FUNCTIONS.flatMap((name) => (functions[name] ? [[placeholderOf(name), functions[name].functionArn]] : [])));
    const placeholders = aslPlaceholders(definition);
    const definitionSubstitutions = substitutionsFor(placeholders, arns);

    // A fixed name, so functions the definition invokes can know its ARN without a reference to it (which
    // would be a dependency cycle): they hand the lock to the next waiting push by its task token.
    this.stateMachineName = props.stateMachineName ?? `${Names.uniqueResourceName(this, { maxLength: 72, separator: '-' })}-rollout`;
    // Under /aws/vendedlogs/: CloudWatch Logs then needs no resource policy per log group for Step Functions'
    // log delivery, whose size limit (5,120 characters per account and Region) deployments otherwise hit.
    const stateMachineLogs = new logs.LogGroup(this, 'StateMachineLogs', { logGroupName: `/aws/vendedlogs/states/${this.stateMachineName}`, retention: logRetention });
    this.stateMachineArnString = stack.formatArn({ service: 'states', resource: 'stateMachine', resourceName: this.stateMachineName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName: this.stateMachineName,
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromString(definition),
      definitionSubstitutions,
      logs: { destination: stateMachineLogs, level: sfn.LogLevel.ALL, includeExecutionData: true },
      tracingEnabled: true,
    });
    // Only the unqualified ARNs the definition names (grantInvoke would add `<arn>:*` for every version).
    const invoked = CUTOVER_FUNCTIONS.filter((name) => placeholders.includes(placeholderOf(name)));
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: invoked.map((name) => functions[name]!.functionArn) }),
    );
    Validations.of(this.stateMachine.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Step Functions logging to CloudWatch Logs needs logs:CreateLogDelivery, GetLogDelivery, UpdateLogDelivery, DeleteLogDelivery, ' +
        'ListLogDeliveries, PutResourcePolicy, DescribeResourcePolicies and DescribeLogGroups, and X-Ray tracing needs xray:PutTraceSegments, ' +
        'PutTelemetryRecords, GetSamplingRules and GetSamplingTargets; none of these actions supports resource-level permissions.',
    });

    for (const name of ['start', 'alarm', 'prepare', 'finalize', 'rollback', 'reconcile', 'retire'] as const) functions[name].addEnvironment('STATE_MACHINE_ARN', this.stateMachineArnString);
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
    const target = (fn: lambda.IFunction) =>
      new targets.LambdaFunction(fn, { deadLetterQueue: this.deadLetterQueue, retryAttempts: 8, maxEventAge: Duration.hours(1) });

    this.pushRule = new events.Rule(this, 'PushRule', {
      description: 'Cutover: an image pushed to a configured ECR repository starts a rollout',
      eventPattern: cdkPattern(pushEventPattern(services.map((s) => s.props.repository.repositoryName))),
      targets: [target(functions.start)],
    });
    // The image-scan gate: a completed scan (basic or enhanced) ends the wait of the push of that image.
    const scanned = services.filter((s) => s.props.imageScan);
    if (scanned.length) {
      this.scanRules = [
        new events.Rule(this, 'ScanRule', {
          description: "Cutover: ECR's scan of a pushed image completed; the push waiting for it goes on",
          eventPattern: cdkPattern(ecrScanPattern(scanned.map((s) => s.props.repository.repositoryName))),
          targets: [target(functions.start)],
        }),
        new events.Rule(this, 'InspectorScanRule', {
          description: "Cutover: Inspector's enhanced scan of a pushed image completed; the push waiting for it goes on",
          eventPattern: cdkPattern(inspectorScanPattern(scanned.map((s) => s.props.repository.repositoryArn))),
          targets: [target(functions.start)],
        }),
      ];
    }
    this.alarmRule = new events.Rule(this, 'AlarmRule', {
      description: 'Cutover: a watched alarm going to ALARM aborts the rollouts that watch it',
      eventPattern: cdkPattern(alarmEventPattern(services.flatMap((s) => s.props.alarms.map((a) => a.alarmName)))),
      targets: [target(functions.alarm)],
    });
    this.ecsFailureRule = new events.Rule(this, 'EcsFailureRule', {
      description: 'Cutover: ECS failing a deployment or unable to start tasks aborts the rollout deploying to that service',
      eventPattern: cdkPattern(ecsFailurePattern()),
      targets: [target(functions.alarm)],
    });

    this.recoveryRule = new events.Rule(this, 'RecoveryRule', {
      description: 'Cutover: an execution that ended while it still owned a service (stopped, timed out, failed, or a scale-down that died) has the service put back in a safe state',
      eventPattern: cdkPattern(executionEndedPattern(this.stateMachineArnString)),
      targets: [target(functions.reconcile)],
    });

    this.grantAccess(tracing);

    // What CloudFormation owns and what Cutover owns in the slots built in this app (infra/iac-ownership.ts).
    this.liveState = services.flatMap((s) => {
      if (!s.blue.concrete || !s.green.concrete) return [];
      const out = handOverLiveState(
        this,
        `${pascal(s.props.name.replace(/_/g, '-'))}Ownership`,
        { name: s.props.name, cluster: s.config.cluster, blue: { service: s.blue.concrete, targetGroupArn: s.blue.targetGroupArn }, green: { service: s.green.concrete, targetGroupArn: s.green.targetGroupArn }, listener: s.usesRule ? undefined : (s.props.listener as elbv2.ApplicationListener | undefined), trafficArn: s.trafficArn },
        { liveState: functions['live-state'], release: functions.release },
      );
      return out ? [{ service: s.props.name, ...out }] : [];
    });

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

  /** Checks the props with the run-time validators and returns what the rest of the construct needs. */
  private validate(props: CutoverProps): ServiceRefs[] {
    const problems: string[] = [];
    if (!Array.isArray(props.services) || props.services.length === 0) problems.push('services: must list at least one service');
    for (const [name, memorySize] of [['memorySize', props.memorySize], ['reactionMemorySize', props.reactionMemorySize]] as const) {
      if (memorySize !== undefined && !Token.isUnresolved(memorySize) && (!Number.isInteger(memorySize) || memorySize < 128 || memorySize > 10_240)) {
        problems.push(`${name}: must be an integer from 128 to 10240 (MiB)`);
      }
    }
    const services = (props.services ?? []).map((s, i): ServiceRefs => {
      const usesRule = s.listenerRuleArn !== undefined;
      if (s.listener !== undefined && s.listenerArn !== undefined) problems.push(`services[${i}].listenerArn: give either listener or listenerArn, not both`);
      const listenerArn = s.listener?.listenerArn ?? s.listenerArn;
      if (listenerArn === undefined && !usesRule) problems.push(`services[${i}].listener: required: the listener, its ARN (listenerArn) or the ARN of the listener rule (listenerRuleArn) that forwards to both target groups`);
      const trafficArn = s.listenerRuleArn ?? listenerArn ?? '';
      const seconds = (d: Duration) => d.toSeconds({ integral: false });
      const blue = resolveSlot(this, s.cluster, s.blue);
      const green = resolveSlot(this, s.cluster, s.green);
      const td = taskDefinitionAccess(`services[${i}]`, [blue, green], s.taskDefinition);
      problems.push(...td.problems);
      const config: ServiceConfig = {
        name: s.name,
        cluster: s.cluster.clusterName,
        slots: {
          blue: { serviceName: blue.serviceName, targetGroupArn: blue.targetGroupArn },
          green: { serviceName: green.serviceName, targetGroupArn: green.targetGroupArn },
        },
        listenerArn: trafficArn,
        containerName: s.containerName,
        repository: s.repository.repositoryName,
        plan: normalizePlan(s.plan ?? CutoverDefaults.plan),
        alarms: (s.alarms ?? []).map((a) => a.alarmName),
        timings: {
          rollbackWindowSeconds: seconds(s.rollbackWindow ?? CutoverDefaults.rollbackWindow),
          steadyPollSeconds: seconds(s.steadyPollInterval ?? CutoverDefaults.steadyPollInterval),
          steadyMaxChecks: s.steadyMaxChecks ?? CutoverDefaults.steadyMaxChecks,
        },
        ...(s.chat ? { chat: s.chat } : {}),
        ...(s.concurrency ? { concurrency: s.concurrency } : {}),
        ...(s.tagFilter !== undefined ? { tagFilter: s.tagFilter } : {}),
        ...(s.imageScan
          ? { imageScan: { failOn: s.imageScan.failOn, timeoutSeconds: seconds(s.imageScan.timeout ?? Duration.seconds(DEFAULT_SCAN_TIMEOUT_SECONDS)), onTimeout: s.imageScan.onTimeout ?? 'refuse' } }
          : {}),
        ...(s.keepRevisions !== undefined ? { keepRevisions: s.keepRevisions } : {}),
        ...(s.adoptDrift !== undefined ? { adoptDrift: s.adoptDrift } : {}),
      };
      return { props: s, config, trafficArn, usesRule, blue, green, taskDefinition: td.access };
    });
    // The validators the start function runs on CUTOVER_SERVICES at run time (validateServices runs
    // validatePlan on each plan), so a config that synthesizes is one the functions accept.
    const configs = services.map((s) => forValidation(s.config));
    problems.push(...validateServices(configs).map((p) => propPath(p, props.services ?? [])));
    services.forEach((s, i) => {
      const rule = s.props.listenerRuleArn;
      if (rule !== undefined && !Token.isUnresolved(rule) && !rule.includes(':listener-rule/app/')) {
        problems.push(`services[${i}].listenerRuleArn: must be the ARN of an Application Load Balancer listener rule (…:listener-rule/app/…)`);
      }
    });
    if (problems.length) throw new Error(`Cutover: invalid props:\n  ${problems.join('\n  ')}`);
    // The start function reads every service from one environment variable; a deploy that outgrows the
    // limit fails late, so say it at synth. Deployed values are not known yet: estimate them.
    const estimate = deployedLength(services.map((s) => s.config));
    if (estimate > LAMBDA_ENVIRONMENT_LIMIT - 512) {
      Annotations.of(this).addWarningV2(
        '@cutover/services-environment-size',
        `CUTOVER_SERVICES may not fit in the start function's environment: about ${estimate} bytes for ${services.length} services, ` +
          `and Lambda allows ${LAMBDA_ENVIRONMENT_LIMIT} bytes for all variables together. Split the services over two Cutover constructs.`,
      );
    }
    return services;
  }

  private buildFunction(
    name: CutoverFunctionName,
    options: { logRetention: logs.RetentionDays; memorySize: number; tracing: lambda.Tracing; sourceMaps: boolean },
  ): lambda.Function {
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

  /** Least privilege: each function gets the actions its ports call, on the ARNs in the props. */
  private grantAccess(tracing: lambda.Tracing): void {
    const f = this.functions;
    const stack = Stack.of(this);
    const slots = this.services.flatMap((s) => [s.blue, s.green]);
    const serviceArns = unique(slots.map((slot) => slot.serviceArn));
    const listenerArns = unique(this.services.filter((s) => !s.usesRule).map((s) => s.trafficArn));
    const ruleArns = unique(this.services.filter((s) => s.usesRule).map((s) => s.trafficArn));
    // Each service's own roles and family: from its task definition, or its `taskDefinition` prop if imported.
    const roleArns = unique(this.services.flatMap((s) => s.taskDefinition?.roleArns ?? []));
    const families = unique(this.services.flatMap((s) => s.taskDefinition?.families ?? []));

    const unscoped = new Map<CutoverFunctionName, string[]>();
    const allow = (name: CutoverFunctionName, actions: string[], resources: string[], conditions?: Record<string, Record<string, unknown>>) => {
      if (resources.length === 0 || !f[name]) return;
      if (resources.includes('*')) unscoped.set(name, [...(unscoped.get(name) ?? []), ...actions]);
      f[name]!.addToRolePolicy(new iam.PolicyStatement({ actions, resources, conditions }));
    };

    // Locks and history: the item actions each function's store calls make, on the table only; the alarm
    // path also queries the sparse `active` index (by name, not `index/*`).
    for (const [name, actions] of Object.entries(TABLE_ACCESS) as [CutoverFunctionName, string[]][]) {
      allow(name, actions, [this.table.tableArn]);
    }
    for (const name of ['alarm', 'reconcile'] as const) allow(name, ['dynamodb:Query'], [`${this.table.tableArn}/index/${ACTIVE_INDEX}`]);

    // Reading: prepare's pre-flight reads everything; check-steady watches the new slot's deployment.
    allow('prepare', ['ecs:DescribeServices'], serviceArns);
    allow('check-steady', ['ecs:DescribeServices'], serviceArns);
    allow('prepare', [UNSCOPABLE_ACTIONS.describeTaskDefinition], ['*']);
    allow('prepare', [...ELB_DESCRIBE, UNSCOPABLE_ACTIONS.describeTargetGroups], ['*']);
    allow('prepare', [UNSCOPABLE_ACTIONS.describeAlarms], ['*']);
    allow('check-alarms', [UNSCOPABLE_ACTIONS.describeAlarms], ['*']);
    // Check-alarms also notices changes made outside Cutover: the new slot scaled to 0, the retained revision
    // deregistered.
    allow('check-alarms', ['ecs:DescribeServices'], serviceArns);
    allow('check-alarms', [UNSCOPABLE_ACTIONS.describeTaskDefinition], ['*']);

    // Register: clone the live revision, register the clone with its tags, pass the same roles on.
    allow('register', [UNSCOPABLE_ACTIONS.describeTaskDefinition, UNSCOPABLE_ACTIONS.registerTaskDefinition], ['*']);
    const familyArns = families.map((family) => stack.formatArn({ service: 'ecs', resource: 'task-definition', resourceName: `${family}:*` }));
    allow('register', ['ecs:TagResource'], familyArns, { StringEquals: { 'ecs:CreateAction': 'RegisterTaskDefinition' } });
    allow('register', ['iam:PassRole'], roleArns, { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } });
    for (const arn of familyArns) {
      Validations.of(f.register.role!).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${nagText(stack.resolve(arn))}]`,
        reason:
          'ecs:TagResource on the revisions of the services\' own task-definition family, only while registering one ' +
          '(condition ecs:CreateAction = RegisterTaskDefinition); the new revision number is not known in advance.',
      });
    }

    // Changing: the slots' services and the traffic split, nothing else.
    // Recovery of a dead owner (reconcile, and prepare on its way to the lock) writes like a rollback.
    for (const name of ['deploy', 'retire', 'rollback', 'prepare', 'reconcile'] as const) allow(name, ['ecs:UpdateService'], serviceArns);
    // Reconcile reads what it restores; retire and finalize never leave the traffic on a slot that cannot serve.
    for (const name of ['reconcile', 'retire'] as const) allow(name, ['ecs:DescribeServices'], serviceArns);
    for (const name of ['shift', 'retire', 'rollback', 'reconcile', 'alarm'] as const) allow(name, ELB_DESCRIBE, ['*']);
    // Retire: the warm old slot takes the traffic back when the committed one was emptied outside Cutover.
    // Alarm: an abort puts the traffic back on the retained slot at once (one hop).
    for (const name of ['shift', 'rollback', 'prepare', 'reconcile', 'retire', 'alarm'] as const) {
      allow(name, ['elasticloadbalancing:ModifyListener'], listenerArns);
      allow(name, ['elasticloadbalancing:ModifyRule'], ruleArns);
    }

    this.stateMachine.grantStartExecution(f.start);
    // The alarm path only fails the waiting task (grantTaskResponse would add SendTaskSuccess and Heartbeat).
    allow('alarm', ['states:SendTaskFailure'], [this.stateMachine.stateMachineArn]);

    // Turns: prepare aborts a superseded rollout (fails its token) and reads whether a lock's execution has
    // ended; whoever releases a lock wakes the next waiting push. By the fixed ARN: no reference cycle.
    const taskResponse = ['states:SendTaskSuccess', 'states:SendTaskFailure'];
    for (const name of ['prepare', 'finalize', 'rollback', 'reconcile', 'retire'] as const) allow(name, taskResponse, [this.stateMachineArnString]);
    const executions = stack.formatArn({ service: 'states', resource: 'execution', resourceName: `${this.stateMachineName}:*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    allow('prepare', ['states:DescribeExecution'], [executions]);
    Validations.of(f.prepare.role!).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagText(stack.resolve(executions))}]`,
      reason: 'states:DescribeExecution on the executions of this state machine only, to tell a stale lock (its execution ended) from a live one; execution names are not known in advance.',
    });

    // Pre-flight: the pushed digest exists in the configured repositories, and its scan findings; an image
    // index is read (its manifest, never a layer) for an image of the service's platform.
    const repositoryArns = unique(this.services.map((s) => s.props.repository.repositoryArn));
    allow('prepare', ['ecr:DescribeImages', 'ecr:DescribeImageScanFindings', 'ecr:BatchGetImage'], repositoryArns);
    // Start reads ECR's push time, which orders pushes.
    allow('start', ['ecr:DescribeImages'], repositoryArns);
    // The user's deploys: live state reads the slots, the lock and the weights; a release reads the live
    // image and its push time, and starts a rollout like the start function.
    // By name, not by reference: the slot services read this function's answer, so a reference to them in
    // its policy would be a dependency cycle (infra/iac-ownership.ts hands over only services with a name).
    const namedSlots = this.services.flatMap((s) =>
      [s.blue, s.green].flatMap((slot) => {
        const name = slot.concrete && (slot.concrete.node.defaultChild as ecs.CfnService).serviceName;
        return name === undefined ? [] : [stack.formatArn({ service: 'ecs', resource: 'service', resourceName: `${s.config.cluster}/${name}` })];
      }),
    );
    allow('live-state', ['ecs:DescribeServices'], unique(namedSlots));
    allow('live-state', [UNSCOPABLE_ACTIONS.describeTaskDefinition, UNSCOPABLE_ACTIONS.describeTargetGroups, UNSCOPABLE_ACTIONS.describeListeners], ['*']);
    allow('release', ['ecs:DescribeServices'], serviceArns);
    allow('release', [UNSCOPABLE_ACTIONS.describeTaskDefinition, ...ELB_DESCRIBE], ['*']);
    allow('release', ['ecr:DescribeImages'], repositoryArns);
    this.stateMachine.grantStartExecution(f.release);
    // The image-scan gate: the wait reads the scan once it is recorded; a completed scan ends it. Findings
    // of enhanced scanning come from Inspector through ECR's API, which needs inspector2:ListFindings.
    const gated = unique(this.services.filter((s) => s.props.imageScan).map((s) => s.props.repository.repositoryArn));
    if (gated.length) {
      allow('bake', ['ecr:DescribeImageScanFindings'], gated);
      allow('start', ['states:SendTaskSuccess'], [this.stateMachineArnString]);
      for (const name of ['prepare', 'bake'] as const) allow(name, [UNSCOPABLE_ACTIONS.listInspectorFindings], ['*']);
    }

    // Retention after a success: list the family, keep the protected and newest, deregister the rest.
    allow('finalize', ['ecs:DescribeServices'], serviceArns);
    // Describe: only revisions tagged as registered by Cutover for the same service are deregistered.
    allow('finalize', [UNSCOPABLE_ACTIONS.listTaskDefinitions, UNSCOPABLE_ACTIONS.deregisterTaskDefinition, UNSCOPABLE_ACTIONS.describeTaskDefinition], ['*']);

    // Chat: status reads the alarms and the weights; commands resume or fail the waiting task; a rollback
    // after completion moves the weights back and scales the new slot down.
    if (f.chat && this.slack) {
      grantSecretValue(this.slack.signingSecret, f.chat);
      // promote and resume succeed the waiting task, rollback fails it; nothing sends heartbeats.
      allow('chat', ['states:SendTaskSuccess', 'states:SendTaskFailure'], [this.stateMachine.stateMachineArn]);
      allow('chat', [UNSCOPABLE_ACTIONS.describeAlarms], ['*']);
      allow('chat', ['ecs:DescribeServices'], serviceArns);
      allow('chat', ['ecs:UpdateService'], serviceArns);
      allow('chat', ELB_DESCRIBE, ['*']);
      allow('chat', ['elasticloadbalancing:ModifyListener'], listenerArns);
      allow('chat', ['elasticloadbalancing:ModifyRule'], ruleArns);
      // A rollback whose rollout's execution has ended recovers the service itself.
      allow('chat', ['states:DescribeExecution'], [executions]);
      // Its own asynchronous invocation (a deferred command), on its own ARN only. A policy apart from the
      // role's default policy: the function depends on that one, so its ARN there would be a cycle.
      f.chat.role!.attachInlinePolicy(
        new iam.Policy(this, 'ChatSelfInvokePolicy', { statements: [new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [f.chat.functionArn] })] }),
      );
      Validations.of(f.chat.role!).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${nagText(stack.resolve(executions))}]`,
        reason: 'states:DescribeExecution on the executions of this state machine only, to tell a dead lock holder from a live one; execution names are not known in advance.',
      });
    }

    for (const name of CUTOVER_FUNCTIONS) {
      if (!f[name]) continue;
      const actions = [...(tracing !== lambda.Tracing.DISABLED ? XRAY_ACTIONS : []), ...(unscoped.get(name) ?? [])];
      if (actions.length === 0) continue;
      Validations.of(f[name]!.role!).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: `The ${name} function's role needs ${unique(actions).join(', ')}; these actions do not support resource-level permissions, so IAM only accepts Resource "*" for them.`,
      });
    }
  }
}
