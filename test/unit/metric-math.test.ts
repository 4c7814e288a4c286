/**
 * The local metric-math evaluator against the semantics AWS documents:
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html (arithmetic, comparison
 * operators, IF, FILL) and https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html
 * (M out of N, missing data). The tables below are the documentation's own examples.
 */
import { describe, expect, it } from 'vitest';
import { errorRateExpression, latencyExpression } from '../../functions/core/analysis';
import { MetricMathError, alarmState, evaluateMetricMath, parseMetricMath, type AlarmRule, type MetricMathContext, type Series } from '../../infra/local/metric-math';

const T = [0, 60_000, 120_000, 180_000, 240_000];
/** A series from a documentation row: `undefined` (the docs' `-`) is no datapoint. */
const row = (...values: Array<number | undefined>): Series => new Map(values.flatMap((v, i) => (v === undefined ? [] : [[T[i]!, v] as [number, number]])));
/** A result as a documentation row over T. */
const asRow = (s: Series) => T.map((t) => s.get(t));
const ctx = (series: Record<string, Series>): MetricMathContext => ({ timestamps: T, series });
const evalRow = (expression: string, series: Record<string, Series>) => asRow(evaluateMetricMath(expression, ctx(series)));

describe('metric math: the documented examples', () => {
  // "Comparison and logical operators": metric1 [30, 20, 0, 0], metric2 [20, -, 20, -]
  const comparison = { metric1: row(30, 20, 0, 0), metric2: row(20, undefined, 20, undefined) };
  it('compares two series per timestamp, a missing value as 0: (metric1 < metric2) is 0, 0, 1, 0', () => {
    expect(evalRow('metric1 < metric2', comparison).slice(0, 4)).toEqual([0, 0, 1, 0]);
  });
  it('compares a series with a number: (metric1 >= 30) is 1, 0, 0, 0', () => {
    expect(evalRow('metric1 >= 30', comparison).slice(0, 4)).toEqual([1, 0, 0, 0]);
  });

  // "Using IF expressions": metric1 [1, 1, 0, 0, -], metric2 [30, -, 0, 0, 30], metric3 [0, 0, 20, -, 20]
  const ifs = { metric1: row(1, 1, 0, 0, undefined), metric2: row(30, undefined, 0, 0, 30), metric3: row(0, 0, 20, undefined, 20) };
  it.each([
    ['IF(metric1, metric2, metric3)', [30, 0, 20, undefined, undefined]],
    ['IF(metric1, 5, metric3)', [5, 5, 20, undefined, undefined]],
    ['IF(metric1, metric2, 5)', [30, 0, 5, 5, undefined]],
  ])('%s is the documented row', (expression, expected) => {
    expect(evalRow(expression, ifs)).toEqual(expected);
  });
  it('IF without a falseValue drops the false datapoints', () => {
    expect(evalRow('IF(metric1, metric2)', ifs)).toEqual([30, 0, undefined, undefined, undefined]);
  });
  it('IF(number, a, b) takes a or b whole; with a false number and no b, an empty series', () => {
    expect(evalRow('IF(1, metric2, metric3)', ifs)).toEqual([30, undefined, 0, 0, 30]);
    expect(evalRow('IF(0, metric2, metric3)', ifs)).toEqual([0, 0, 20, undefined, 20]);
    expect(evalRow('IF(0, metric2)', ifs)).toEqual([undefined, undefined, undefined, undefined, undefined]);
  });
  it('IF(series < number, …) as in "IF(metric1<400, 10, 2)"', () => {
    expect(evalRow('IF(m < 400, 10, 2)', { m: row(100, 500, undefined, 399, 400) })).toEqual([10, 2, undefined, 10, 2]);
  });
});

describe('metric math: arithmetic', () => {
  it('treats a value missing in one of two series as 0 ("Missing values in a time series are treated as 0")', () => {
    expect(evalRow('a - b', { a: row(5, undefined, 3), b: row(1, 2, undefined) })).toEqual([4, -2, 3, undefined, undefined]);
  });
  it('drops a datapoint that divides by zero', () => {
    expect(evalRow('100 * a / b', { a: row(1, 2, 3), b: row(4, 0, undefined) })).toEqual([25, undefined, undefined, undefined, undefined]);
  });
  it('keeps the usual precedence: * and / before + and -, parentheses first, unary minus', () => {
    expect(evalRow('1 + 2 * a - -a / 2', { a: row(2) })[0]).toBe(1 + 4 + 1);
    expect(evalRow('(1 + 2) * a', { a: row(2) })[0]).toBe(6);
    expect(evalRow('1000 * (a - b)', { a: row(0.3), b: row(0.1) })[0]).toBeCloseTo(200, 9);
  });
  it('reads decimals and exponents', () => {
    expect(evalRow('a * 0.5 + 1e2 + .25', { a: row(4) })[0]).toBe(102.25);
  });
});

describe('metric math: FILL', () => {
  it('gives every period of the window a value: the series own, else the number', () => {
    expect(evalRow('FILL(a, 0)', { a: row(undefined, 7, undefined) })).toEqual([0, 7, 0, 0, 0]);
  });
  it('fills from another series where it has a value', () => {
    expect(evalRow('FILL(a, b)', { a: row(1, undefined, undefined), b: row(9, 8, undefined, 6) })).toEqual([1, 8, undefined, 6, undefined]);
  });
  it('makes a comparison dense, so IF(FILL(r, 0) >= 50, …, 0) is 0 where there is no traffic', () => {
    expect(evalRow('IF(FILL(r, 0) >= 50, 1, 0)', { r: row(60, undefined, 49, 50) })).toEqual([1, 0, 0, 1, 0]);
  });
});

