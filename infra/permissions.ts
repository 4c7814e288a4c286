/**
 * Least privilege for the construct's functions: each gets the actions its ports call, on the ARNs in the
 * props; the few actions AWS cannot scope are named and acknowledged for cdk-nag one by one.
 */
import { ArnFormat, Fn, Stack, Token } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Validations } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { ACTIVE_INDEX } from '../functions/core/table';
import { analysisAlarmPrefix } from '../functions/core/analysis';
import { listenerOfRule } from '../functions/core/test-cohort';
import { CUTOVER_FUNCTIONS, type CoreFunctionName, type CutoverFunctionName } from './functions';
import type { ServiceRefs } from './service-wiring';

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
  /** Is the retained slot able to take the traffic back (its healthy targets)? */
  describeTargetHealth: 'elasticloadbalancing:DescribeTargetHealth',
  listTaskDefinitions: 'ecs:ListTaskDefinitions',
  deregisterTaskDefinition: 'ecs:DeregisterTaskDefinition',
  /**
   * Scoped to alarm ARNs, DescribeAlarms answers AccessDenied for a composite alarm (AWS documents `*` for
   * it; aws-cdk's own custom resources had to do the same). It only reads alarm states.
   */
  describeAlarms: 'cloudwatch:DescribeAlarms',
  /** The canary's request count at a bake's end (canary analysis). */
  getMetricData: 'cloudwatch:GetMetricData',
  /** Enhanced-scanning findings, read through ECR's DescribeImageScanFindings (Inspector has no resource scope for them). */
  listInspectorFindings: 'inspector2:ListFindings',
  /** The tags of a listener's rules: which one is a rollout's test cohort rule. */
  describeTags: 'elasticloadbalancing:DescribeTags',
} as const;

/** The X-Ray actions Lambda's active tracing adds on `*` (they have no resource type). */
const XRAY_ACTIONS = ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'];

const ELB_DESCRIBE = [UNSCOPABLE_ACTIONS.describeListeners, UNSCOPABLE_ACTIONS.describeRules];

/**
 * The listener a service's test cohort rule goes on: `testTraffic.listenerArn`, else the service's listener,
 * or the listener of its listener rule (derived in CloudFormation when the rule's ARN is a token).
 */
function testListenerArn(s: ServiceRefs): string {
  const configured = s.config.testTraffic?.listenerArn;
  if (configured) return configured;
  if (!s.usesRule) return s.trafficArn;
  if (!Token.isUnresolved(s.trafficArn)) return listenerOfRule(s.trafficArn);
  // arn:…:listener-rule/app/<lb>/<lb-id>/<listener-id>/<rule-id> → arn:…:listener/app/<lb>/<lb-id>/<listener-id>
  const path = Fn.split('/', s.trafficArn);
  const head = Fn.select(0, Fn.split(':listener-rule/', s.trafficArn));
  const ids = Fn.join(
    '/',
    [1, 2, 3, 4].map((i) => Fn.select(i, path)),
  );
  return Fn.join('', [head, ':listener/', ids]);
}

/** The ARNs of a listener's rules: `arn:…:listener/app/…` → `arn:…:listener-rule/app/…/*`. */
function rulesOfListener(listenerArn: string): string {
  if (!Token.isUnresolved(listenerArn)) return `${listenerArn.replace(':listener/', ':listener-rule/')}/*`;
  const [head, tail] = [Fn.select(0, Fn.split(':listener/', listenerArn)), Fn.select(1, Fn.split(':listener/', listenerArn))];
  return Fn.join('', [head, ':listener-rule/', tail, '/*']);
}

/** DynamoDB item actions each function's store calls need (see functions/aws/store.ts). */
export const TABLE_ACCESS: Partial<Record<CutoverFunctionName, readonly string[]>> = {
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
  // GetItem and PutItem: a dry-run canary analysis's verdict, recorded as a step of its rollout.
  alarm: ['dynamodb:UpdateItem', 'dynamodb:GetItem', 'dynamodb:PutItem'],
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
  // A hook's task token on the lock (as a bake's); its outcome appended to the rollout's history record.
  hook: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:Query'],
};

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
export function grantSecretValue(secret: secretsmanager.ISecret, fn: lambda.IFunction): void {
  const resource = secret.secretFullArn ?? `${secret.secretArn}-??????`;
  fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [resource] }));
  secret.encryptionKey?.grantDecrypt(fn);
}

