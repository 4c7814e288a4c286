import { describe, expect, it } from 'vitest';
import {
  ANALYSIS_ALARM_PREFIX,
  analysisAlarmPrefix,
  analysisProblems,
  analysisRolloutKey,
  bakeVerdict,
  comparisonAlarms,
  loadBalancerDimension,
  parseAnalysisAlarm,
  targetGroupDimension,
  type AnalysisConfig,
  type MetricMathCheck,
} from '../../functions/core/analysis';
import { parseMetricMath } from '../../infra/local/metric-math';

const ARN = 'arn:aws:elasticloadbalancing:us-east-1:123456789012';
const LB = `${ARN}:loadbalancer/app/shop/50dc6c495c0c9188`;
const GREEN = `${ARN}:targetgroup/checkout-green/73e2d6bc24d8a067`;
const BLUE = `${ARN}:targetgroup/checkout-blue/0f1e2d3c4b5a6978`;
const ROLLOUT = `checkout-${'3f9a1c2b'.repeat(5)}`.slice(0, 48);
const input = (config: AnalysisConfig = {}, rolloutId = ROLLOUT, service = 'checkout') => ({
  service,
  rolloutId,
  loadBalancerArn: LB,
  canaryTargetGroupArn: GREEN,
  stableTargetGroupArn: BLUE,
  config,
});
const dims = (tg: string) => [
  { Name: 'TargetGroup', Value: tg },
  { Name: 'LoadBalancer', Value: 'app/shop/50dc6c495c0c9188' },
];

describe('CloudWatch dimensions from ARNs', () => {
  it('a target group: targetgroup/<name>/<id>', () => {
    expect(targetGroupDimension(GREEN)).toBe('targetgroup/checkout-green/73e2d6bc24d8a067');
    expect(targetGroupDimension('arn:aws-cn:elasticloadbalancing:cn-north-1:123456789012:targetgroup/a/1')).toBe('targetgroup/a/1');
  });
  it.each([
    ['load balancer', LB],
    ['listener', `${ARN}:listener/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2`],
    ['listener rule', `${ARN}:listener-rule/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee`],
  ])('a %s: app/<name>/<id>', (_kind, arn) => {
    expect(loadBalancerDimension(arn)).toBe('app/shop/50dc6c495c0c9188');
  });
  it('refuses what is not one', () => {
    expect(() => targetGroupDimension(LB)).toThrow(/not a target group ARN/);
    expect(() => loadBalancerDimension(GREEN)).toThrow(/not the ARN of an Application Load Balancer/);
    expect(() => loadBalancerDimension(`${ARN}:loadbalancer/net/nlb/1`)).toThrow(/Application Load Balancer/);
  });
});

