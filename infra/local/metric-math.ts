/**
 * CloudWatch metric math, the subset the comparison alarms use (functions/core/analysis.ts), and the state of
 * an alarm from its datapoints. moto stores metrics but evaluates neither expressions (its GetMetricData only
 * resolves a bare id) nor alarms: the local traffic simulator evaluates the rollout's alarms with this.
 *
 * Semantics as AWS documents them
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html):
 * - arithmetic `+ - * /` and unary `-`: between two time series, a value missing in one is treated as 0; a
 *   datapoint whose division divides by zero is dropped ("Basic arithmetic functions");
 * - comparisons `== != <= >= < >` give 1 or 0 per datapoint; between two time series a value missing in one
 *   is treated as 0 ("Comparison and logical operators");
 * - `IF(condition, trueValue, falseValue)`: the condition is false where it is 0, true elsewhere, per
 *   timestamp; a true datapoint whose trueValue series has no value there gives 0; a false one whose
 *   falseValue series has none (or no falseValue) is dropped; a timestamp without a condition datapoint is
 *   dropped ("Using IF expressions");
 * - `FILL(series, value | series)`: every period of the queried window gets a value: the series' own, else
 *   the filler ("Functions supported for metric math").
 * Not here (the alarms never use them): `^`, AND/OR, REPEAT/LINEAR fills, and every other function.
 */

/** A time series: period start (ms since the epoch) → value. */
export type Series = ReadonlyMap<number, number>;

/** What an expression is evaluated over. */
export interface MetricMathContext {
  /** The periods of the queried window (their start times, ms): where FILL puts values. */
  readonly timestamps: readonly number[];
  /** The metrics' series by query id. */
  readonly series: Readonly<Record<string, Series>>;
}

/** An expression outside the subset, malformed, or naming an unknown id. */
export class MetricMathError extends Error {
  override readonly name = 'MetricMathError';
}

type Node =
  | { readonly kind: 'number'; readonly value: number }
  | { readonly kind: 'id'; readonly id: string }
  | { readonly kind: 'neg'; readonly operand: Node }
  | { readonly kind: 'binary'; readonly op: string; readonly left: Node; readonly right: Node }
  | { readonly kind: 'call'; readonly fn: string; readonly args: readonly Node[] };

type Value = { readonly kind: 'scalar'; readonly value: number } | { readonly kind: 'series'; readonly points: Series };

