/**
 * The Cutover construct in the example app: functions, table, rules and least-privilege IAM, read from
 * the synthesized template.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { CfnResource } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { servicesFromEnv } from '../../functions/core/config';
import { DEFAULT_LEASE_MS, RECONCILE_TIMEOUT_MS } from '../../functions/core/ownership';
import { CanaryPlan } from '../../functions/core/plan';
import { CUTOVER_FUNCTIONS, REACTION_FUNCTIONS, type CutoverFunctionName } from '../../infra/cutover';
import { CutoverExampleStack } from '../../infra/example-environment';
import { actionsOf, policyStatementsOf, render, synthExampleApp, testApp, type ExampleApp, type Json, type Statement } from './example-app';

const FUNCTIONS_DIR = join(import.meta.dirname, '..', '..', 'functions');

/** The newest Node.js runtime this aws-cdk-lib offers (what cdk-nag's L1 compares against). */
const newestNodeRuntime = lambda.Runtime.ALL.filter((r) => r.family === lambda.RuntimeFamily.NODEJS)
  .map((r) => r.name)
  .sort((a, b) => a.localeCompare(b, undefined, { numeric: true }))
  .at(-1);

/**
 * The only actions that may be granted on `Resource: "*"`: AWS offers no resource type for them.
 * @see https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html
 */
const UNSCOPABLE = new Set([
  // Lambda and Step Functions tracing
  'xray:PutTraceSegments',
  'xray:PutTelemetryRecords',
  'xray:GetSamplingRules',
  'xray:GetSamplingTargets',
  // Composite alarms cannot be read with an alarm-scoped DescribeAlarms.
  'cloudwatch:DescribeAlarms',
  // Step Functions logging to CloudWatch Logs (vended logs)
  'logs:CreateLogDelivery',
  'logs:GetLogDelivery',
  'logs:UpdateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:ListLogDeliveries',
  'logs:PutResourcePolicy',
  'logs:DescribeResourcePolicies',
  'logs:DescribeLogGroups',
  // ECS task definitions are read and registered by family, which has no ARN of its own
  'ecs:DescribeTaskDefinition',
  'ecs:RegisterTaskDefinition',
  // retention lists the family and deregisters old revisions; neither takes a resource
  'ecs:ListTaskDefinitions',
  'ecs:DeregisterTaskDefinition',
  // ELBv2 reads
  'elasticloadbalancing:DescribeListeners',
  'elasticloadbalancing:DescribeRules',
  'elasticloadbalancing:DescribeTargetGroups',
  'elasticloadbalancing:DescribeTargetHealth',
  // pulling from ECR needs a registry token (the example's task execution role)
  'ecr:GetAuthorizationToken',
]);

