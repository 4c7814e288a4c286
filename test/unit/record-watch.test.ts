import { describe, expect, it } from 'vitest';
import { frames, pick, readmeBlock, WATCH_BEGIN, WATCH_END } from '../../scripts/record-watch';

describe('scripts/record-watch.ts', () => {
  it('splits piped watch output into frames, whatever the chunks', () => {
    const chunks = [
      { at: 100, text: 'a1\na2\n' },
      { at: 200, text: '\nb1\n' },
      { at: 300, text: 'b2\n\nc1' },
      { at: 400, text: '\n' },
    ];

    expect(frames(chunks)).toEqual([
      { at: 100, lines: ['a1', 'a2'] },
      { at: 200, lines: ['b1', 'b2'] },
      { at: 300, lines: ['c1'] },
    ]);
  });

  it('keeps the first frame, the first in the given step, and the last, each once', () => {
    const all = [
      { at: 0, lines: ['step 2/7'] },
      { at: 1, lines: ['step 4/7 Bake 5m'] },
      { at: 2, lines: ['step 4/7 Bake 5m: 1s'] },
      { at: 3, lines: ['done'] },
    ];

    expect(pick(all, 'step 4/7').map((f) => f.at)).toEqual([0, 1, 3]);
    expect(pick([all[0]!], 'step 4/7').map((f) => f.at)).toEqual([0]);
  });

  it('writes a block between the README markers', () => {
    const block = readmeBlock([{ at: 1500, lines: ['x'] }], [{ at: 2500, lines: ['y'] }]);

    expect(block.startsWith(WATCH_BEGIN)).toBe(true);
    expect(block.endsWith(WATCH_END)).toBe(true);
    expect(block).toContain('# +1.5s\nx\n$ echo $?\n0');
    expect(block).toContain('# +2.5s\ny\n$ echo $?\n1');
  });
});
