/**
 * The README's benchmark tables are the ones in the committed bench/results.json (written by
 * `npm run bench`), so the figures quoted are the figures measured.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const results = JSON.parse(readFileSync(new URL('../../bench/results.json', import.meta.url), 'utf8')) as { markdown: string; config: { command: string } };

describe('the README benchmarks section', () => {
  it('quotes the tables of bench/results.json word for word, between its markers', () => {
    // Act
    const quoted = /<!-- bench:begin -->\n([\s\S]*?)\n<!-- bench:end -->/.exec(readme)?.[1];

    // Assert
    expect(quoted).toBe(results.markdown);
  });

  it('gives the command that produced them', () => {
    expect(results.config.command).toBe('npm run bench');
    expect(readme).toContain('```sh\nnpm run bench\n```');
  });
});
