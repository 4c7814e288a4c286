/**
 * The fault matrix as vitest suites: one emulator per test file, reset between runs; a baseline run that
 * pins which operations each function calls; then one test per row, each checking every invariant.
 * The files (`test/e2e/*.faults.ts`) run with `npm run test:faults` (test/vitest.faults.config.ts), not in
 * `npm test`: a run takes about a second, and the matrix has over a hundred.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../infra/local/moto';
import { baseline, expected, ROLLBACK_CALLS, ROLLOUT_CALLS, rowName, type MatrixRow, type Scenario } from './fault-matrix';
import { assertInvariants, observe, runScenario } from './reliability';

/** Defines the suite for `rows` (all of one scenario). Titles start with "fault matrix": the report counts them. */
export function faultMatrixSuite(scenario: Scenario, rows: readonly MatrixRow[]): void {
  let emulator: Emulator;
  let stop: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    emulator = await startEmulator();
  });
  afterAll(async () => {
    await emulator?.stop();
  });
  afterEach(async () => {
    await stop?.();
    stop = undefined;
    await emulator.reset();
  });

  describe(`fault matrix: ${scenario}`, () => {
    it(`without a fault ends as expected, and the functions call exactly the operations the matrix covers`, async () => {
      // Act
      const run = await runScenario(emulator, scenario);
      stop = () => run.runtime.stop();
      const end = await observe(run.runtime);

      // Assert
      assertInvariants(run, end, baseline(scenario));
      const calls = scenario === 'rollout' ? ROLLOUT_CALLS : ROLLBACK_CALLS;
      const seen: Record<string, string[]> = {};
      for (const c of run.faults.calls) {
        if (!(c.fn in calls)) continue;
        const ops = seen[c.fn] ?? [];
        seen[c.fn] = ops;
        if (!ops.includes(c.operation)) ops.push(c.operation);
      }
      expect(seen, JSON.stringify(seen)).toEqual(calls);
    });

    it.each(rows.map((row) => [`${rowName(row)} → ${expected(row).endState ?? 'nothing started'}`, row] as const))('%s', async (_name, row) => {
      // Arrange
      const want = expected(row);

      // Act
      const run = await runScenario(emulator, scenario, row);
      stop = () => run.runtime.stop();
      const end = await observe(run.runtime);

      // Assert: the fault did hit, as often as its mode says, and every invariant holds
      const hit = run.faults.calls.filter((c) => c.injected);
      expect(hit.length).toBeGreaterThan(0);
      if (row.mode === 'once') expect(hit).toHaveLength(1);
      // Beneath the SDK's retry, a transient fault met each of the SDK's 3 attempts (fewer once the client's
      // retry quota is spent, as it is after many failures in a row: the SDK's own protection of the service).
      if (row.kind !== 'crash' && !row.operation.startsWith('states:')) {
        expect(hit[0]!.attempts).toBe(3);
        expect(hit.every((c) => c.attempts >= 1 && c.attempts <= 3)).toBe(true);
      }
      assertInvariants(run, end, want);
    });
  });
}
