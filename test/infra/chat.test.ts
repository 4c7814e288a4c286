import { type App, Stack, type CfnResource } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Match } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { beforeAll, describe, expect, it } from 'vitest';
import { Cutover, NOTIFYING_FUNCTIONS } from '../../infra/cutover';
import { ExampleEnvironment } from '../../infra/example-environment';
import { synthExampleApp, testApp, type ExampleApp } from './example-app';

describe('the Slack chat endpoint', () => {
  let example: ExampleApp;
  beforeAll(() => {
    example = synthExampleApp();
  });

  it('is a public Function URL on the chat function, whose URL is a stack output', () => {
    const chat = example.logicalId(example.stack.cutover.functions.chat!);

    example.template.hasResourceProperties('AWS::Lambda::Url', { AuthType: 'NONE', TargetFunctionArn: { 'Fn::GetAtt': [chat, 'Arn'] } });
    expect(Object.values(example.template.findOutputs('*')).some((o) => JSON.stringify(o.Value).includes('FunctionUrl'))).toBe(true);
  });

  it("gives the function the signing secret's ARN, never its value, and read access to that secret only", () => {
    const chat = example.stack.cutover.functions.chat!;
    const secret = example.logicalId(example.stack.target.slackSigningSecret);
    const vars = example.template.toJSON().Resources[example.logicalId(chat)].Properties.Environment.Variables;

    expect(vars.SLACK_SIGNING_SECRET_ARN).toEqual({ Ref: secret });
    expect(JSON.stringify(vars)).not.toContain('SecretString');
    example.template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: example.logicalId(chat.role!) }],
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: 'secretsmanager:GetSecretValue', Resource: { Ref: secret } })]) },
    });
  });

  it('may invoke itself (its deferred commands), on its own ARN only, in a policy the function does not depend on', () => {
    const chat = example.stack.cutover.functions.chat!;
    const chatId = example.logicalId(chat);
    const resources = example.template.toJSON().Resources as Record<string, { Type: string; DependsOn?: string[]; Properties: Record<string, unknown> }>;

    const invokers = Object.entries(resources)
      .filter(([, r]) => r.Type === 'AWS::IAM::Policy')
      .flatMap(([id, r]) =>
        (r.Properties.PolicyDocument as { Statement: Array<{ Action: string | string[]; Resource: unknown }> }).Statement.filter((st) => [st.Action].flat().includes('lambda:InvokeFunction')).map(
          (st) => ({ id, roles: r.Properties.Roles, resource: st.Resource }),
        ),
      );

    // The state machine's role invokes the functions; of the functions' roles, only chat's may invoke anything, and only itself.
    const functionRoles = Object.values(example.stack.cutover.functions).map((fn) => ({ Ref: example.logicalId(fn!.role!) }));
    const byFunctions = invokers.filter((i) => (i.roles as unknown[]).some((r) => functionRoles.some((f) => JSON.stringify(f) === JSON.stringify(r))));
    expect(byFunctions.map(({ roles, resource }) => ({ roles, resource }))).toEqual([{ roles: [{ Ref: example.logicalId(chat.role!) }], resource: { 'Fn::GetAtt': [chatId, 'Arn'] } }]);
    expect(resources[chatId]!.DependsOn ?? []).not.toContain(byFunctions[0]!.id);
  });

  it("is invoked asynchronously without Lambda's retries, and not after the response_url has expired", () => {
    const chat = example.logicalId(example.stack.cutover.functions.chat!);

    example.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { FunctionName: { Ref: chat }, Qualifier: '$LATEST', MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 1800 });
  });

  it('is not built without the slack prop', () => {
    const app: App = testApp();
    const stack = new Stack(app, 'NoChat');
    const env = new ExampleEnvironment(stack, 'Env');

    const cutover = new Cutover(stack, 'Cutover', {
      services: [{ name: 'checkout', cluster: env.cluster, blue: env.blue, green: env.green, listener: env.listener, containerName: 'app', repository: env.repository, alarms: [env.errorAlarm] }],
    });

    expect(cutover.functions.chat).toBeUndefined();
    expect(cutover.chatUrl).toBeUndefined();
  });

  it('refuses Slack IDs of the wrong form at synth, naming the prop', () => {
    const app: App = testApp();
    const stack = new Stack(app, 'BadChat');
    const env = new ExampleEnvironment(stack, 'Env');
    const signingSecret = new secretsmanager.Secret(stack, 'S');

    expect(
      () =>
        new Cutover(stack, 'Cutover', {
          slack: { signingSecret },
          services: [
            {
              name: 'checkout',
              cluster: env.cluster,
              blue: env.blue,
              green: env.green,
              listener: env.listener,
              containerName: 'app',
              repository: env.repository,
              alarms: [env.errorAlarm],
              chat: { users: ['alice'] },
            },
          ],
        }),
    ).toThrow(/services\[0\]\.chat\.users: must be a list of Slack IDs/);
  });
});