describe('metric math: what it refuses', () => {
  it.each([
    ['an unknown function', 'AVG(m1)', /not supported/],
    ['a power', 'm1 ^ 2', /unexpected character/],
    ['unbalanced parentheses', '(m1 + 1', /expected \)/],
    ['a trailing operator', 'm1 +', /expected more/],
    ['IF with one argument', 'IF(m1)', /IF takes/],
    ['FILL with three arguments', 'FILL(m1, 0, 1)', /FILL takes/],
  ])('%s', (_name, expression, message) => {
    expect(() => parseMetricMath(expression)).toThrow(message);
  });
  it('an unknown id, a scalar result and a scalar division by zero', () => {
    expect(() => evaluateMetricMath('nope + 1', ctx({}))).toThrow(MetricMathError);
    expect(() => evaluateMetricMath('1 + 2', ctx({}))).toThrow(/not a time series/);
    expect(() => evaluateMetricMath('1 / 0 + a', ctx({ a: row(1) }))).toThrow(/division by zero/);
  });
});

describe('the comparison alarms expressions', () => {
  const minRequests = 50;
  it('error rate: canary 5xx % minus stable 5xx %, in points', () => {
    const series = {
      m_new_requests: row(100, 100, 40, undefined, 100),
      m_new_5xx: row(4, undefined, 40, undefined, 100),
      m_old_requests: row(900, 900, 960, 1000, 0),
      m_old_5xx: row(9, 9, undefined, 5, undefined),
    };
    // 4% − 1%; 0% (no 5xx datapoint: none) − 1%; too few canary requests; no canary traffic; no stable traffic.
    expect(evalRow(errorRateExpression(minRequests), series).map((v) => (v === undefined ? v : Math.round(v * 1e9) / 1e9))).toEqual([3, -1, 0, 0, 0]);
  });
  it('latency: canary p99 minus stable p99, in ms', () => {
    const series = { m_new_requests: row(100, 10), m_old_requests: row(900, 900), m_new_p99: row(0.5, 2), m_old_p99: row(0.2, 0.2) };
    expect(evalRow(latencyExpression(minRequests), series).map((v) => (v === undefined ? v : Math.round(v)))).toEqual([300, 0, 0, 0, 0]);
  });
});

describe('alarmState: M out of N with missing data', () => {
  // The documentation's tables: 0 is a non-breaching datapoint, X a breaching one, - a missing one; 5 retrieved.
  const points = (text: string) => text.split(' ').map((c, i) => ({ timestamp: T[i]!, value: c === '-' ? undefined : c === 'X' ? 10 : 0 }));
  const rule = (m: number, n: number, treatMissingData: AlarmRule['treatMissingData']): AlarmRule => ({
    threshold: 5,
    comparison: 'GreaterThanThreshold',
    evaluationPeriods: n,
    datapointsToAlarm: m,
    treatMissingData,
  });
  it.each([
    ['0 - X - X', 'OK', 'OK'],
    ['0 - - - -', 'OK', 'OK'],
    ['- - - - -', 'OK', 'ALARM'],
    ['0 X X - X', 'ALARM', 'ALARM'],
    ['- - - - X', 'OK', 'ALARM'],
    ['X - - - -', 'OK', 'ALARM'],
  ])('3 of 3: %s is %s when missing is notBreaching, %s when breaching', (data, notBreaching, breaching) => {
    expect(alarmState(points(data), rule(3, 3, 'notBreaching')).state).toBe(notBreaching);
    expect(alarmState(points(data), rule(3, 3, 'breaching')).state).toBe(breaching);
  });
  it.each([
    ['0 - X - X', 'ALARM', 'ALARM'],
    ['0 0 X 0 X', 'ALARM', 'ALARM'],
    ['0 - X - -', 'OK', 'ALARM'],
    ['- - - - 0', 'OK', 'ALARM'],
    ['- - - - X', 'OK', 'ALARM'],
  ])('2 of 3: %s is %s when missing is notBreaching, %s when breaching', (data, notBreaching, breaching) => {
    expect(alarmState(points(data), rule(2, 3, 'notBreaching')).state).toBe(notBreaching);
    expect(alarmState(points(data), rule(2, 3, 'breaching')).state).toBe(breaching);
  });
  it('judges the N most recent real datapoints and says which', () => {
    const result = alarmState(points('X 0 X 0 X'), rule(2, 3, 'notBreaching'));
    expect(result).toMatchObject({ state: 'ALARM', breaching: 2 });
    expect(result.evaluated.map((p) => p.timestamp)).toEqual([T[2], T[3], T[4]]);
  });
  it.each([
    ['GreaterThanThreshold', 5, 'OK'],
    ['GreaterThanOrEqualToThreshold', 5, 'ALARM'],
    ['LessThanThreshold', 5, 'OK'],
    ['LessThanOrEqualToThreshold', 5, 'ALARM'],
    ['LessThanThreshold', 6, 'ALARM'],
  ] as const)('%s with a threshold of %s on datapoints at 5 is %s', (comparison, threshold, state) => {
    const range = T.map((timestamp) => ({ timestamp, value: 5 }));
    expect(alarmState(range, { threshold, comparison, evaluationPeriods: 3, datapointsToAlarm: 3, treatMissingData: 'notBreaching' }).state).toBe(state);
  });
});
