/**
 * The README's Reliability figures come from one run of `npm run test:faults -- --all-kinds --report`
 * (test/reliability-report.json). They must match the README, and the matrix and corpus as they are now:
 * a changed matrix or corpus without a new report fails here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPORT_PATH, renderSection, reportFrom, sectionOf, type ReliabilityReport, type VitestAssertion } from '../../scripts/reliability-report';
import { INVARIANTS, matrixOperations, matrixRows, ROLLBACK_CALLS, ROLLOUT_CALLS } from '../e2e/fault-matrix';

const ROOT = join(import.meta.dirname, '..', '..');
const report = JSON.parse(readFileSync(join(ROOT, REPORT_PATH), 'utf8')) as ReliabilityReport;

describe('the reliability report', () => {
  it('is what the README shows', () => {
    expect(sectionOf(readFileSync(join(ROOT, 'README.md'), 'utf8'))).toBe(renderSection(report));
  });

  it('covers the matrix as it is now, every run surviving', () => {
    const m = report.faultMatrix;
    const cells = [...Object.values(ROLLOUT_CALLS), ...Object.values(ROLLBACK_CALLS)].flat().length;
    expect(m.runs).toBe(matrixRows(m.kinds).length);
    expect(m.cells).toBe(cells);
    expect(m.operations).toEqual(matrixOperations());
    expect(m.survived).toBe(m.runs);
    expect(report.invariants).toEqual([...INVARIANTS]);
    expect(report.invariantChecks).toBe((m.runs + m.baselineRuns) * INVARIANTS.length);
  });

  it('counts every case of the bad-input corpus, each refused or ignored, and every idempotency test passing', () => {
    const files = readdirSync(join(ROOT, 'test', 'fixtures', 'bad-input')).filter((f) => f.endsWith('.json'));
    expect(report.badInputs.tried).toBe(files.length);
    expect(report.badInputs.passed).toBe(files.length);
    expect(report.idempotency.tests).toBeGreaterThan(0);
    expect(report.idempotency.passed).toBe(report.idempotency.tests);
  });
});

describe('reportFrom', () => {
  const test = (ancestor: string, title: string, status = 'passed'): VitestAssertion => ({ ancestorTitles: [ancestor], title, status });

  it("counts runs, survivors, how they ended and the corpus from vitest's report", () => {
    // Arrange
    const assertions = [
      test('fault matrix: rollout', 'without a fault ends as expected, and the functions call exactly the operations the matrix covers'),
      test('fault matrix: rollout', 'deploy ecs:UpdateService throttle, once → Rollout succeeded'),
      test('fault matrix: rollout', 'deploy ecs:UpdateService crash, exhausted → Rolled back', 'failed'),
      test('fault matrix: rollback', 'rollback ecs:UpdateService timeout, exhausted → Rollback failed'),
      test('bad-input corpus', 'start-digest-null.json: refused or ignored, and nothing changes'),
      test('bad-input corpus', 'chat-unsigned.json: refused or ignored, and nothing changes', 'failed'),
      test('every handler run twice with the same input', 'prepare leaves the same state as when it runs once, and the rollout ends the same'),
    ];

    // Act
    const r = reportFrom(assertions, 'npm run test:faults', 'rotate');

    // Assert
    expect(r.faultMatrix).toMatchObject({
      runs: 3,
      survived: 2,
      baselineRuns: 1,
      cells: 2,
      operations: ['ecs:UpdateService'],
      byScenario: { rollout: 2, rollback: 1 },
      byMode: { once: 1, exhausted: 2 },
      byKind: { throttle: 1, crash: 1, timeout: 1 },
      byEndState: { 'Rollout succeeded': 1, 'Rolled back': 1, 'Rollback failed': 1 },
    });
    expect(r.invariantChecks).toBe(3 * INVARIANTS.length); // the failed run's checks do not count
    expect(r.badInputs).toEqual({ tried: 2, passed: 1, byTarget: { start: 1, chat: 1 } });
    expect(r.idempotency).toEqual({ tests: 1, passed: 1 });
  });
});
