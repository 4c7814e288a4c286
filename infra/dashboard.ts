/**
 * The orchestrator's CloudWatch dashboard: rollouts by outcome and the rollback reaction time (the EMF
 * metrics the functions publish, namespace `Cutover`, dimension `service`), each service's traffic split
 * (the ALB's `RequestCount` per slot's target group, as a share of the total) and the watched alarms.
 */
import { Duration, Fn } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type { Construct } from 'constructs';
import { METRICS_NAMESPACE, RolloutMetric } from '../functions/core/metrics';

/** What the dashboard needs of one service. */
export interface DashboardService {
  readonly name: string;
  /** Only its ARN is read (the load balancer's name is in it): a listener built elsewhere works alike. */
  readonly listener: Pick<elbv2.IApplicationListener, 'listenerArn'>;
  readonly blue: Pick<elbv2.ITargetGroup, 'targetGroupArn'>;
  readonly green: Pick<elbv2.ITargetGroup, 'targetGroupArn'>;
  readonly alarms: readonly cloudwatch.IAlarm[];
}

const OUTCOMES = [
  { metric: RolloutMetric.STARTED, label: 'started', color: cloudwatch.Color.BLUE },
  { metric: RolloutMetric.SUCCEEDED, label: 'succeeded', color: cloudwatch.Color.GREEN },
  { metric: RolloutMetric.ROLLED_BACK, label: 'rolled back', color: cloudwatch.Color.ORANGE },
  { metric: RolloutMetric.FAILED, label: 'failed', color: cloudwatch.Color.RED },
] as const;

const rolloutMetric = (service: string, metricName: string, statistic: string, period: Duration, label: string) =>
  new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap: { service }, statistic, period, label });

/**
 * The ALB's `RequestCount` of a target group, with the dimensions CloudWatch publishes it under:
 * `TargetGroup` (`targetgroup/<name>/<id>`) and `LoadBalancer` (`app/<name>/<id>`, read from the listener's
 * ARN, as CDK does: the listener Cutover shifts belongs to the load balancer that counts the requests).
 * Works for imported target groups, which may not know their load balancer.
 * @see https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html
 */
export function requestCount(targetGroup: Pick<elbv2.ITargetGroup, 'targetGroupArn'>, listener: Pick<elbv2.IApplicationListener, 'listenerArn'>, label: string): cloudwatch.IMetric {
  const fullName = (targetGroup as { targetGroupFullName?: string }).targetGroupFullName ?? Fn.select(5, Fn.split(':', targetGroup.targetGroupArn, 6));
  const lb = Fn.split('/', listener.listenerArn, 5);
  return new cloudwatch.Metric({
    namespace: 'AWS/ApplicationELB',
    metricName: 'RequestCount',
    dimensionsMap: { TargetGroup: fullName, LoadBalancer: Fn.join('/', [Fn.select(1, lb), Fn.select(2, lb), Fn.select(3, lb)]) },
    statistic: 'Sum',
    period: Duration.minutes(1),
    label,
  });
}

/** Builds the dashboard. */
export function rolloutDashboard(scope: Construct, id: string, services: readonly DashboardService[]): cloudwatch.Dashboard {
  const dashboard = new cloudwatch.Dashboard(scope, id, {
    defaultInterval: Duration.days(1),
    periodOverride: cloudwatch.PeriodOverride.AUTO,
  });
  const names = services.map((s) => s.name);
  const hour = Duration.hours(1);

  dashboard.addWidgets(
    new cloudwatch.TextWidget({
      markdown: `# Cutover rollouts\nServices: ${names.map((n) => `\`${n}\``).join(', ')}. Metrics from the functions (namespace \`${METRICS_NAMESPACE}\`, dimension \`service\`); traffic from the load balancer.`,
      width: 24,
      height: 2,
    }),
  );
  dashboard.addWidgets(
    new cloudwatch.SingleValueWidget({
      title: 'Rollouts by outcome (dashboard time range)',
      metrics: services.flatMap((s) => OUTCOMES.map((o) => rolloutMetric(s.name, o.metric, 'Sum', hour, `${s.name} ${o.label}`))),
      setPeriodToTimeRange: true,
      width: 12,
      height: 6,
    }),
    new cloudwatch.GraphWidget({
      title: 'Rollouts by outcome',
      left: services.flatMap((s) => OUTCOMES.map((o) => rolloutMetric(s.name, o.metric, 'Sum', hour, `${s.name} ${o.label}`).with({ color: services.length === 1 ? o.color : undefined }))),
      leftYAxis: { min: 0, label: 'rollouts', showUnits: false },
      view: cloudwatch.GraphWidgetView.BAR,
      width: 12,
      height: 6,
    }),
  );
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: 'Rollback reaction time: abort recorded → weights restored (p50, p95)',
      left: services.flatMap((s) => ['p50', 'p95'].map((stat) => rolloutMetric(s.name, RolloutMetric.ROLLBACK_REACTION_MS, stat, hour, `${s.name} ${stat}`))),
      leftYAxis: { min: 0, label: 'ms', showUnits: false },
      width: 12,
      height: 6,
    }),
    new cloudwatch.GraphWidget({
      title: 'Time each weight was held (p50, max)',
      left: services.flatMap((s) => ['p50', 'Maximum'].map((stat) => rolloutMetric(s.name, RolloutMetric.STEP_DURATION_MS, stat, hour, `${s.name} ${stat === 'Maximum' ? 'max' : stat}`))),
      leftYAxis: { min: 0, label: 'ms', showUnits: false },
      width: 12,
      height: 6,
    }),
  );
  // Current weights, as the load balancer applies them: each slot's share of the service's requests.
  dashboard.addWidgets(
    ...services.map((s) => {
      const blue = requestCount(s.blue, s.listener, `${s.name} blue requests`);
      const green = requestCount(s.green, s.listener, `${s.name} green requests`);
      const share = (slot: 'b' | 'g', label: string, color: string) =>
        new cloudwatch.MathExpression({ expression: `100 * FILL(${slot}, 0) / (FILL(b, 0) + FILL(g, 0))`, usingMetrics: { b: blue, g: green }, label, color, period: Duration.minutes(1) });
      return new cloudwatch.GraphWidget({
        title: `${s.name}: traffic per slot (% of requests, from target-group RequestCount)`,
        left: [share('b', 'blue %', cloudwatch.Color.BLUE), share('g', 'green %', cloudwatch.Color.GREEN)],
        right: [blue, green],
        leftYAxis: { min: 0, max: 100, label: '%', showUnits: false },
        rightYAxis: { min: 0, label: 'requests / min', showUnits: false },
        width: services.length === 1 ? 24 : 12,
        height: 6,
      });
    }),
  );
  dashboard.addWidgets(
    new cloudwatch.AlarmStatusWidget({
      title: 'Watched alarms (any in ALARM aborts the rollouts that watch it)',
      alarms: unique(services.flatMap((s) => s.alarms)),
      sortBy: cloudwatch.AlarmStatusWidgetSortBy.STATE_UPDATED_TIMESTAMP,
      width: 24,
      height: Math.max(3, Math.ceil(services.flatMap((s) => s.alarms).length / 4) * 2 + 1),
    }),
  );
  return dashboard;
}

/** Alarms by ARN, once each (two services may watch the same alarm). */
function unique(alarms: readonly cloudwatch.IAlarm[]): cloudwatch.IAlarm[] {
  const seen = new Set<string>();
  // Two references to one alarm render the same ARN token.
  return alarms.filter((a) => {
    if (seen.has(a.alarmArn)) return false;
    seen.add(a.alarmArn);
    return true;
  });
}
