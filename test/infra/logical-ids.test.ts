/**
 * The construct's logical IDs are its users' resources: a changed ID makes CloudFormation replace the
 * resource (a new table, a new state machine, every rollout's history and lock gone). The example stack's
 * IDs and types are committed in logical-ids.json; a refactor of the construct (infra/cutover.ts split by
 * concern) must leave them exactly as they are. A deliberate change regenerates the list:
 * `CUTOVER_WRITE_LOGICAL_IDS=1 npx vitest run test/infra/logical-ids.test.ts`, and says why in its commit.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { synthExampleApp } from './example-app';

const COMMITTED = new URL('./logical-ids.json', import.meta.url);

/** `<LogicalId> <Type>` for every resource of the example stack, sorted. */
function logicalIds(): string[] {
  const { template } = synthExampleApp();
  const resources = template.toJSON().Resources as Record<string, { Type: string }>;
  return Object.entries(resources)
    .map(([id, r]) => `${id} ${r.Type}`)
    .sort();
}

describe('logical IDs', () => {
  it('are exactly the committed ones (a refactor of the construct moves no resource)', () => {
    const ids = logicalIds();
    if (process.env.CUTOVER_WRITE_LOGICAL_IDS === '1') writeFileSync(COMMITTED, `${JSON.stringify(ids, null, 2)}\n`);
    const committed = JSON.parse(readFileSync(COMMITTED, 'utf8')) as string[];

    expect(ids.length).toBeGreaterThan(0);
    expect(ids).toEqual(committed);
  });
});
