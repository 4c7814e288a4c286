/**
 * The construct's dashboard and the functions' Powertools settings, read from the synthesized template.
 */
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { beforeAll, describe, expect, it } from 'vitest';
import { CUTOVER_FUNCTIONS, Cutover, type CutoverServiceProps } from '../../infra/cutover';
import { ExampleEnvironment } from '../../infra/example-environment';
import { render, synthExampleApp, testApp, type ExampleApp } from './example-app';

interface Widget {
  readonly type: string;
  readonly properties: {
    readonly title?: string;
    readonly markdown?: string;
    readonly metrics?: unknown[][];
    readonly alarms?: string[];
    readonly view?: string;
  };
}

/**
 * A template value as text: references as `<LogicalId>` / `<LogicalId.Attr>`, a part of a split reference
 * as `<LogicalId>[i]` (the load balancer's name is read from the listener ARN that way).
 */
function text(value: unknown): string {
  const v = value as Record<string, unknown> | string;
  if (typeof v === 'string') return v;
  if (v['Fn::Join']) {
    const [delimiter, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map(text).join(delimiter);
  }
  if (v['Fn::Select']) {
    const [index, list] = v['Fn::Select'] as [number, unknown[] | { 'Fn::Split': [string, unknown] }];
    return Array.isArray(list) ? text(list[index]) : `${text(list['Fn::Split'][1])}[${index}]`;
  }
  return render(value);
}

/** The dashboard body as JSON. */
function widgetsOf(template: Template): Widget[] {
  const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  expect(dashboards).toHaveLength(1);
  return (JSON.parse(text(dashboards[0]!.Properties.DashboardBody)) as { widgets: Widget[] }).widgets;
}

/** Every metric row of a widget as `namespace metric dim=value ...` plus its options. */
const metricRows = (widget: Widget) => (widget.properties.metrics ?? []).map((row) => row.filter((cell) => typeof cell === 'string').join(' '));
const byTitle = (widgets: Widget[], title: RegExp) => {
  const found = widgets.filter((w) => title.test(w.properties.title ?? ''));
  expect(found, String(title)).toHaveLength(1);
  return found[0]!;
};

describe('the dashboard of the example app', () => {
  let example: ExampleApp;
  let widgets: Widget[];

  beforeAll(() => {
    example = synthExampleApp();
    widgets = widgetsOf(example.template);
  });

  it("shows rollouts by outcome from the functions' EMF metrics, by service", () => {
    const graph = byTitle(widgets, /^Rollouts by outcome$/);

    expect(metricRows(graph)).toEqual([
      'Cutover RolloutStarted service checkout',
      'Cutover RolloutSucceeded service checkout',
      'Cutover RolloutRolledBack service checkout',
      'Cutover RolloutFailed service checkout',
    ]);
    expect(metricRows(byTitle(widgets, /^Rollouts by outcome \(dashboard time range\)$/))).toHaveLength(4);
  });

  it('shows the rollback reaction time at p50 and p95', () => {
    const graph = byTitle(widgets, /^Rollback reaction time/);

    expect(metricRows(graph)).toEqual(['Cutover RollbackReactionMs service checkout', 'Cutover RollbackReactionMs service checkout']);
    expect((graph.properties.metrics ?? []).map((row) => (row.at(-1) as { stat?: string }).stat)).toEqual(['p50', 'p95']);
  });

  it("shows each slot's share of the requests from the RequestCount of the target groups in the props", () => {
    const { blue, green } = example.stack.target;
    const graph = byTitle(widgets, /^checkout: traffic per slot/);
    const rows = metricRows(graph);
    const tg = (targetGroup: elbv2.ApplicationTargetGroup) => `<${example.logicalId(targetGroup)}.TargetGroupFullName>`;

    const listener = `<${example.logicalId(example.stack.target.listener)}>`;
    const loadBalancer = [1, 2, 3].map((i) => `${listener}[${i}]`).join('/');
    expect(rows.filter((r) => r.startsWith('AWS/ApplicationELB RequestCount'))).toEqual([
      `AWS/ApplicationELB RequestCount LoadBalancer ${loadBalancer} TargetGroup ${tg(blue.targetGroup)}`,
      `AWS/ApplicationELB RequestCount LoadBalancer ${loadBalancer} TargetGroup ${tg(green.targetGroup)}`,
    ]);
    const expressions = (graph.properties.metrics ?? []).map((row) => (row.at(-1) as { expression?: string }).expression).filter(Boolean);
    expect(expressions).toEqual(['100 * FILL(b, 0) / (FILL(b, 0) + FILL(g, 0))', '100 * FILL(g, 0) / (FILL(b, 0) + FILL(g, 0))']);
  });

  it('shows the state of every watched alarm', () => {
    const { errorAlarm, latencyAlarm } = example.stack.target;
    const status = widgets.filter((w) => w.type === 'alarm');

    expect(status).toHaveLength(1);
    expect(status[0]!.properties.alarms).toEqual([`<${example.logicalId(errorAlarm)}.Arn>`, `<${example.logicalId(latencyAlarm)}.Arn>`]);
  });

  it('is reachable from the construct', () => {
    expect(example.stack.cutover.dashboard).toBeInstanceOf(cloudwatch.Dashboard);
  });
});

describe('the dashboard prop', () => {
  const build = (props: { dashboard?: boolean }, services = 1) => {
    // Two example environments share its fixed names (repository, alarms): CloudFormation's validation off.
    const stack = new Stack(testApp({ cfnValidation: services === 1 }), 'Dashboard');
    const env = new ExampleEnvironment(stack, 'Environment');
    // Each service on its own slots and listener (they may not share them), both watching env's alarms.
    const envs = [env, ...(services > 1 ? [new ExampleEnvironment(stack, 'Other')] : [])];
    const service = (name: string, i: number): CutoverServiceProps => ({
      name,
      cluster: envs[i]!.cluster,
      blue: envs[i]!.blue,
      green: envs[i]!.green,
      listener: envs[i]!.listener,
      containerName: 'app',
      repository: envs[i]!.repository,
      alarms: [env.errorAlarm, env.latencyAlarm],
    });
    const cutover = new Cutover(stack, 'Cutover', { services: ['checkout', 'payments'].slice(0, services).map(service), ...props });
    return { cutover, template: Template.fromStack(stack) };
  };

  it('dashboard: false builds none', () => {
    const { cutover, template } = build({ dashboard: false });

    expect(cutover.dashboard).toBeUndefined();
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
  });

  it('lists an alarm two services watch once', () => {
    const { template } = build({}, 2);

    const status = widgetsOf(template).filter((w) => w.type === 'alarm');
    expect(status[0]!.properties.alarms).toHaveLength(2);
  });

  it('reads the load balancer of an imported target group from the listener ARN', () => {
    const stack = new Stack(testApp(), 'Imported');
    const env = new ExampleEnvironment(stack, 'Environment');
    const imported = (name: string) =>
      elbv2.ApplicationTargetGroup.fromTargetGroupAttributes(stack, name, { targetGroupArn: `arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/${name}/0123456789abcdef` });
    const listener = elbv2.ApplicationListener.fromApplicationListenerAttributes(stack, 'Listener', {
      listenerArn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2',
      securityGroup: env.listener.connections.securityGroups[0]!,
    });

    new Cutover(stack, 'Cutover', {
      services: [
        {
          name: 'checkout',
          cluster: env.cluster,
          blue: { service: env.blue.service, targetGroup: imported('blue') },
          green: { service: env.green.service, targetGroup: imported('green') },
          listener,
          containerName: 'app',
          repository: env.repository,
          alarms: [env.errorAlarm],
        },
      ],
    });

    const graph = byTitle(widgetsOf(Template.fromStack(stack)), /^checkout: traffic per slot/);
    expect(metricRows(graph).filter((r) => r.startsWith('AWS/ApplicationELB'))).toEqual([
      'AWS/ApplicationELB RequestCount LoadBalancer app/shop/50dc6c495c0c9188 TargetGroup targetgroup/blue/0123456789abcdef',
      'AWS/ApplicationELB RequestCount LoadBalancer app/shop/50dc6c495c0c9188 TargetGroup targetgroup/green/0123456789abcdef',
    ]);
  });
});

describe('Powertools settings of the functions', () => {
  let example: ExampleApp;

  beforeAll(() => {
    example = synthExampleApp();
  });

  it.each(CUTOVER_FUNCTIONS)('%s carries the Powertools service name and metrics namespace', (name) => {
    const fn = example.stack.cutover.functions[name];
    if (!fn) throw new Error(`the example app has no ${name} function (it has every one, chat included)`);
    const resource = example.template.findResources('AWS::Lambda::Function')[example.logicalId(fn)];

    expect(resource?.Properties.Environment.Variables).toMatchObject({ POWERTOOLS_SERVICE_NAME: 'cutover', POWERTOOLS_METRICS_NAMESPACE: 'Cutover' });
  });

  it('the rollback function may read the lock (the abort time of the reaction metric)', () => {
    const roleId = example.logicalId(example.stack.cutover.functions.rollback.role!);
    const policies = Object.values(example.template.findResources('AWS::IAM::Policy')).filter((p) => (p.Properties.Roles as Array<{ Ref: string }>).some((r) => r.Ref === roleId));
    const actions = policies.flatMap((p) => p.Properties.PolicyDocument.Statement as Array<{ Action: string | string[] }>).flatMap((s) => [s.Action].flat());

    expect(actions).toContain('dynamodb:GetItem');
  });
});