const TOKEN = /\s*(?:(\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(==|!=|<=|>=|[-+*/(),<>]))/y;
const COMPARISONS = new Set(['==', '!=', '<=', '>=', '<', '>']);
const FUNCTIONS = new Set(['IF', 'FILL']);
/** Bounds the work on a hostile expression (the longest CloudWatch takes is 2048 characters). */
const MAX_EXPRESSION = 2048;
const MAX_DEPTH = 64;

function tokenize(text: string): string[] {
  if (text.length > MAX_EXPRESSION) throw new MetricMathError(`expression longer than ${MAX_EXPRESSION} characters`);
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  let at = 0;
  while (at < text.length) {
    if (/^\s*$/.test(text.slice(at))) break;
    TOKEN.lastIndex = at;
    const m = TOKEN.exec(text);
    if (!m) throw new MetricMathError(`unexpected character at ${at} in ${JSON.stringify(text)}`);
    tokens.push(m[1] ?? m[2] ?? m[3]!);
    at = TOKEN.lastIndex;
  }
  return tokens;
}

/** Parses an expression of the subset (throws {@link MetricMathError} for anything else). */
export function parseMetricMath(text: string): Node {
  const tokens = tokenize(text);
  let i = 0;
  const peek = () => tokens[i];
  const take = (expected?: string) => {
    const t = tokens[i];
    if (t === undefined || (expected !== undefined && t !== expected))
      throw new MetricMathError(`expected ${expected ?? 'more'} at token ${i} of ${JSON.stringify(text)}${t === undefined ? '' : `, found ${t}`}`);
    i++;
    return t;
  };
  const depth = (d: number) => {
    if (d > MAX_DEPTH) throw new MetricMathError(`expression nested deeper than ${MAX_DEPTH}`);
    return d + 1;
  };
  // comparison < additive < multiplicative < unary < primary, as in CloudWatch (arithmetic binds tighter).
  const comparison = (d: number): Node => {
    const left = additive(depth(d));
    if (peek() !== undefined && COMPARISONS.has(peek()!)) {
      const op = take();
      return { kind: 'binary', op, left, right: additive(depth(d)) };
    }
    return left;
  };
  const additive = (d: number): Node => {
    let node = multiplicative(depth(d));
    while (peek() === '+' || peek() === '-') {
      const op = take();
      node = { kind: 'binary', op, left: node, right: multiplicative(depth(d)) };
    }
    return node;
  };
  const multiplicative = (d: number): Node => {
    let node = unary(depth(d));
    while (peek() === '*' || peek() === '/') {
      const op = take();
      node = { kind: 'binary', op, left: node, right: unary(depth(d)) };
    }
    return node;
  };
  const unary = (d: number): Node => {
    if (peek() === '-') {
      take();
      return { kind: 'neg', operand: unary(depth(d)) };
    }
    return primary(depth(d));
  };
  const primary = (d: number): Node => {
    const t = take();
    if (t === '(') {
      const inner = comparison(depth(d));
      take(')');
      return inner;
    }
    if (/^[\d.]/.test(t)) return { kind: 'number', value: Number(t) };
    if (/^[A-Z]/.test(t)) {
      if (!FUNCTIONS.has(t)) throw new MetricMathError(`${t} is not supported here (only IF and FILL)`);
      take('(');
      const args: Node[] = [comparison(depth(d))];
      while (peek() === ',') {
        take();
        args.push(comparison(depth(d)));
      }
      take(')');
      if (t === 'IF' && (args.length < 2 || args.length > 3)) throw new MetricMathError('IF takes (condition, trueValue[, falseValue])');
      if (t === 'FILL' && args.length !== 2) throw new MetricMathError('FILL takes (series, value)');
      return { kind: 'call', fn: t, args };
    }
    if (/^[a-z]/.test(t)) return { kind: 'id', id: t };
    throw new MetricMathError(`unexpected ${t} in ${JSON.stringify(text)}`);
  };
  const node = comparison(0);
  if (i !== tokens.length) throw new MetricMathError(`unexpected ${tokens[i]} at token ${i} of ${JSON.stringify(text)}`);
  return node;
}

function arithmetic(op: string, a: number, b: number): number | undefined {
  switch (op) {
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      // "If the value of a data point causes a function to attempt to divide by zero, the data point is dropped."
      return b === 0 ? undefined : a / b;
    case '==':
      return a === b ? 1 : 0;
    case '!=':
      return a !== b ? 1 : 0;
    case '<=':
      return a <= b ? 1 : 0;
    case '>=':
      return a >= b ? 1 : 0;
    case '<':
      return a < b ? 1 : 0;
    case '>':
      return a > b ? 1 : 0;
    default:
      throw new MetricMathError(`operator ${op} is not supported`);
  }
}

function seriesOf(points: Iterable<[number, number | undefined]>): Value {
  const out = new Map<number, number>();
  for (const [t, v] of points) if (v !== undefined && Number.isFinite(v)) out.set(t, v);
  return { kind: 'series', points: out };
}

function binary(op: string, left: Value, right: Value): Value {
  if (left.kind === 'scalar' && right.kind === 'scalar') {
    const v = arithmetic(op, left.value, right.value);
    if (v === undefined) throw new MetricMathError('division by zero between two numbers');
    return { kind: 'scalar', value: v };
  }
  if (left.kind === 'series' && right.kind === 'scalar') return seriesOf([...left.points].map(([t, v]) => [t, arithmetic(op, v, right.value)]));
  if (left.kind === 'scalar' && right.kind === 'series') return seriesOf([...right.points].map(([t, v]) => [t, arithmetic(op, left.value, v)]));
  // Two series: every timestamp either has; a value missing in one is 0.
  const l = (left as { points: Series }).points;
  const r = (right as { points: Series }).points;
  const times = [...new Set([...l.keys(), ...r.keys()])].sort((a, b) => a - b);
  return seriesOf(times.map((t) => [t, arithmetic(op, l.get(t) ?? 0, r.get(t) ?? 0)]));
}

function evaluateNode(node: Node, context: MetricMathContext): Value {
  switch (node.kind) {
    case 'number':
      return { kind: 'scalar', value: node.value };
    case 'id': {
      const s = context.series[node.id];
      if (!s) throw new MetricMathError(`unknown id ${node.id}`);
      return { kind: 'series', points: s };
    }
    case 'neg': {
      const v = evaluateNode(node.operand, context);
      return v.kind === 'scalar' ? { kind: 'scalar', value: -v.value } : seriesOf([...v.points].map(([t, x]) => [t, -x]));
    }
    case 'binary':
      return binary(node.op, evaluateNode(node.left, context), evaluateNode(node.right, context));
    case 'call':
      return node.fn === 'FILL' ? fill(node.args, context) : ifCall(node.args, context);
  }
}

function fill(args: readonly Node[], context: MetricMathContext): Value {
  const series = evaluateNode(args[0]!, context);
  if (series.kind !== 'series') throw new MetricMathError('FILL needs a time series as its first argument');
  const filler = evaluateNode(args[1]!, context);
  return seriesOf(context.timestamps.map((t) => [t, series.points.get(t) ?? (filler.kind === 'scalar' ? filler.value : filler.points.get(t))]));
}

function ifCall(args: readonly Node[], context: MetricMathContext): Value {
  const condition = evaluateNode(args[0]!, context);
  const whenTrue = evaluateNode(args[1]!, context);
  const whenFalse = args[2] ? evaluateNode(args[2], context) : undefined;
  if (condition.kind === 'scalar') {
    // IF(scalar, a, b): a or b as a whole; no b: an empty time series.
    if (condition.value !== 0) return whenTrue;
    return whenFalse ?? { kind: 'series', points: new Map() };
  }
  const at = (v: Value, t: number) => (v.kind === 'scalar' ? v.value : v.points.get(t));
  return seriesOf(
    [...condition.points].map(([t, c]) => {
      // True with no trueValue datapoint: 0. False with no falseValue datapoint: dropped.
      if (c !== 0) return [t, at(whenTrue, t) ?? 0];
      return [t, whenFalse ? at(whenFalse, t) : undefined];
    }),
  );
}

/**
 * Evaluates an expression to a time series (the final result of a metric-math expression must be one).
 * @example
 * evaluateMetricMath('100 * m1 / m2', { timestamps, series: { m1, m2 } })
 */
export function evaluateMetricMath(expression: string, context: MetricMathContext): Series {
  const value = evaluateNode(parseMetricMath(expression), context);
  if (value.kind !== 'series') throw new MetricMathError(`${JSON.stringify(expression)} gives a number, not a time series`);
  return value.points;
}

/** How an alarm compares a datapoint with its threshold. */
export type AlarmComparison = 'GreaterThanThreshold' | 'LessThanThreshold' | 'GreaterThanOrEqualToThreshold' | 'LessThanOrEqualToThreshold';

export function breaches(value: number, comparison: AlarmComparison, threshold: number): boolean {
  switch (comparison) {
    case 'GreaterThanThreshold':
      return value > threshold;
    case 'GreaterThanOrEqualToThreshold':
      return value >= threshold;
    case 'LessThanThreshold':
      return value < threshold;
    case 'LessThanOrEqualToThreshold':
      return value <= threshold;
  }
}

export interface AlarmRule {
  readonly threshold: number;
  readonly comparison: AlarmComparison;
  /** N. */
  readonly evaluationPeriods: number;
  /** M. @default evaluationPeriods */
  readonly datapointsToAlarm?: number;
  /** Only these two: the comparison alarms use `notBreaching`. */
  readonly treatMissingData: 'notBreaching' | 'breaching';
}

export interface AlarmEvaluation {
  readonly state: 'OK' | 'ALARM';
  /** The N datapoints judged, oldest first (`undefined`: a missing one, filled per `treatMissingData`). */
  readonly evaluated: ReadonlyArray<{ readonly timestamp?: number; readonly value?: number; readonly breaching: boolean }>;
  readonly breaching: number;
}

/**
 * The state of an M-out-of-N alarm from the datapoints of its evaluation range (every period of the range,
 * oldest first, `undefined` where there is no datapoint). As AWS documents it ("How alarm state is evaluated
 * when data is missing", https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html):
 * with at least N real datapoints in the range, the N most recent real ones are judged and the missing-data
 * setting is not used; with fewer, all the real ones are judged with as few filled-in missing ones as make N.
 * ALARM when at least M of the N breach, else OK.
 */
export function alarmState(range: ReadonlyArray<{ readonly timestamp: number; readonly value?: number }>, rule: AlarmRule): AlarmEvaluation {
  const n = rule.evaluationPeriods;
  const m = rule.datapointsToAlarm ?? n;
  const real = range.filter((p) => p.value !== undefined);
  const judged: Array<{ timestamp?: number; value?: number; breaching: boolean }> =
    real.length >= n
      ? real.slice(-n).map((p) => ({ ...p, breaching: breaches(p.value!, rule.comparison, rule.threshold) }))
      : [
          ...Array.from({ length: n - real.length }, () => ({ breaching: rule.treatMissingData === 'breaching' })),
          ...real.map((p) => ({ ...p, breaching: breaches(p.value!, rule.comparison, rule.threshold) })),
        ];
  const breaching = judged.filter((p) => p.breaching).length;
  return { state: breaching >= m ? 'ALARM' : 'OK', evaluated: judged, breaching };
}