/** Unique by string (two references to the same resource render the same token string). */
export const unique = (values: readonly string[]) => [...new Set(values)];

/** What {@link grantLeastPrivilege} grants access to. */
export interface AccessParts {
  readonly functions: Readonly<Record<CoreFunctionName, lambda.Function>> & { readonly chat?: lambda.Function };
  readonly table: dynamodb.ITable;
  readonly stateMachine: sfn.StateMachine;
  /** The state machine's name and ARN, fixed (functions it invokes know it without a reference). */
  readonly stateMachineName: string;
  readonly stateMachineArn: string;
  readonly services: readonly ServiceRefs[];
  readonly slack?: { readonly signingSecret: secretsmanager.ISecret };
}

/** Least privilege: each function gets the actions its ports call, on the ARNs in the props. */
export function grantLeastPrivilege(scope: Construct, parts: AccessParts, tracing: lambda.Tracing): void {
  const f = parts.functions;
  const stack = Stack.of(scope);
  const slots = parts.services.flatMap((s) => [s.blue, s.green]);
  const serviceArns = unique(slots.map((slot) => slot.serviceArn));
  const listenerArns = unique(parts.services.filter((s) => !s.usesRule).map((s) => s.trafficArn));
  const ruleArns = unique(parts.services.filter((s) => s.usesRule).map((s) => s.trafficArn));
  // Each service's own roles and family: from its task definition, or its `taskDefinition` prop if imported.
  const roleArns = unique(parts.services.flatMap((s) => s.taskDefinition?.roleArns ?? []));
  const families = unique(parts.services.flatMap((s) => s.taskDefinition?.families ?? []));

  const unscoped = new Map<CutoverFunctionName, string[]>();
  const allow = (name: CutoverFunctionName, actions: string[], resources: string[], conditions?: Record<string, Record<string, unknown>>) => {
    if (resources.length === 0 || !f[name]) return;
    if (resources.includes('*')) unscoped.set(name, [...(unscoped.get(name) ?? []), ...actions]);
    f[name]!.addToRolePolicy(new iam.PolicyStatement({ actions, resources, conditions }));
  };

  // Locks and history: the item actions each function's store calls make, on the table only; the alarm
  // path also queries the sparse `active` index (by name, not `index/*`).
  for (const [name, actions] of Object.entries(TABLE_ACCESS) as [CutoverFunctionName, string[]][]) {
    allow(name, actions, [parts.table.tableArn]);
  }
  for (const name of ['alarm', 'reconcile'] as const) allow(name, ['dynamodb:Query'], [`${parts.table.tableArn}/index/${ACTIVE_INDEX}`]);

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
  allow('check-alarms', [UNSCOPABLE_ACTIONS.describeTargetHealth], ['*']);

  // Canary analysis: the comparison alarms of each analysed service's rollouts (named under its prefix) are
  // created by shift and deleted by whoever ends the canary; check-alarms reads them and the canary's request
  // count at a bake's end (GetMetricData has no resource scope).
  const analysed = parts.services.filter((s) => s.config.analysis);
  const comparisonAlarmArns = analysed.map((s) =>
    stack.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: `${analysisAlarmPrefix(s.config.name)}*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME }),
  );
  allow('shift', ['cloudwatch:PutMetricAlarm', 'cloudwatch:TagResource'], comparisonAlarmArns);
  for (const name of ['finalize', 'rollback', 'reconcile', 'prepare', 'chat'] as const) {
    allow(name, ['cloudwatch:DeleteAlarms'], comparisonAlarmArns);
    if (analysed.length) allow(name, [UNSCOPABLE_ACTIONS.describeAlarms], ['*']);
  }
  if (analysed.length) allow('check-alarms', [UNSCOPABLE_ACTIONS.getMetricData], ['*']);

  // Test cohort: check-steady creates the tagged rule on the test listener (tags in the same call need AddTags
  // on the new rule); whoever ends the cohort (shift, finalize, rollback, a recovery) finds it by its tags and
  // deletes it. Scoped to the test listeners and their rules.
  const cohorts = parts.services.filter((s) => s.config.testTraffic);
  const testListeners = unique(cohorts.map((s) => testListenerArn(s)));
  const testRules = testListeners.map(rulesOfListener);
  allow('check-steady', ['elasticloadbalancing:CreateRule'], testListeners);
  allow('check-steady', ['elasticloadbalancing:AddTags'], testRules, { StringEquals: { 'elasticloadbalancing:CreateAction': 'CreateRule' } });
  if (cohorts.length) {
    // The fence before CreateRule, and the rule's record on the lock.
    allow('check-steady', ['dynamodb:UpdateItem'], [parts.table.tableArn]);
    allow('check-steady', [...ELB_DESCRIBE, UNSCOPABLE_ACTIONS.describeTags], ['*']);
    for (const name of ['shift', 'finalize', 'rollback', 'reconcile', 'prepare', 'chat'] as const) {
      allow(name, [...ELB_DESCRIBE, UNSCOPABLE_ACTIONS.describeTags], ['*']);
      allow(name, ['elasticloadbalancing:DeleteRule'], testRules);
    }
    for (const name of ['check-steady', 'shift', 'finalize', 'rollback', 'reconcile', 'prepare', 'chat'] as const) {
      if (!f[name]) continue;
      for (const arn of testRules) {
        Validations.of(f[name]!.role!).acknowledge({
          id: `AwsSolutions-IAM5[Resource::${nagText(stack.resolve(arn))}]`,
          reason: "The test cohort's rules on the service's test listener only: a rule's ARN is known once CreateRule made it.",
        });
      }
    }
  }

  // Register: clone the live revision, register the clone with its tags, pass the same roles on.
  allow('register', [UNSCOPABLE_ACTIONS.describeTaskDefinition, UNSCOPABLE_ACTIONS.registerTaskDefinition], ['*']);
  const familyArns = families.map((family) => stack.formatArn({ service: 'ecs', resource: 'task-definition', resourceName: `${family}:*` }));
  allow('register', ['ecs:TagResource'], familyArns, { StringEquals: { 'ecs:CreateAction': 'RegisterTaskDefinition' } });
  allow('register', ['iam:PassRole'], roleArns, { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } });
  for (const arn of familyArns) {
    Validations.of(f.register.role!).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagText(stack.resolve(arn))}]`,
      reason:
        "ecs:TagResource on the revisions of the services' own task-definition family, only while registering one " +
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

  parts.stateMachine.grantStartExecution(f.start);
  // The alarm path only fails the waiting task (grantTaskResponse would add SendTaskSuccess and Heartbeat).
  allow('alarm', ['states:SendTaskFailure'], [parts.stateMachine.stateMachineArn]);

  // Turns: prepare aborts a superseded rollout (fails its token) and reads whether a lock's execution has
  // ended; whoever releases a lock wakes the next waiting push. By the fixed ARN: no reference cycle.
  const taskResponse = ['states:SendTaskSuccess', 'states:SendTaskFailure'];
  for (const name of ['prepare', 'finalize', 'rollback', 'reconcile', 'retire', 'hook'] as const) allow(name, taskResponse, [parts.stateMachineArn]);
  // Lifecycle hooks: the hook function invokes the users' hook functions (only those configured); each one
  // given as a function may answer its hook's task token on this state machine.
  const hooked = parts.services.flatMap((s) => Object.values(s.props.hooks ?? {}).flatMap((h) => h?.functions ?? []));
  allow('hook', ['lambda:InvokeFunction'], unique(hooked.map((fn) => (typeof fn === 'string' ? fn : fn.functionArn))));
  for (const fn of hooked) {
    if (typeof fn !== 'string') fn.addToRolePolicy(new iam.PolicyStatement({ actions: taskResponse, resources: [parts.stateMachineArn] }));
  }
  const executions = stack.formatArn({ service: 'states', resource: 'execution', resourceName: `${parts.stateMachineName}:*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
  allow('prepare', ['states:DescribeExecution'], [executions]);
  Validations.of(f.prepare.role!).acknowledge({
    id: `AwsSolutions-IAM5[Resource::${nagText(stack.resolve(executions))}]`,
    reason: 'states:DescribeExecution on the executions of this state machine only, to tell a stale lock (its execution ended) from a live one; execution names are not known in advance.',
  });

  // Pre-flight: the pushed digest exists in the configured repositories, and its scan findings; an image
  // index is read (its manifest, never a layer) for an image of the service's platform.
  const repositoryArns = unique(parts.services.map((s) => s.props.repository.repositoryArn));
  allow('prepare', ['ecr:DescribeImages', 'ecr:DescribeImageScanFindings', 'ecr:BatchGetImage'], repositoryArns);
  // Start reads ECR's push time, which orders pushes.
  allow('start', ['ecr:DescribeImages'], repositoryArns);
  // The user's deploys: live state reads the slots, the lock and the weights; a release reads the live
  // image and its push time, and starts a rollout like the start function.
  // By name, not by reference: the slot services read this function's answer, so a reference to them in
  // its policy would be a dependency cycle (infra/iac-ownership.ts hands over only services with a name).
  const namedSlots = parts.services.flatMap((s) =>
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
  parts.stateMachine.grantStartExecution(f.release);
  // The image-scan gate: the wait reads the scan once it is recorded; a completed scan ends it. Findings
  // of enhanced scanning come from Inspector through ECR's API, which needs inspector2:ListFindings.
  const gated = unique(parts.services.filter((s) => s.props.imageScan).map((s) => s.props.repository.repositoryArn));
  if (gated.length) {
    allow('bake', ['ecr:DescribeImageScanFindings'], gated);
    allow('start', ['states:SendTaskSuccess'], [parts.stateMachineArn]);
    for (const name of ['prepare', 'bake'] as const) allow(name, [UNSCOPABLE_ACTIONS.listInspectorFindings], ['*']);
  }

  // Retention after a success: list the family, keep the protected and newest, deregister the rest.
  allow('finalize', ['ecs:DescribeServices'], serviceArns);
  // Describe: only revisions tagged as registered by Cutover for the same service are deregistered.
  allow('finalize', [UNSCOPABLE_ACTIONS.listTaskDefinitions, UNSCOPABLE_ACTIONS.deregisterTaskDefinition, UNSCOPABLE_ACTIONS.describeTaskDefinition], ['*']);

  // Chat: status reads the alarms and the weights; commands resume or fail the waiting task; a rollback
  // after completion moves the weights back and scales the new slot down.
  if (f.chat && parts.slack) {
    grantSecretValue(parts.slack.signingSecret, f.chat);
    // promote and resume succeed the waiting task, rollback fails it; nothing sends heartbeats.
    allow('chat', ['states:SendTaskSuccess', 'states:SendTaskFailure'], [parts.stateMachine.stateMachineArn]);
    allow('chat', [UNSCOPABLE_ACTIONS.describeAlarms], ['*']);
    allow('chat', ['ecs:DescribeServices'], serviceArns);
    allow('chat', ['ecs:UpdateService'], serviceArns);
    allow('chat', [...ELB_DESCRIBE, UNSCOPABLE_ACTIONS.describeTargetHealth], ['*']);
    allow('chat', ['elasticloadbalancing:ModifyListener'], listenerArns);
    allow('chat', ['elasticloadbalancing:ModifyRule'], ruleArns);
    // A rollback whose rollout's execution has ended recovers the service itself.
    allow('chat', ['states:DescribeExecution'], [executions]);
    // Its own asynchronous invocation (a deferred command), on its own ARN only. A policy apart from the
    // role's default policy: the function depends on that one, so its ARN there would be a cycle.
    f.chat.role!.attachInlinePolicy(new iam.Policy(scope, 'ChatSelfInvokePolicy', { statements: [new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [f.chat.functionArn] })] }));
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
