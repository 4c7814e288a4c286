/**
 * `npm run test:faults`: runs the fault matrix (test/e2e/*.faults.ts) and prints a plain
 * `N passed, N failed` line and the figures.
 *
 *   npm run test:faults                          # the matrix with transient kinds taking turns (what CI runs)
 *   npm run test:faults -- --all-kinds           # every kind of fault in every cell
 *   npm run test:faults -- --all-kinds --report  # also idempotency and the bad-input corpus; writes
 *                                                # test/reliability-report.json and the README's Reliability section
 *   npm run test:faults -- --render              # only re-render that section from the committed report
 *
 * Exits non-zero if anything failed (a report is written only from a run where everything passed).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { REPORT_PATH, renderSection, reportFrom, withSection, type VitestAssertion } from './reliability-report';

const args = process.argv.slice(2);

if (args.includes('--render')) {
  // Re-render the README's section from the committed report (after a change of wording, not of figures).
  const committed = JSON.parse(readFileSync(REPORT_PATH, 'utf8')) as Parameters<typeof renderSection>[0];
  writeFileSync('README.md', withSection(readFileSync('README.md', 'utf8'), renderSection(committed)));
  console.log(`rendered the README's Reliability section from ${REPORT_PATH}`);
  process.exit(0);
}
const allKinds = args.includes('--all-kinds');
const writeReport = args.includes('--report');
const command = `npm run test:faults --${allKinds ? ' --all-kinds' : ''}${writeReport ? ' --report' : ''}`.replace(/ --$/, '');

const json = '.vitest-faults-report.json';
rmSync(json, { force: true });
const run = spawnSync('npx', ['vitest', 'run', '--config', 'test/vitest.faults.config.ts', '--reporter=default', '--reporter=json', `--outputFile.json=${json}`], {
  stdio: 'inherit',
  env: { ...process.env, CUTOVER_FAULT_KINDS: allKinds ? 'all' : 'rotate', ...(writeReport ? { CUTOVER_RELIABILITY_REPORT: '1' } : {}) },
});

let assertions: VitestAssertion[] = [];
let failed = 1;
let passed = 0;
try {
  const out = JSON.parse(readFileSync(json, 'utf8')) as { numPassedTests?: number; numFailedTests?: number; testResults?: Array<{ status: string; assertionResults?: VitestAssertion[] }> };
  assertions = (out.testResults ?? []).flatMap((r) => r.assertionResults ?? []);
  passed = out.numPassedTests ?? 0;
  failed = (out.numFailedTests ?? 0) + (out.testResults ?? []).filter((r) => r.status === 'failed' && (r.assertionResults ?? []).length === 0).length;
} catch {
  // no report: counted as a failure below
}
console.log(`${passed} passed, ${failed} failed`);

const report = reportFrom(assertions, command, allKinds ? 'all' : 'rotate');
const m = report.faultMatrix;
console.log(`fault matrix: ${m.runs} runs (${m.cells} cells, ${m.operations.length} operations, kinds: ${m.kinds}), ${m.survived} survived; ${report.invariantChecks} invariant checks`);
console.log(
  `  ended: ${Object.entries(m.byEndState)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ')}`,
);
if (writeReport) {
  console.log(`idempotency: ${report.idempotency.passed}/${report.idempotency.tests}; bad inputs: ${report.badInputs.passed}/${report.badInputs.tried}`);
}

const ok = run.status === 0 && failed === 0 && passed > 0;
if (writeReport && ok) {
  writeFileSync(REPORT_PATH, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync('README.md', withSection(readFileSync('README.md', 'utf8'), renderSection(report)));
  console.log(`wrote ${REPORT_PATH} and the README's Reliability section`);
} else if (writeReport) {
  console.log('not writing the report: the run did not pass');
}
process.exit(ok ? 0 : 1);