describe('comparisonAlarms', () => {
  it('makes the error-rate and latency alarms by default, 2 of 3 periods of 60 s, missing data not breaching', () => {
    const alarms = comparisonAlarms(input());
    expect(alarms.map((a) => a.AlarmName)).toEqual([`cutover-analysis-checkout.${ROLLOUT}.error-rate`, `cutover-analysis-checkout.${ROLLOUT}.latency-p99`]);
    for (const a of alarms) {
      expect(a).toMatchObject({ EvaluationPeriods: 3, DatapointsToAlarm: 2, TreatMissingData: 'notBreaching', ComparisonOperator: 'GreaterThanThreshold' });
      expect(a.Tags).toEqual(
        expect.arrayContaining([
          { Key: 'cutover:service', Value: 'checkout' },
          { Key: 'cutover:rollout', Value: ROLLOUT },
        ]),
      );
      expect(a.Metrics.filter((m) => m.ReturnData)).toHaveLength(1);
      expect(a.AlarmDescription).toContain(ROLLOUT);
    }
    expect(alarms[0]!.Threshold).toBe(1);
    expect(alarms[1]!.Threshold).toBe(250);
  });

  it('watches the canary and the stable target groups with ALB per-target-group metrics', () => {
    const [errorRate, latency] = comparisonAlarms(input());
    expect(errorRate!.Metrics).toEqual([
      {
        Id: 'm_new_requests',
        ReturnData: false,
        MetricStat: { Metric: { Namespace: 'AWS/ApplicationELB', MetricName: 'RequestCount', Dimensions: dims('targetgroup/checkout-green/73e2d6bc24d8a067') }, Period: 60, Stat: 'Sum' },
      },
      {
        Id: 'm_new_5xx',
        ReturnData: false,
        MetricStat: { Metric: { Namespace: 'AWS/ApplicationELB', MetricName: 'HTTPCode_Target_5XX_Count', Dimensions: dims('targetgroup/checkout-green/73e2d6bc24d8a067') }, Period: 60, Stat: 'Sum' },
      },
      {
        Id: 'm_old_requests',
        ReturnData: false,
        MetricStat: { Metric: { Namespace: 'AWS/ApplicationELB', MetricName: 'RequestCount', Dimensions: dims('targetgroup/checkout-blue/0f1e2d3c4b5a6978') }, Period: 60, Stat: 'Sum' },
      },
      {
        Id: 'm_old_5xx',
        ReturnData: false,
        MetricStat: { Metric: { Namespace: 'AWS/ApplicationELB', MetricName: 'HTTPCode_Target_5XX_Count', Dimensions: dims('targetgroup/checkout-blue/0f1e2d3c4b5a6978') }, Period: 60, Stat: 'Sum' },
      },
      {
        Id: 'e_result',
        Label: 'error-rate',
        ReturnData: true,
        Expression:
          'IF(FILL(m_new_requests, 0) >= 500, IF(FILL(m_old_requests, 0) >= 500, 100 * FILL(m_new_5xx, 0) / FILL(m_new_requests, 0) - 100 * FILL(m_old_5xx, 0) / FILL(m_old_requests, 0), 0), 0)',
      },
    ]);
    expect(latency!.Metrics.map((m) => [m.Id, m.MetricStat?.Stat, m.MetricStat?.Metric.MetricName])).toEqual([
      ['m_new_requests', 'Sum', 'RequestCount'],
      ['m_new_p99', 'p99', 'TargetResponseTime'],
      ['m_old_requests', 'Sum', 'RequestCount'],
      ['m_old_p99', 'p99', 'TargetResponseTime'],
      ['e_result', undefined, undefined],
    ]);
    expect(latency!.Metrics.at(-1)!.Expression).toBe('IF(FILL(m_new_requests, 0) >= 500, IF(FILL(m_old_requests, 0) >= 500, 1000 * (m_new_p99 - m_old_p99), 0), 0)');
  });

  it('every expression is in the subset the local evaluator runs', () => {
    for (const a of comparisonAlarms(input({ custom: [latencyRatio] }))) expect(() => parseMetricMath(a.Metrics.at(-1)!.Expression!)).not.toThrow();
  });

  it('applies the config: thresholds, minimum requests, period, M of N, checks off, dry run', () => {
    const alarms = comparisonAlarms(
      input({ errorRate: { maxIncreasePoints: 2.5 }, latencyP99: false, minRequests: 200, periodSeconds: 120, datapointsToAlarm: 3, evaluationPeriods: 5, dryRun: true }),
    );
    expect(alarms).toHaveLength(1);
    expect(alarms[0]).toMatchObject({ Threshold: 2.5, EvaluationPeriods: 5, DatapointsToAlarm: 3 });
    expect(alarms[0]!.Metrics.at(-1)!.Expression).toContain('>= 200');
    expect(alarms[0]!.Metrics[0]!.MetricStat!.Period).toBe(120);
    expect(alarms[0]!.Tags).toContainEqual({ Key: 'cutover:dry-run', Value: 'true' });
    expect(comparisonAlarms(input({ errorRate: false, latencyP99: false }))).toEqual([]);
  });

  const latencyRatio: MetricMathCheck = {
    name: 'db-latency',
    expression: 'IF(FILL(m_new_requests, 0) >= 50, dbnew / dbold, 1)',
    metrics: [
      { id: 'dbnew', namespace: 'Shop', metricName: 'DbLatency', stat: 'Average', slot: 'canary', dimensions: { Service: 'checkout' } },
      { id: 'dbold', namespace: 'Shop', metricName: 'DbLatency', stat: 'Average', slot: 'stable', dimensions: { Service: 'checkout' } },
    ],
    threshold: 1.5,
    comparison: 'GreaterThanThreshold',
  };
  it('adds a custom check with its metrics on the slot target groups, and the built-in ones it names', () => {
    const custom = comparisonAlarms(input({ errorRate: false, latencyP99: false, custom: [latencyRatio] }));
    expect(custom).toHaveLength(1);
    expect(custom[0]!.AlarmName).toBe(`cutover-analysis-checkout.${ROLLOUT}.db-latency`);
    expect(custom[0]).toMatchObject({ Threshold: 1.5, ComparisonOperator: 'GreaterThanThreshold' });
    expect(custom[0]!.Metrics.map((m) => [m.Id, m.MetricStat?.Metric.Dimensions])).toEqual([
      ['m_new_requests', dims('targetgroup/checkout-green/73e2d6bc24d8a067')],
      [
        'dbnew',
        [
          { Name: 'Service', Value: 'checkout' },
          { Name: 'TargetGroup', Value: 'targetgroup/checkout-green/73e2d6bc24d8a067' },
        ],
      ],
      [
        'dbold',
        [
          { Name: 'Service', Value: 'checkout' },
          { Name: 'TargetGroup', Value: 'targetgroup/checkout-blue/0f1e2d3c4b5a6978' },
        ],
      ],
      ['e_result', undefined],
    ]);
  });

  it('refuses an invalid config with every problem', () => {
    expect(() => comparisonAlarms(input({ minRequests: 0, periodSeconds: 30 }))).toThrow(/minRequests.*periodSeconds/);
    expect(() => comparisonAlarms(input({ minRequests: 0 }))).toThrow(expect.objectContaining({ name: 'InvalidConfig', problems: ['analysis.minRequests: must be a whole number ≥ 1'] }));
    expect(() => comparisonAlarms(input({}, ROLLOUT, 'has space'))).toThrow(/service/);
  });
});

