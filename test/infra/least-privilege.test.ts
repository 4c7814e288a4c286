/**
 * Least privilege, function by function: each role lists exactly the AWS actions its code calls (written
 * out below from `functions/<name>/` and the ports it uses), `Resource: "*"` only for actions AWS cannot
 * scope, and `iam:PassRole` only to ECS tasks. Read from the synthesized example app, and from a variant
 * with notifications and a listener rule.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { beforeAll, describe, expect, it } from 'vitest';
import { CUTOVER_FUNCTIONS, Cutover, NOTIFYING_FUNCTIONS, type CutoverFunctionName } from '../../infra/cutover';
import { EXAMPLE_NAMES, ExampleEnvironment } from '../../infra/example-environment';
import { actionsOf, policyStatementsOf, render, synthExampleApp, type ExampleApp, type Json, type Statement } from './example-app';

/**
 * The AWS actions each function's code calls, through its ports (functions/aws/), and the ones AWS checks
 * alongside a call (registering a task definition with tags and roles needs ecs:TagResource and iam:PassRole).
 * Reads of a listener rule are DescribeRules, of a listener DescribeListeners: both, as either may be configured.
 */
const CALLS: Record<CutoverFunctionName, readonly string[]> = {
  // registry.describeImage (ECR's push time), executions.start, requestLedger.claim (PutItem); a completed
  // scan: store.scanWait (GetItem), deleteScanWait (DeleteItem) and, with a scan gate, succeedTask
  start: ['ecr:DescribeImages', 'states:StartExecution', 'dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:DeleteItem'],
  // store: acquireLock/takeOverLock/updateLock/putHistory/markAborted (UpdateItem), getLock/getServiceState (GetItem),
  // releaseLock/dequeue (DeleteItem), queued (Query); pre-flight reads; registry (ECR: an image index's
  // manifest by BatchGetImage); turns: isStale
  // (DescribeExecution), supersede and wakeNext (SendTaskFailure / SendTaskSuccess)
  // and recovers a dead owner's service on its way to the lock (updateService, setWeights, putServiceState)
  prepare: [
    'dynamodb:GetItem',
    'dynamodb:UpdateItem',
    'dynamodb:DeleteItem',
    'dynamodb:Query',
    'dynamodb:PutItem',
    'ecs:DescribeServices',
    'ecs:DescribeTaskDefinition',
    'ecs:UpdateService',
    'elasticloadbalancing:DescribeListeners',
    'elasticloadbalancing:DescribeRules',
    'elasticloadbalancing:DescribeTargetGroups',
    'elasticloadbalancing:ModifyListener',
    'cloudwatch:DescribeAlarms',
    'ecr:DescribeImages',
    'ecr:DescribeImageScanFindings',
    'ecr:BatchGetImage',
    'states:SendTaskSuccess',
    'states:SendTaskFailure',
    'states:DescribeExecution',
  ],
  // ecs.describeTaskDefinition, ecs.registerTaskDefinition (with tags and the task's roles)
  // and the fence before it (store.fence: UpdateItem, GetItem when it fails)
  register: ['ecs:DescribeTaskDefinition', 'ecs:RegisterTaskDefinition', 'ecs:TagResource', 'iam:PassRole', 'dynamodb:GetItem', 'dynamodb:UpdateItem'],
  // store.fence, ecs.updateService
  deploy: ['ecs:UpdateService', 'dynamodb:GetItem', 'dynamodb:UpdateItem'],
  // ecs.describeService, store.getLock
  'check-steady': ['ecs:DescribeServices', 'dynamodb:GetItem'],
  // store.getLock, store.updateLock / clearWait, alarms.describe; ecs.describeService (the new slot) and
  // ecs.describeTaskDefinition (the retained revision) for changes made outside Cutover; traffic.targetHealth
  // (can the retained slot take the traffic back?); with notifications, the Slack secret (a hold is escalated)
  'check-alarms': ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'cloudwatch:DescribeAlarms', 'ecs:DescribeServices', 'ecs:DescribeTaskDefinition', 'elasticloadbalancing:DescribeTargetHealth'],
  // traffic.setWeights, store.updateLock, store.putStep
  shift: ['elasticloadbalancing:DescribeListeners', 'elasticloadbalancing:DescribeRules', 'elasticloadbalancing:ModifyListener', 'dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:PutItem'],
  // store.recordTaskToken (UpdateItem, GetItem when refused), store.getLock, store.enqueue (PutItem)
  bake: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'],
  // store.activeLocksWatching / activeLocks (Query on the index), store.markAborted, executions.failTask;
  // the abort's own restore: traffic.readActions, traffic.setWeights; a dry-run canary analysis's verdict:
  // store.getLock, store.putStep
  alarm: [
    'dynamodb:Query',
    'dynamodb:UpdateItem',
    'dynamodb:GetItem',
    'dynamodb:PutItem',
    'states:SendTaskFailure',
    'elasticloadbalancing:DescribeListeners',
    'elasticloadbalancing:DescribeRules',
    'elasticloadbalancing:ModifyListener',
  ],
  // store.putHistory, putServiceState, releaseLock; retention (describeService, listRevisions,
  // deregisterTaskDefinition); wakeNext (queued, dequeue, succeedTask / failTask)
  // (describeTaskDefinition: only Cutover's own revisions of the service are deregistered)
  finalize: [
    'dynamodb:GetItem',
    'dynamodb:UpdateItem',
    'dynamodb:PutItem',
    'dynamodb:DeleteItem',
    'dynamodb:Query',
    'ecs:DescribeServices',
    'ecs:ListTaskDefinitions',
    'ecs:DeregisterTaskDefinition',
    'ecs:DescribeTaskDefinition',
    'states:SendTaskSuccess',
    'states:SendTaskFailure',
  ],
  // store.acquireLock/fence/releaseLock, getServiceState, traffic.readForward, ecs.updateService
  // and wakeNext (queued, dequeue, succeedTask / failTask) for a push that came while it held the lock;
  // a restore when the committed slot was emptied: setWeights, putHistory, putServiceState
  retire: [
    'dynamodb:GetItem',
    'dynamodb:UpdateItem',
    'dynamodb:DeleteItem',
    'dynamodb:PutItem',
    'dynamodb:Query',
    'elasticloadbalancing:DescribeListeners',
    'elasticloadbalancing:DescribeRules',
    'elasticloadbalancing:ModifyListener',
    'ecs:DescribeServices',
    'ecs:UpdateService',
    'states:SendTaskSuccess',
    'states:SendTaskFailure',
  ],
  // store.activeLocks (index), recovery: takeOverLock/fence, describe/updateService, setWeights, history,
  // service state, releaseLock; wakeNext
  reconcile: [
    'dynamodb:GetItem',
    'dynamodb:UpdateItem',
    'dynamodb:PutItem',
    'dynamodb:DeleteItem',
    'dynamodb:Query',
    'ecs:DescribeServices',
    'ecs:UpdateService',
    'elasticloadbalancing:DescribeListeners',
    'elasticloadbalancing:DescribeRules',
    'elasticloadbalancing:ModifyListener',
    'states:SendTaskSuccess',
    'states:SendTaskFailure',
  ],
  // store.getLock (abort time), setWeights, updateService, putHistory, putServiceState, releaseLock; wakeNext
  rollback: [
    'dynamodb:GetItem',
    'dynamodb:UpdateItem',
    'dynamodb:PutItem',
    'dynamodb:DeleteItem',
    'dynamodb:Query',
    'ecs:UpdateService',
    'elasticloadbalancing:DescribeListeners',
    'elasticloadbalancing:DescribeRules',
    'elasticloadbalancing:ModifyListener',
    'states:SendTaskSuccess',
    'states:SendTaskFailure',
  ],
  // the signing secret; status, history, rollback, promote, pause, resume and the audit trail (commands.ts);
  // its own asynchronous invocation for a command that may outlast Slack's 3 s (deferral.defer)
  chat: [
    'secretsmanager:GetSecretValue',
    'lambda:InvokeFunction',
    'dynamodb:GetItem',
    'dynamodb:UpdateItem',
    'dynamodb:DeleteItem',
    'dynamodb:Query',
    'dynamodb:PutItem',
    'cloudwatch:DescribeAlarms',
    'ecs:DescribeServices',
    'ecs:UpdateService',
    'elasticloadbalancing:DescribeListeners',
    'elasticloadbalancing:DescribeRules',
    'elasticloadbalancing:ModifyListener',
    'elasticloadbalancing:DescribeTargetHealth',
    'states:SendTaskSuccess',
    'states:SendTaskFailure',
    'states:DescribeExecution',
  ],
  // the custom resource of the user's deploys: ecs.describeService (both slots), describeTaskDefinition (the
  // family's revision on a first deploy), the forward through the target groups' load balancer, store.getLock
  'live-state': ['ecs:DescribeServices', 'ecs:DescribeTaskDefinition', 'elasticloadbalancing:DescribeTargetGroups', 'elasticloadbalancing:DescribeListeners', 'dynamodb:GetItem'],
  // a task-definition change released: traffic.readForward, ecs.describeService / describeTaskDefinition (the
  // live image), registry.describeImage (its push time), executions.start
  // store.recordTaskToken, listHistory/putHistory (hook outcomes), succeedTask/failTask; with hooks configured, lambda:InvokeFunction on them
  hook: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:Query', 'states:SendTaskSuccess', 'states:SendTaskFailure'],
  release: ['ecs:DescribeServices', 'ecs:DescribeTaskDefinition', 'elasticloadbalancing:DescribeListeners', 'elasticloadbalancing:DescribeRules', 'ecr:DescribeImages', 'states:StartExecution'],
};