describe('the Cutover construct in the example app', () => {
  let example: ExampleApp;
  let fnId: (name: CutoverFunctionName) => string;
  let roleId: (name: CutoverFunctionName) => string;
  let statements: (name: CutoverFunctionName) => Statement[];
  let ref: (construct: Parameters<ExampleApp['logicalId']>[0]) => { Ref: string };

  beforeAll(() => {
    example = synthExampleApp();
    const { cutover } = example.stack;
    fnId = (name) => example.logicalId(cutover.functions[name]!);
    roleId = (name) => example.logicalId(cutover.functions[name]!.role!);
    statements = (name) => policyStatementsOf(example.template, roleId(name));
    ref = (construct) => ({ Ref: example.logicalId(construct) });
  });

  describe('functions', () => {
    it('has one function per functions/<name>/handler.ts', () => {
      // Arrange
      const handlers = readdirSync(FUNCTIONS_DIR).filter((d) => existsSync(join(FUNCTIONS_DIR, d, 'handler.ts')));

      // Act
      const functions = example.template.findResources('AWS::Lambda::Function');

      // Assert
      expect([...CUTOVER_FUNCTIONS].sort()).toEqual(handlers.sort());
      expect(Object.keys(functions).sort()).toEqual(CUTOVER_FUNCTIONS.map((name) => fnId(name)).sort());
    });

    it.each(CUTOVER_FUNCTIONS)('runs %s on the newest Node.js runtime, arm64, traced, with explicit memory and timeout', (name) => {
      // Act
      const fn = example.template.toJSON().Resources[fnId(name)];

      // Assert
      expect(newestNodeRuntime).toBe('nodejs24.x');
      expect(fn.Properties).toMatchObject({
        Runtime: newestNodeRuntime,
        Handler: 'index.handler',
        Architectures: ['arm64'],
        // The reaction path is sized for its cold start: one full vCPU.
        MemorySize: (REACTION_FUNCTIONS as readonly string[]).includes(name) ? 1769 : 256,
        // Reconcile may first wait out the lease of a dead execution's last write, then recover in 30 s.
        Timeout: name === 'reconcile' ? RECONCILE_TIMEOUT_MS / 1000 : 30,
        TracingConfig: { Mode: 'Active' },
      });
    });

    it('gives every function that fences a timeout within the lease its fence sets, so no fenced write lands after it', () => {
      // Act
      const timeouts = CUTOVER_FUNCTIONS.filter((name) => name !== 'reconcile').map((name) => example.template.toJSON().Resources[fnId(name)].Properties.Timeout as number);

      // Assert
      for (const timeout of timeouts) expect(timeout * 1000).toBeLessThan(DEFAULT_LEASE_MS);
    });

    it.each(CUTOVER_FUNCTIONS)('logs %s to its own log group kept one month', (name) => {
      // Arrange
      const fn = example.template.toJSON().Resources[fnId(name)];
      const logGroupId: string = fn.Properties.LoggingConfig.LogGroup.Ref;

      // Act
      const logGroup = example.template.toJSON().Resources[logGroupId];

      // Assert
      expect(logGroup.Type).toBe('AWS::Logs::LogGroup');
      expect(logGroup.Properties.RetentionInDays).toBe(30);
    });

    it('gives each function its own role, without AWSLambdaBasicExecutionRole', () => {
      // Act
      const roles = CUTOVER_FUNCTIONS.map((name) => example.template.toJSON().Resources[roleId(name)]);

      // Assert
      expect(new Set(CUTOVER_FUNCTIONS.map(roleId)).size).toBe(CUTOVER_FUNCTIONS.length);
      for (const role of roles) expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    });

    it('gives the state machine ARN (by its fixed name, no reference cycle) to the functions that talk to it, and the services only to start, reconcile and chat', () => {
      // Act
      const env = (name: CutoverFunctionName) => example.template.toJSON().Resources[fnId(name)].Properties.Environment?.Variables ?? {};

      // Assert
      const name = example.stack.cutover.stateMachineName;
      const resources = example.template.toJSON().Resources;
      expect(resources[example.logicalId(example.stack.cutover.stateMachine)].Properties.StateMachineName).toBe(name);
      const talking = ['start', 'alarm', 'chat', 'prepare', 'finalize', 'rollback', 'reconcile', 'retire', 'release', 'hook'];
      for (const fn of CUTOVER_FUNCTIONS) {
        const arn = env(fn).STATE_MACHINE_ARN;
        if (talking.includes(fn)) expect(render(arn), fn).toBe(`arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:stateMachine:${name}`);
        else expect(arn, fn).toBeUndefined();
      }
      for (const name of CUTOVER_FUNCTIONS) {
        expect(env(name).CUTOVER_SERVICES !== undefined, name).toBe(['start', 'reconcile', 'chat', 'release'].includes(name));
        expect(env(name).NODE_OPTIONS, name).toBeUndefined();
      }
      expect(env('alarm').TABLE_NAME).toEqual(ref(example.stack.cutover.table));
    });

    it('puts in CUTOVER_SERVICES a service list the start function parses and accepts', () => {
      // Arrange
      const { target } = example.stack;
      const raw = render(example.template.toJSON().Resources[fnId('start')].Properties.Environment.Variables.CUTOVER_SERVICES);
      // References become ARN-shaped stand-ins, as the deployed values would be.
      const deployed = raw.replace(/<([A-Za-z0-9.]+)>/g, 'arn:aws:test:eu-west-1:123456789012:$1');

      // Act
      const [service, ...others] = servicesFromEnv(deployed);

      // Assert
      expect(others).toEqual([]);
      expect(service).toEqual({
        name: 'checkout',
        cluster: `arn:aws:test:eu-west-1:123456789012:${example.logicalId(target.cluster)}`,
        slots: {
          blue: {
            serviceName: `arn:aws:test:eu-west-1:123456789012:${example.logicalId(target.blue.service)}.Name`,
            targetGroupArn: `arn:aws:test:eu-west-1:123456789012:${example.logicalId(target.blue.targetGroup)}`,
          },
          green: {
            serviceName: `arn:aws:test:eu-west-1:123456789012:${example.logicalId(target.green.service)}.Name`,
            targetGroupArn: `arn:aws:test:eu-west-1:123456789012:${example.logicalId(target.green.targetGroup)}`,
          },
        },
        listenerArn: `arn:aws:test:eu-west-1:123456789012:${example.logicalId(target.listener)}`,
        containerName: 'app',
        repository: `arn:aws:test:eu-west-1:123456789012:${example.logicalId(target.repository)}`,
        plan: CanaryPlan.TEN_TWENTYFIVE_FIFTY_5M,
        alarms: [target.errorAlarm, target.latencyAlarm].map((a) => `arn:aws:test:eu-west-1:123456789012:${example.logicalId(a)}`),
        timings: { rollbackWindowSeconds: 900, steadyPollSeconds: 15, steadyMaxChecks: 40 },
      });
    });
  });

  describe('table', () => {
    it('keys locks and history by pk/sk, with the sparse active index, on demand, PITR and encryption on, TTL on expiresAt, retained', () => {
      // Assert
      example.template.hasResource('AWS::DynamoDB::Table', {
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
        Properties: Match.objectEquals({
          KeySchema: [
            { AttributeName: 'pk', KeyType: 'HASH' },
            { AttributeName: 'sk', KeyType: 'RANGE' },
          ],
          AttributeDefinitions: Match.arrayWith([
            { AttributeName: 'pk', AttributeType: 'S' },
            { AttributeName: 'sk', AttributeType: 'S' },
            { AttributeName: 'activeKey', AttributeType: 'S' },
          ]),
          GlobalSecondaryIndexes: [
            {
              IndexName: 'active',
              KeySchema: [
                { AttributeName: 'activeKey', KeyType: 'HASH' },
                { AttributeName: 'sk', KeyType: 'RANGE' },
              ],
              Projection: { ProjectionType: 'ALL' },
            },
          ],
          BillingMode: 'PAY_PER_REQUEST',
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          SSESpecification: { SSEEnabled: true },
          // The chat function's request claims (functions/aws/request-ledger.ts); no other item has the attribute.
          TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
        }),
      });
    });
  });

  describe('rules', () => {
    it('starts a rollout on a successful push to the configured repository', () => {
      // Arrange
      const { cutover, target } = example.stack;

      // Assert
      example.template.hasResourceProperties('AWS::Events::Rule', {
        EventPattern: Match.objectEquals({
          source: ['aws.ecr'],
          'detail-type': ['ECR Image Action'],
          detail: { 'action-type': ['PUSH'], result: ['SUCCESS'], 'repository-name': [ref(target.repository)] },
        }),
        Targets: [
          {
            Id: Match.anyValue(),
            Arn: { 'Fn::GetAtt': [fnId('start'), 'Arn'] },
            DeadLetterConfig: { Arn: { 'Fn::GetAtt': [example.logicalId(cutover.deadLetterQueue), 'Arn'] } },
            RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 3600 },
          },
        ],
      });
    });

    it('aborts on a configured alarm going to ALARM', () => {
      // Arrange
      const { cutover, target } = example.stack;

      // Assert
      example.template.hasResourceProperties('AWS::Events::Rule', {
        EventPattern: Match.objectEquals({
          source: ['aws.cloudwatch'],
          'detail-type': ['CloudWatch Alarm State Change'],
          detail: { alarmName: [ref(target.errorAlarm), ref(target.latencyAlarm)], state: { value: ['ALARM'] } },
        }),
        Targets: [
          {
            Id: Match.anyValue(),
            Arn: { 'Fn::GetAtt': [fnId('alarm'), 'Arn'] },
            DeadLetterConfig: { Arn: { 'Fn::GetAtt': [example.logicalId(cutover.deadLetterQueue), 'Arn'] } },
            RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 3600 },
          },
        ],
      });
    });

    it('sends every execution of this state machine that ended (succeeded, stopped, timed out or failed) to the reconcile function', () => {
      // Arrange
      const { cutover } = example.stack;
      const rule = example.template.toJSON().Resources[example.logicalId(cutover.recoveryRule)];

      // Assert
      const { stateMachineArn, ...detail } = rule.Properties.EventPattern.detail;
      expect(rule.Properties.EventPattern).toMatchObject({ source: ['aws.states'], 'detail-type': ['Step Functions Execution Status Change'] });
      expect(detail).toEqual({ status: ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'] });
      expect(stateMachineArn.map(render)).toEqual([`arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:stateMachine:${cutover.stateMachineName}`]);
      expect(rule.Properties.Targets).toEqual([
        {
          Id: expect.any(String),
          Arn: { 'Fn::GetAtt': [fnId('reconcile'), 'Arn'] },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [example.logicalId(cutover.deadLetterQueue), 'Arn'] } },
          RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 3600 },
        },
      ]);
    });

    it('has no other rule', () => {
      // Assert
      example.template.resourceCountIs('AWS::Events::Rule', 4);
    });

    it('sends ECS deployment failures and task start or placement failures to the alarm (abort) function', () => {
      example.template.hasResourceProperties('AWS::Events::Rule', {
        EventPattern: {
          source: ['aws.ecs'],
          'detail-type': ['ECS Deployment State Change', 'ECS Service Action'],
          detail: { eventName: ['SERVICE_DEPLOYMENT_FAILED', 'SERVICE_TASK_START_IMPAIRED', 'SERVICE_TASK_PLACEMENT_FAILURE', 'SERVICE_TASK_CONFIGURATION_FAILURE'] },
        },
        Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [fnId('alarm'), 'Arn'] } })],
      });
    });

    it('sends what it cannot deliver to an encrypted queue that refuses plain HTTP', () => {
      // Arrange
      const queueId = example.logicalId(example.stack.cutover.deadLetterQueue);

      // Assert
      example.template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
      example.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: queueId }],
        PolicyDocument: {
          Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
        },
      });
    });

    it('sends start, alarm and reconcile invocations that fail after their retries to the same queue', () => {
      // Arrange
      const queueArn = { 'Fn::GetAtt': [example.logicalId(example.stack.cutover.deadLetterQueue), 'Arn'] };

      // Assert
      for (const name of ['start', 'alarm', 'reconcile'] as const) {
        example.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
          FunctionName: { Ref: fnId(name) },
          DestinationConfig: { OnFailure: { Destination: queueArn } },
        });
      }
    });
  });

  describe('IAM', () => {
    it('passes only the task definitions roles, and only to ECS tasks, from register alone', () => {
      // Arrange
      const td = example.stack.target.taskDefinition;
      const passRole = (name: CutoverFunctionName) => statements(name).filter((s) => actionsOf(s).includes('iam:PassRole'));

      // Act
      const register = passRole('register');

      // Assert
      expect(register).toEqual([
        {
          Effect: 'Allow',
          Action: 'iam:PassRole',
          Resource: [{ 'Fn::GetAtt': [example.logicalId(td.taskRole), 'Arn'] }, { 'Fn::GetAtt': [example.logicalId(td.executionRole!), 'Arn'] }],
          Condition: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
        },
      ]);
      for (const name of CUTOVER_FUNCTIONS.filter((n) => n !== 'register')) expect(passRole(name), name).toEqual([]);
    });

    it('tags task definitions only while registering a revision of the services family', () => {
      // Act
      const tag = statements('register').filter((s) => actionsOf(s).includes('ecs:TagResource'));

      // Assert
      expect(tag).toHaveLength(1);
      expect(render(tag[0]!.Resource)).toBe('arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task-definition/checkout:*');
      expect(tag[0]!.Condition).toEqual({ StringEquals: { 'ecs:CreateAction': 'RegisterTaskDefinition' } });
    });

    it('updates only the two slot services, from deploy, retire, rollback, the recovery of a dead owner (prepare, reconcile) and chat (rollback after completion) alone', () => {
      // Arrange
      const { blue, green } = example.stack.target;
      const updates = (name: CutoverFunctionName) => statements(name).filter((s) => actionsOf(s).includes('ecs:UpdateService'));

      // Assert
      for (const name of CUTOVER_FUNCTIONS) {
        const expected = ['deploy', 'retire', 'rollback', 'prepare', 'reconcile', 'chat'].includes(name)
          ? [{ Effect: 'Allow', Action: 'ecs:UpdateService', Resource: [ref(blue.service), ref(green.service)] }]
          : [];
        expect(updates(name), name).toEqual(expected);
      }
    });

    it('modifies only the listener, from shift, rollback, the abort (alarm, in one hop), the recovery of a dead owner (prepare, reconcile), chat and retire (restores after completion) alone', () => {
      // Arrange
      const { listener } = example.stack.target;
      const modifies = (name: CutoverFunctionName) => statements(name).filter((s) => actionsOf(s).some((a) => a.startsWith('elasticloadbalancing:Modify')));

      // Assert
      for (const name of CUTOVER_FUNCTIONS) {
        const expected = ['shift', 'rollback', 'alarm', 'prepare', 'reconcile', 'chat', 'retire'].includes(name)
          ? [{ Effect: 'Allow', Action: 'elasticloadbalancing:ModifyListener', Resource: ref(listener) }]
          : [];
        expect(modifies(name), name).toEqual(expected);
      }
    });

    it('reads only the two slot services, and alarm states', () => {
      // Arrange
      const { blue, green } = example.stack.target;

      // Assert
      const readers = CUTOVER_FUNCTIONS.filter((name) => statements(name).some((s) => actionsOf(s).includes('ecs:DescribeServices')));
      expect(readers).toEqual(['prepare', 'check-steady', 'check-alarms', 'finalize', 'retire', 'reconcile', 'chat', 'live-state', 'release']);
      // live-state names the slots by name: they read its answer, so a reference would be a cycle.
      const byName = (n: string) => `arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:service/<${example.logicalId(example.stack.target.cluster)}>/${n}`;
      expect(
        statements('live-state')
          .filter((s) => actionsOf(s).includes('ecs:DescribeServices'))
          .flatMap((s) => [s.Resource].flat().map((r) => render(r as never))),
      ).toEqual([byName('checkout-blue'), byName('checkout-green')]);
      for (const name of readers.filter((n) => n !== 'live-state')) {
        expect(
          statements(name)
            .filter((s) => actionsOf(s).includes('ecs:DescribeServices'))
            .map((s) => s.Resource),
          name,
        ).toEqual([[ref(blue.service), ref(green.service)]]);
      }
      // DescribeAlarms has no working resource scope for composite alarms: it is granted on "*" (read-only).
      for (const name of ['prepare', 'check-alarms'] as const) {
        expect(
          statements(name)
            .filter((s) => actionsOf(s).includes('cloudwatch:DescribeAlarms'))
            .map((s) => s.Resource),
          name,
        ).toEqual(['*']);
      }
    });

    it('grants DynamoDB on the table only, and the alarm and reconcile paths Query on the active index by name', () => {
      // Arrange
      const tableArn = { 'Fn::GetAtt': [example.logicalId(example.stack.cutover.table), 'Arn'] };
      const dynamo = CUTOVER_FUNCTIONS.flatMap((name) =>
        statements(name)
          .filter((s) => actionsOf(s).some((a) => a.startsWith('dynamodb:')))
          .map((s) => ({ name, s })),
      );

      // Assert
      for (const { name, s } of dynamo) {
        expect(
          actionsOf(s).every((a) => ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:PutItem', 'dynamodb:Query'].includes(a)),
          name,
        ).toBe(true);
        if (actionsOf(s).includes('dynamodb:Query') && (name === 'alarm' || name === 'reconcile') && actionsOf(s).length === 1) {
          expect(s.Resource).toEqual({ 'Fn::Join': ['', [tableArn, '/index/active']] });
        } else {
          expect(s.Resource, name).toEqual(tableArn);
        }
      }
      // Start claims each execution's first start (a duplicate delivery is counted once) and ends scan waits.
      expect(dynamo.filter((d) => d.name === 'start').map(({ s }) => actionsOf(s))).toEqual([['dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:DeleteItem']]);
      const onIndex = dynamo.filter(({ s }) => render(s.Resource as never).endsWith('/index/active')).map(({ name, s }) => [name, actionsOf(s)]);
      expect(onIndex).toEqual([
        ['alarm', ['dynamodb:Query']],
        ['reconcile', ['dynamodb:Query']],
      ]);
    });

    it('lets start start executions, the others answer task tokens and prepare and chat tell a dead holder, of this state machine only', () => {
      // Arrange
      const machine = { Ref: example.logicalId(example.stack.cutover.stateMachine) };
      const states = (name: CutoverFunctionName) => statements(name).filter((s) => actionsOf(s).some((a) => a.startsWith('states:')));

      // Assert
      expect(states('start')).toEqual([{ Effect: 'Allow', Action: 'states:StartExecution', Resource: machine }]);
      expect(states('alarm')).toEqual([{ Effect: 'Allow', Action: 'states:SendTaskFailure', Resource: machine }]);
      const executions = `arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${example.stack.cutover.stateMachineName}:*`;
      const byName = `arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:stateMachine:${example.stack.cutover.stateMachineName}`;
      const rendered = (name: CutoverFunctionName) => states(name).map((s) => [actionsOf(s), render(s.Resource as never)]);
      const answer = [['states:SendTaskSuccess', 'states:SendTaskFailure'], byName];
      const describe = [['states:DescribeExecution'], executions];
      expect(states('chat')).toContainEqual({ Effect: 'Allow', Action: ['states:SendTaskSuccess', 'states:SendTaskFailure'], Resource: machine });
      expect(rendered('chat')).toEqual([[['states:SendTaskSuccess', 'states:SendTaskFailure'], render(machine)], describe]);
      expect(rendered('prepare')).toEqual([answer, describe]);
      for (const name of ['finalize', 'rollback', 'reconcile', 'retire', 'hook'] as const) expect(rendered(name), name).toEqual([answer]);
      // A task-definition change in the user's deploy starts a rollout like a push.
      expect(states('release')).toEqual([{ Effect: 'Allow', Action: 'states:StartExecution', Resource: machine }]);
      for (const name of CUTOVER_FUNCTIONS.filter((n) => !['start', 'alarm', 'chat', 'prepare', 'finalize', 'rollback', 'reconcile', 'retire', 'release', 'hook'].includes(n)))
        expect(states(name), name).toEqual([]);
    });

    it('grants Resource "*" only for actions AWS cannot scope, anywhere in the stack', () => {
      // Arrange
      const policies = Object.values(example.template.findResources('AWS::IAM::Policy'));
      const all = policies.flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);

      // Act
      const star = all.filter((s) => [s.Resource as Json].flat().includes('*'));
      const scopable = star.flatMap(actionsOf).filter((a) => !UNSCOPABLE.has(a));

      // Assert
      expect(star.length).toBeGreaterThan(0);
      expect(scopable).toEqual([]);
      expect(all.flatMap(actionsOf).filter((a) => a.includes('*'))).toEqual([]);
    });
  });
});

describe('grant methods', () => {
  let template: Template;
  let stack: CutoverExampleStack;
  let operatorRole: iam.Role;

  beforeAll(() => {
    stack = new CutoverExampleStack(testApp(), 'Grants');
    operatorRole = new iam.Role(stack, 'Operator', { assumedBy: new iam.AccountRootPrincipal() });
    stack.cutover.grantStartRollout(operatorRole);
    stack.cutover.grantReadHistory(operatorRole);
    template = Template.fromStack(stack);
  });

  it('lets a grantee start executions of the state machine and read the table, nothing more', () => {
    // Act
    const granted = policyStatementsOf(template, stack.getLogicalId(operatorRole.node.defaultChild as CfnResource));

    // Assert
    expect(granted).toEqual([
      { Effect: 'Allow', Action: 'states:StartExecution', Resource: { Ref: stack.getLogicalId(stack.cutover.stateMachine.node.defaultChild as CfnResource) } },
      { Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:Query'], Resource: { 'Fn::GetAtt': [stack.getLogicalId(stack.cutover.table.node.defaultChild as CfnResource), 'Arn'] } },
    ]);
  });
});