describe('alarm names', () => {
  it('parse back to service, rollout and check', () => {
    for (const a of comparisonAlarms(input())) expect(parseAnalysisAlarm(a.AlarmName)).toEqual({ service: 'checkout', rolloutId: ROLLOUT, check: expect.stringMatching(/^(error-rate|latency-p99)$/) });
  });

  it('are valid CloudWatch alarm names and stay bounded for a long or odd rollout id, distinct per rollout', () => {
    const long = `checkout-${'a'.repeat(300)}`;
    const other = `checkout-${'a'.repeat(299)}b`;
    const names = [long, other, 'rollout with spaces/and:colons'].map((id) => comparisonAlarms(input({}, id, 'a-service-name-of-forty-characters-xxxxx'))[0]!.AlarmName);
    for (const name of names) {
      expect(name.length).toBeLessThanOrEqual(255);
      expect(name).toMatch(/^[\x20-\x7e]+$/);
      expect(name.startsWith(ANALYSIS_ALARM_PREFIX)).toBe(true);
    }
    expect(new Set(names).size).toBe(3);
    expect(parseAnalysisAlarm(names[0]!)).toEqual({ service: 'a-service-name-of-forty-characters-xxxxx', rolloutId: analysisRolloutKey(long), check: 'error-rate' });
    expect(analysisRolloutKey(long)).toMatch(/^checkout-a{51}~[0-9a-f]{8}$/);
    expect(analysisRolloutKey(ROLLOUT)).toBe(ROLLOUT);
  });

  it("one service's prefix is never the prefix of another's alarms", () => {
    const eu = comparisonAlarms(input({}, ROLLOUT, 'checkout-eu'))[0]!.AlarmName;
    expect(eu.startsWith(analysisAlarmPrefix('checkout'))).toBe(false);
    expect(eu.startsWith(analysisAlarmPrefix('checkout-eu'))).toBe(true);
  });

  it.each([['checkout-5xx'], ['cutover-analysis-'], ['cutover-analysis-checkout.r1'], ['cutover-analysis-checkout.r1.error-rate.x'], ['cutover-analysis-bad name.r1.error-rate']])(
    '%s is not a comparison alarm',
    (name) => {
      expect(parseAnalysisAlarm(name)).toBeUndefined();
    },
  );
});