/** What every function needs to run: its own log stream, X-Ray; and for the EventBridge targets (start, alarm, reconcile), their dead letters. */
const PLATFORM = new Set(['logs:CreateLogStream', 'logs:PutLogEvents', 'xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl']);

/**
 * Actions AWS offers no resource type for, so `Resource: "*"` is the only way to grant them.
 * @see https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html
 * @see https://docs.aws.amazon.com/service-authorization/latest/reference/list_elasticloadbalancingv2.html
 * @see https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsx-ray.html
 */
const ONLY_STAR = new Set([
  'xray:PutTraceSegments',
  'xray:PutTelemetryRecords',
  'ecs:DescribeTaskDefinition',
  'ecs:RegisterTaskDefinition',
  'ecs:ListTaskDefinitions',
  'ecs:DeregisterTaskDefinition',
  'elasticloadbalancing:DescribeListeners',
  'elasticloadbalancing:DescribeRules',
  // Composite alarms cannot be read with an alarm-scoped DescribeAlarms.
  'cloudwatch:DescribeAlarms',
  'elasticloadbalancing:DescribeTargetGroups',
  'elasticloadbalancing:DescribeTargetHealth',
]);

const resources = (s: Statement): Json[] => [s.Resource].flat();

describe('each function of the example app', () => {
  let example: ExampleApp;
  let statements: (name: CutoverFunctionName) => Statement[];

  beforeAll(() => {
    example = synthExampleApp();
    const f = example.stack.cutover.functions as Record<CutoverFunctionName, { role?: unknown } | undefined>;
    statements = (name) => policyStatementsOf(example.template, example.logicalId(f[name]!.role as never));
  });

  it('exists, chat included (the example app has the slack prop)', () => {
    for (const name of CUTOVER_FUNCTIONS) expect(example.stack.cutover.functions[name], name).toBeDefined();
  });

  it.each(CUTOVER_FUNCTIONS)('%s may call exactly the actions its code calls', (name) => {
    // Act
    const granted = new Set(
      statements(name)
        .flatMap(actionsOf)
        .filter((a) => !PLATFORM.has(a)),
    );

    // Assert
    expect([...granted].sort()).toEqual([...CALLS[name]].sort());
  });

  it.each(CUTOVER_FUNCTIONS)('%s has Resource "*" only for actions AWS cannot scope', (name) => {
    // Act
    const star = statements(name).filter((s) => resources(s).includes('*'));

    // Assert
    expect(star.flatMap(actionsOf).filter((a) => !ONLY_STAR.has(a))).toEqual([]);
    // A wildcard inside an ARN only where the name is not known in advance, and within this stack's own
    // resources: the new revision's number, the execution's name.
    const partial = statements(name)
      .flatMap((s) =>
        resources(s)
          .filter((r) => r !== '*')
          .map((r) => [actionsOf(s).join(','), render(r)] as const),
      )
      .filter(([, r]) => r.includes('*'));
    const allowed: Partial<Record<CutoverFunctionName, string[][]>> = {
      register: [['ecs:TagResource', 'arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task-definition/checkout:*']],
      prepare: [['states:DescribeExecution', `arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${example.stack.cutover.stateMachineName}:*`]],
      // A rollback whose rollout's execution has ended recovers the service: is the lock's holder dead?
      chat: [['states:DescribeExecution', `arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${example.stack.cutover.stateMachineName}:*`]],
    };
    expect(partial).toEqual(allowed[name] ?? []);
  });

  it.each(CUTOVER_FUNCTIONS)('%s writes logs to its own log group only, and only start, alarm and reconcile may use the dead-letter queue', (name) => {
    // Arrange
    const fn = example.stack.cutover.functions[name]!;
    const logGroup = example.template.toJSON().Resources[example.logicalId(fn)].Properties.LoggingConfig.LogGroup.Ref as string;

    // Act
    const logs = statements(name).filter((s) => actionsOf(s).some((a) => a.startsWith('logs:')));
    const sqs = statements(name).filter((s) => actionsOf(s).some((a) => a.startsWith('sqs:')));

    // Assert
    expect(logs.map((s) => s.Resource)).toEqual([{ 'Fn::GetAtt': [logGroup, 'Arn'] }]);
    expect(sqs.map((s) => s.Resource)).toEqual(
      name === 'start' || name === 'alarm' || name === 'reconcile' ? [{ 'Fn::GetAtt': [example.logicalId(example.stack.cutover.deadLetterQueue), 'Arn'] }] : [],
    );
  });

  it('passes roles only to ECS tasks, everywhere in the stack', () => {
    // Act
    const policies = Object.values(example.template.findResources('AWS::IAM::Policy'));
    const passRole = policies.flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]).filter((s) => actionsOf(s).includes('iam:PassRole'));

    // Assert
    expect(passRole.length).toBeGreaterThan(0);
    for (const s of passRole) {
      expect(s.Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } });
      expect(resources(s)).not.toContain('*');
    }
  });
});