describe('secrets imported by name', () => {
  it('grant reading the secret whatever random suffix Secrets Manager gave its ARN, and pass the functions its name-based ARN', () => {
    const app: App = testApp();
    const stack = new Stack(app, 'Imported', { env: { account: '123456789012', region: 'eu-west-1' } });
    const env = new ExampleEnvironment(stack, 'Env');
    const signingSecret = secretsmanager.Secret.fromSecretNameV2(stack, 'Signing', 'cutover/slack-signing');
    const notify = secretsmanager.Secret.fromSecretNameV2(stack, 'Notify', 'cutover/slack-bot');

    const cutover = new Cutover(stack, 'Cutover', {
      slack: { signingSecret },
      notifications: { secret: notify },
      services: [{ name: 'checkout', cluster: env.cluster, blue: env.blue, green: env.green, listener: env.listener, containerName: 'app', repository: env.repository, alarms: [env.errorAlarm] }],
    });
    const template = Template.fromStack(stack);
    const reads = (fn: CfnResource | undefined) =>
      Object.values(template.findResources('AWS::IAM::Policy'))
        .filter((p) => JSON.stringify(p.Properties.Roles).includes(stack.resolve((fn as unknown as { logicalId: string }).logicalId)))
        .flatMap((p) => p.Properties.PolicyDocument.Statement as Array<{ Action: unknown; Resource: unknown }>)
        .filter((st) => st.Action === 'secretsmanager:GetSecretValue')
        .map((st) => JSON.stringify(stack.resolve(st.Resource)));

    expect(reads(cutover.functions.chat!.role!.node.defaultChild as CfnResource)).toEqual([expect.stringContaining(':secret:cutover/slack-signing-??????')]);
    expect(reads(cutover.functions.rollback!.role!.node.defaultChild as CfnResource)).toEqual([expect.stringContaining(':secret:cutover/slack-bot-??????')]);
  });
});

describe('composite alarms', () => {
  it('are watched like metric alarms: the abort rule matches their state changes by name', () => {
    const app: App = testApp();
    const stack = new Stack(app, 'Composite');
    const env = new ExampleEnvironment(stack, 'Env');
    const health = new cloudwatch.CompositeAlarm(stack, 'Health', {
      compositeAlarmName: 'checkout-health',
      alarmRule: cloudwatch.AlarmRule.anyOf(cloudwatch.AlarmRule.fromAlarm(env.errorAlarm, cloudwatch.AlarmState.ALARM)),
    });

    new Cutover(stack, 'Cutover', {
      services: [{ name: 'checkout', cluster: env.cluster, blue: env.blue, green: env.green, listener: env.listener, containerName: 'app', repository: env.repository, alarms: [health] }],
    });

    Template.fromStack(stack).hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({ 'detail-type': ['CloudWatch Alarm State Change'], detail: Match.objectLike({ alarmName: [stack.resolve(health.alarmName)] }) }),
    });
  });
});

describe('the image scan gate', () => {
  it("wakes a waiting push on ECR's and Inspector's scan events, and lets the wait read the scan and its enhanced findings", () => {
    const app: App = testApp();
    const stack = new Stack(app, 'Scanned');
    const env = new ExampleEnvironment(stack, 'Env');

    const cutover = new Cutover(stack, 'Cutover', {
      services: [
        {
          name: 'checkout',
          cluster: env.cluster,
          blue: env.blue,
          green: env.green,
          listener: env.listener,
          containerName: 'app',
          repository: env.repository,
          alarms: [env.errorAlarm],
          imageScan: { failOn: 'HIGH' },
        },
      ],
    });
    const template = Template.fromStack(stack);
    const actions = (fn: { role?: { node: { defaultChild?: unknown } } } | undefined) => {
      const role = stack.resolve((fn!.role!.node.defaultChild as CfnResource).logicalId);
      return Object.values(template.findResources('AWS::IAM::Policy'))
        .filter((p) => JSON.stringify(p.Properties.Roles).includes(role))
        .flatMap((p) => p.Properties.PolicyDocument.Statement as Array<{ Action: string | string[]; Resource: unknown }>)
        .map((st) => ({ actions: [st.Action].flat(), resource: JSON.stringify(st.Resource) }));
    };
    const start = stack.resolve((cutover.functions.start.node.defaultChild as CfnResource).logicalId);

    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({ source: ['aws.ecr'], 'detail-type': ['ECR Image Scan'] }),
      Targets: Match.arrayWith([Match.objectLike({ Arn: { 'Fn::GetAtt': [start, 'Arn'] } })]),
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({ source: ['aws.inspector2'], 'detail-type': ['Inspector2 Scan'] }),
      Targets: Match.arrayWith([Match.objectLike({ Arn: { 'Fn::GetAtt': [start, 'Arn'] } })]),
    });
    expect(actions(cutover.functions.bake).some((st) => st.actions.includes('ecr:DescribeImageScanFindings') && st.resource.includes('Repository'))).toBe(true);
    expect(actions(cutover.functions.start).some((st) => st.actions.includes('states:SendTaskSuccess'))).toBe(true);
    for (const fn of [cutover.functions.prepare, cutover.functions.bake]) expect(actions(fn).some((st) => st.actions.includes('inspector2:ListFindings') && st.resource === '"*"')).toBe(true);
  });

  it('is not wired without a gate', () => {
    const example = synthExampleApp();

    expect(example.stack.cutover.scanRules).toEqual([]);
  });
});

