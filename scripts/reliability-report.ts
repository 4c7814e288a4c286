/**
 * The reliability report: figures read from one vitest run of the fault matrix, the idempotency suite and
 * the bad-input corpus (`npm run test:faults -- --all-kinds --report`), kept in test/reliability-report.json
 * and rendered into the README's "Reliability" section. Pure: scripts/reliability.ts runs and writes.
 */
import { INVARIANTS, type KindSelection } from '../test/e2e/fault-matrix';

export const REPORT_PATH = 'test/reliability-report.json';
export const README_BEGIN = '<!-- reliability:begin -->';
export const README_END = '<!-- reliability:end -->';

/** One test of vitest's JSON report. */
export interface VitestAssertion {
  readonly ancestorTitles: readonly string[];
  readonly title: string;
  readonly status: string;
}

export interface ReliabilityReport {
  /** The command that produced it. */
  readonly command: string;
  readonly faultMatrix: {
    readonly kinds: KindSelection;
    /** Rows run (each a whole rollout or rollback with one fault armed), and how many met every invariant. */
    readonly runs: number;
    readonly survived: number;
    /** Runs without a fault, one per test file, that also pin which operations each function calls. */
    readonly baselineRuns: number;
    readonly operations: readonly string[];
    /** (function, operation) pairs: the cells of the matrix. */
    readonly cells: number;
    readonly byScenario: Readonly<Record<string, number>>;
    readonly byMode: Readonly<Record<string, number>>;
    readonly byKind: Readonly<Record<string, number>>;
    /** How the runs ended. */
    readonly byEndState: Readonly<Record<string, number>>;
  };
  readonly invariants: readonly string[];
  /** Invariants checked: every invariant on every run (baselines included). */
  readonly invariantChecks: number;
  readonly idempotency: { readonly tests: number; readonly passed: number };
  readonly badInputs: { readonly tried: number; readonly passed: number; readonly byTarget: Readonly<Record<string, number>> };
}

/** `deploy ecs:UpdateService throttle, exhausted → Rolled back` */
const ROW = /^(\S+) (\S+:\S+) (\S+), (once|exhausted) → (.+)$/;

const count = (values: readonly string[]) => {
  const counts: Record<string, number> = {};
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  return counts;
};

/** The figures, from vitest's JSON report of one run. */
export function reportFrom(assertions: readonly VitestAssertion[], command: string, kinds: KindSelection): ReliabilityReport {
  const matrix = assertions.filter((a) => a.ancestorTitles[0]?.startsWith('fault matrix') && ROW.test(a.title));
  const baselines = assertions.filter((a) => a.ancestorTitles[0]?.startsWith('fault matrix') && a.title.startsWith('without a fault'));
  const rows = matrix.map((a) => ROW.exec(a.title)!);
  const idempotency = assertions.filter((a) => a.ancestorTitles[0] === 'every handler run twice with the same input');
  const corpus = assertions.filter((a) => a.ancestorTitles[0] === 'bad-input corpus' && a.title.endsWith('nothing changes'));
  return {
    command,
    faultMatrix: {
      kinds,
      runs: matrix.length,
      survived: matrix.filter((a) => a.status === 'passed').length,
      baselineRuns: baselines.filter((a) => a.status === 'passed').length,
      operations: [...new Set(rows.map((r) => r[2]!))].sort(),
      cells: new Set(rows.map((r) => `${r[1]} ${r[2]}`)).size,
      byScenario: count(matrix.map((a) => a.ancestorTitles[0]!.replace(/^fault matrix: /, ''))),
      byMode: count(rows.map((r) => r[4]!)),
      byKind: count(rows.map((r) => r[3]!)),
      byEndState: count(rows.map((r) => r[5]!)),
    },
    invariants: [...INVARIANTS],
    invariantChecks: (matrix.filter((a) => a.status === 'passed').length + baselines.filter((a) => a.status === 'passed').length) * INVARIANTS.length,
    idempotency: { tests: idempotency.length, passed: idempotency.filter((a) => a.status === 'passed').length },
    badInputs: {
      tried: corpus.length,
      passed: corpus.filter((a) => a.status === 'passed').length,
      byTarget: count(corpus.map((a) => a.title.split('-')[0]!)),
    },
  };
}

const list = (o: Readonly<Record<string, number>>) =>
  Object.entries(o)
    .sort(([, a], [, b]) => b - a)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');

/** The README's "Reliability" section body (between the markers), from the report. */
export function renderSection(r: ReliabilityReport): string {
  const m = r.faultMatrix;
  const kinds = m.kinds === 'all' ? 'every kind of fault (throttle, 5xx, timeout, crash)' : 'a crash and one transient kind (taking turns)';
  return [
    README_BEGIN,
    `Figures from one run of \`${r.command}\`,`,
    `kept in \`${REPORT_PATH}\`; a unit test keeps this section, that file, the matrix and the`,
    'corpus in step.',
    '',
    '| | |',
    '|---|---|',
    `| fault matrix | ${m.runs} runs: ${m.cells} (function, AWS operation) cells × fails once / fails until every retry is spent × ${kinds}, during a rollout (${m.byScenario.rollout ?? 0}) and during a rollback (${m.byScenario.rollback ?? 0}) |`,
    `| AWS operations faulted | ${m.operations.length}: ${m.operations.map((o) => `\`${o}\``).join(', ')} |`,
    `| faults survived | ${m.survived} of ${m.runs} (every invariant held), plus ${m.baselineRuns} runs without a fault |`,
    `| how they ended | ${list(m.byEndState)} |`,
    `| invariants checked | ${r.invariantChecks} (${r.invariants.length} after each of ${r.invariantChecks / r.invariants.length} runs) |`,
    `| idempotency | ${r.idempotency.passed} of ${r.idempotency.tests}: every handler run twice with the same input leaves the same state |`,
    `| bad inputs tried | ${r.badInputs.tried} (${list(r.badInputs.byTarget)}), ${r.badInputs.passed} refused or ignored with nothing changed |`,
    '',
    'Invariants checked after every run:',
    '',
    ...r.invariants.map((i) => `- ${i}`),
    README_END,
  ].join('\n');
}

/** `readme` with its section replaced between the markers. */
export function withSection(readme: string, section: string): string {
  const begin = readme.indexOf(README_BEGIN);
  const end = readme.indexOf(README_END);
  if (begin >= 0 && end > begin) return readme.slice(0, begin) + section + readme.slice(end + README_END.length);
  throw new Error(`README.md has no ${README_BEGIN} … ${README_END} markers in its Reliability section`);
}

/** The section as it is in `readme`. */
export function sectionOf(readme: string): string | undefined {
  const begin = readme.indexOf(README_BEGIN);
  const end = readme.indexOf(README_END);
  return begin >= 0 && end > begin ? readme.slice(begin, end + README_END.length) : undefined;
}