describe('analysisProblems', () => {
  it.each([
    ['the defaults', {}],
    [
      'every field set',
      {
        errorRate: { maxIncreasePoints: 0.5 },
        latencyP99: { maxIncreaseMs: 100 },
        minRequests: 1,
        periodSeconds: 300,
        datapointsToAlarm: 1,
        evaluationPeriods: 1,
        onInconclusive: 'rollback',
        dryRun: true,
      },
    ],
    ['both built-in checks off', { errorRate: false, latencyP99: false }],
    ['one day of evaluation', { periodSeconds: 3600, evaluationPeriods: 24, datapointsToAlarm: 24 }],
  ] as Array<[string, AnalysisConfig]>)('accepts %s', (_name, config) => {
    expect(analysisProblems(config)).toEqual([]);
  });

  const check = (over: Partial<MetricMathCheck>): MetricMathCheck => ({
    name: 'c',
    expression: 'm1',
    metrics: [{ id: 'm1', namespace: 'N', metricName: 'M', stat: 'Sum' }],
    threshold: 1,
    comparison: 'GreaterThanThreshold',
    ...over,
  });
  it.each([
    ['a negative error-rate threshold', { errorRate: { maxIncreasePoints: -1 } }, 'analysis.errorRate.maxIncreasePoints'],
    ['a latency threshold that is not a number', { latencyP99: { maxIncreaseMs: Number.NaN } }, 'analysis.latencyP99.maxIncreaseMs'],
    ['no minimum of requests', { minRequests: 0 }, 'analysis.minRequests'],
    ['a fractional minimum', { minRequests: 2.5 }, 'analysis.minRequests'],
    ['a period shorter than ALB publishes', { periodSeconds: 10 }, 'analysis.periodSeconds'],
    ['a period not a multiple of 60', { periodSeconds: 90 }, 'analysis.periodSeconds'],
    ['M greater than N', { datapointsToAlarm: 4, evaluationPeriods: 3 }, 'analysis.datapointsToAlarm'],
    ['no evaluation period', { evaluationPeriods: 0 }, 'analysis.evaluationPeriods'],
    ['more than a day of evaluation', { periodSeconds: 3600, evaluationPeriods: 25 }, 'analysis.evaluationPeriods'],
    ['an unknown inconclusive policy', { onInconclusive: 'pass' as never }, 'analysis.onInconclusive'],
    ['a dry run that is not a boolean', { dryRun: 'yes' as never }, 'analysis.dryRun'],
    ['a custom check with a built-in name', { custom: [check({ name: 'error-rate' })] }, 'analysis.custom[0].name'],
    ['two custom checks with one name', { custom: [check({}), check({})] }, 'analysis.custom[1].name'],
    ['a custom check name with a dot', { custom: [check({ name: 'a.b' })] }, 'analysis.custom[0].name'],
    [
      'a custom metric id in upper case',
      { custom: [check({ metrics: [{ id: 'M1', namespace: 'N', metricName: 'M', stat: 'Sum' }], expression: 'm_new_requests' })] },
      'analysis.custom[0].metrics[0].id',
    ],
    [
      'a custom metric that takes a reserved id',
      { custom: [check({ metrics: [{ id: 'm_new_5xx', namespace: 'N', metricName: 'M', stat: 'Sum' }], expression: 'm_new_5xx' })] },
      'analysis.custom[0].metrics[0].id',
    ],
    ['an unknown statistic', { custom: [check({ metrics: [{ id: 'm1', namespace: 'N', metricName: 'M', stat: 'Median' }] })] }, 'analysis.custom[0].metrics[0].stat'],
    ['an unknown slot', { custom: [check({ metrics: [{ id: 'm1', namespace: 'N', metricName: 'M', stat: 'Sum', slot: 'green' as never }] })] }, 'analysis.custom[0].metrics[0].slot'],
    ['an expression naming an unknown id', { custom: [check({ expression: 'm1 + m2' })] }, 'analysis.custom[0].expression'],
    ['an empty expression', { custom: [check({ expression: ' ' })] }, 'analysis.custom[0].expression'],
    ['an unknown comparison', { custom: [check({ comparison: 'GreaterThanUpperThreshold' as never })] }, 'analysis.custom[0].comparison'],
    ['a threshold that is not finite', { custom: [check({ threshold: Number.POSITIVE_INFINITY })] }, 'analysis.custom[0].threshold'],
    [
      'more than 10 metrics in one alarm',
      {
        custom: [
          check({
            metrics: Array.from({ length: 8 }, (_, i) => ({ id: `x${i}`, namespace: 'N', metricName: 'M', stat: 'Sum' })),
            expression: 'x0+x1+x2+x3+x4+x5+x6+x7+m_new_requests+m_old_requests+m_new_5xx',
          }),
        ],
      },
      'analysis.custom[0].metrics',
    ],
  ] as Array<[string, AnalysisConfig, string]>)('refuses %s, naming %s', (_name, config, field) => {
    const problems = analysisProblems(config);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^${field.replace(/[[\].]/g, '\\$&')}: `));
  });

  it('reports every problem at once', () => {
    expect(analysisProblems({ minRequests: -1, periodSeconds: 1, onInconclusive: 'x' as never })).toHaveLength(3);
  });
});

describe('bakeVerdict', () => {
  it.each([
    [[600, 700, 800], {}, 'pass'],
    [[500, 500, 500], {}, 'pass'],
    [[499, 5000, 5000], {}, 'inconclusive'],
    [[], {}, 'inconclusive'],
    [[0, 0, 0, 0, 0, 0], {}, 'inconclusive'],
    [[10, 10, 10, 10, 1000, 1000, 1000], {}, 'pass'],
    [[5, 5], { minRequests: 5, evaluationPeriods: 2 }, 'pass'],
    [[5, 5], { minRequests: 5, evaluationPeriods: 3, datapointsToAlarm: 1 }, 'inconclusive'],
    [[Number.NaN, 1000, 1000], {}, 'inconclusive'],
  ] as Array<[number[], AnalysisConfig, string]>)('%j with %j is %s', (requests, config, verdict) => {
    expect(bakeVerdict(requests, config)).toBe(verdict);
  });
});