describe('a Cutover with notifications and a listener rule', () => {
  const RULE = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/checkout/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee';
  let template: Template;
  let stack: Stack;
  let cutover: Cutover;
  let secret: secretsmanager.Secret;

  beforeAll(() => {
    const app = new App();
    stack = new Stack(app, 'Variant', { env: { account: '123456789012', region: 'us-east-1' } });
    const env = new ExampleEnvironment(stack, 'Environment');
    secret = new secretsmanager.Secret(stack, 'Notify');
    cutover = new Cutover(stack, 'Cutover', {
      services: [
        {
          name: EXAMPLE_NAMES.service,
          cluster: env.cluster,
          blue: env.blue,
          green: env.green,
          listener: env.listener,
          listenerRuleArn: RULE,
          containerName: EXAMPLE_NAMES.container,
          repository: env.repository,
          alarms: [env.errorAlarm],
        },
      ],
      notifications: { secret },
    });
    template = Template.fromStack(stack);
  });

  const statementsOf = (name: CutoverFunctionName) => {
    const role = cutover.functions[name]?.role;
    return role ? policyStatementsOf(template, stack.getLogicalId(role.node.defaultChild as never)) : [];
  };

  it.each(CUTOVER_FUNCTIONS)('%s reads the notification secret only if it notifies, and nothing else of Secrets Manager', (name) => {
    // Act
    const secrets = statementsOf(name).filter((s) => actionsOf(s).some((a) => a.startsWith('secretsmanager:')));

    // Assert
    const notifies = (NOTIFYING_FUNCTIONS as readonly string[]).includes(name);
    expect(secrets).toEqual(notifies ? [{ Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: { Ref: stack.getLogicalId(secret.node.defaultChild as never) } }] : []);
  });

  it('modifies the listener rule, not the listener, from shift and rollback', () => {
    for (const name of ['shift', 'rollback'] as const) {
      const modifies = statementsOf(name).filter((s) => actionsOf(s).some((a) => a.startsWith('elasticloadbalancing:Modify')));
      expect(modifies, name).toEqual([{ Effect: 'Allow', Action: 'elasticloadbalancing:ModifyRule', Resource: RULE }]);
    }
  });
});
