/**
 * `npm run test:faults`: the fault matrix (`test/e2e/*.faults.ts`). With CUTOVER_RELIABILITY_REPORT set, also
 * the idempotency and bad-input suites, so the report counts every figure from one run.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import base from '../vitest.config';

export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  test: {
    ...base.test,
    include: ['test/e2e/*.faults.ts', ...(process.env.CUTOVER_RELIABILITY_REPORT ? ['test/e2e/idempotency.test.ts', 'test/e2e/bad-input.test.ts'] : [])],
  },
});
