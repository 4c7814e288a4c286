/**
 * Layers point down: the CLI in `bin/` sits on top of everything, so nothing below it (the functions, the
 * construct, the local runtime, the definition) imports from it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const BELOW_THE_CLI = ['functions', 'infra', 'state-machines'];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

describe('layers', () => {
  it.each(BELOW_THE_CLI)('nothing in %s/ imports from bin/', (dir) => {
    const offenders = sources(dir).filter((file) => /from '(\.\.\/)+bin\//.test(readFileSync(file, 'utf8')));

    expect(offenders).toEqual([]);
  });

  it('finds an import from bin/ when there is one (the check can fail)', () => {
    expect(/from '(\.\.\/)+bin\//.test("import { x } from '../../bin/status';")).toBe(true);
  });
});