describe('reserved concurrency', () => {
  const concurrencyOf = (template: Template, fn: { node: { defaultChild?: unknown } } | undefined, stack: Stack) =>
    template.toJSON().Resources[stack.resolve((fn!.node.defaultChild as CfnResource).logicalId)].Properties.ReservedConcurrentExecutions;

  it('reserves concurrency for the reaction path and caps the chat endpoint, by default', () => {
    const example = synthExampleApp();
    const { functions } = example.stack.cutover;

    expect(concurrencyOf(example.template, functions.alarm, example.stack)).toBe(5);
    expect(concurrencyOf(example.template, functions.rollback, example.stack)).toBe(5);
    expect(concurrencyOf(example.template, functions.chat, example.stack)).toBe(10);
    expect(concurrencyOf(example.template, functions.shift, example.stack)).toBeUndefined();
  });

  it('reserves nothing when turned off (an account with a low concurrency limit)', () => {
    const app: App = testApp();
    const stack = new Stack(app, 'Unreserved');
    const env = new ExampleEnvironment(stack, 'Env');

    const cutover = new Cutover(stack, 'Cutover', {
      reservedConcurrency: false,
      services: [{ name: 'checkout', cluster: env.cluster, blue: env.blue, green: env.green, listener: env.listener, containerName: 'app', repository: env.repository, alarms: [env.errorAlarm] }],
    });

    expect(concurrencyOf(Template.fromStack(stack), cutover.functions.alarm, stack)).toBeUndefined();
  });
});

describe('the state machine log group', () => {
  it('is named under /aws/vendedlogs/states/, so log delivery needs no resource policy of its own', () => {
    const example = synthExampleApp();

    example.template.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: `/aws/vendedlogs/states/${example.stack.cutover.stateMachineName}` });
  });
});

describe('notifications', () => {
  it('give the notifying functions, and only those, the secret ARN and read access to it', () => {
    const app = testApp();
    const stack = new Stack(app, 'Notify');
    const env = new ExampleEnvironment(stack, 'Env');
    const secret = new secretsmanager.Secret(stack, 'SlackBot');

    const cutover = new Cutover(stack, 'Cutover', {
      notifications: { secret },
      services: [{ name: 'checkout', cluster: env.cluster, blue: env.blue, green: env.green, listener: env.listener, containerName: 'app', repository: env.repository, alarms: [env.errorAlarm] }],
    });
    const template = Template.fromStack(stack);

    const secretRef = { Ref: stack.getLogicalId(secret.node.defaultChild as CfnResource) };
    for (const [name, fn] of Object.entries(cutover.functions)) {
      const vars = template.toJSON().Resources[stack.getLogicalId(fn.node.defaultChild as CfnResource)].Properties.Environment?.Variables ?? {};
      expect(vars.NOTIFY_SECRET_ARN, name).toEqual((NOTIFYING_FUNCTIONS as readonly string[]).includes(name) ? secretRef : undefined);
    }
  });
});

describe('production settings', () => {
  it('reach the functions as configuration, and a bad one fails synth naming the prop', () => {
    const app = testApp();
    const stack = new Stack(app, 'Prod');
    const env = new ExampleEnvironment(stack, 'Env');
    const base = { name: 'checkout', cluster: env.cluster, blue: env.blue, green: env.green, listener: env.listener, containerName: 'app', repository: env.repository, alarms: [env.errorAlarm] };

    const cutover = new Cutover(stack, 'Cutover', { services: [{ ...base, concurrency: 'queue', tagFilter: 'v*', imageScan: { failOn: 'CRITICAL' }, keepRevisions: 3, adoptDrift: true }] });
    const vars = Template.fromStack(stack).toJSON().Resources[stack.getLogicalId(cutover.functions.start.node.defaultChild as CfnResource)].Properties.Environment.Variables;

    expect(JSON.stringify(vars.CUTOVER_SERVICES)).toMatch(
      /\\"concurrency\\":\\"queue\\".*\\"tagFilter\\":\\"v\*\\".*\\"imageScan\\":\{\\"failOn\\":\\"CRITICAL\\",\\"timeoutSeconds\\":1800,\\"onTimeout\\":\\"refuse\\"\}.*\\"keepRevisions\\":3.*\\"adoptDrift\\":true/,
    );
    const other = new Stack(app, 'Bad');
    const env2 = new ExampleEnvironment(other, 'Env');
    expect(
      () =>
        new Cutover(other, 'Cutover', {
          services: [
            { ...base, cluster: env2.cluster, blue: env2.blue, green: env2.green, listener: env2.listener, repository: env2.repository, alarms: [env2.errorAlarm], concurrency: 'whenever' as never },
          ],
        }),
    ).toThrow(/services\[0\]\.concurrency: must be 'supersede', 'queue' or 'reject'/);
  });
});
