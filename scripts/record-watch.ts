/**
 * Records `cutover status --watch --local` during a local rollout, as text, for the README's "Watching a
 * rollout" section: starts `local up` (with its own moto_server) in a temporary directory, pushes an image
 * and follows the rollout with `status --watch --local` (its stdout piped: one frame per change, no colour),
 * then pushes another and fires an alarm during its 25% bake. Keeps a few frames of each, and stops every
 * process it started, also on failure (and after 5 minutes at most).
 *
 * @example
 * npx tsx scripts/record-watch.ts           # prints the recorded frames
 * npx tsx scripts/record-watch.ts --write   # and puts them in README.md between the watch markers
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { until } from '../infra/local/demo';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const CLI = join(ROOT, 'bin/cutover.ts');
/** 5-minute bakes last 6 s. */
const TIME_SCALE = '0.02';
const LIMIT_MS = 5 * 60_000;

export const WATCH_BEGIN = '<!-- watch:begin -->';
export const WATCH_END = '<!-- watch:end -->';

/** One frame of the watch, and when it came (ms after the watch started). */
export interface Frame {
  readonly at: number;
  readonly lines: string[];
}

/** Splits a watch's piped output into frames (a blank line between two frames). */
export function frames(chunks: ReadonlyArray<{ at: number; text: string }>): Frame[] {
  const out: Frame[] = [];
  let text = '';
  let at = 0;
  for (const chunk of chunks) {
    if (!text) at = chunk.at;
    text += chunk.text;
    for (let cut = text.indexOf('\n\n'); cut >= 0; cut = text.indexOf('\n\n')) {
      out.push({ at, lines: text.slice(0, cut).split('\n') });
      text = text.slice(cut + 2);
      at = chunk.at;
    }
  }
  if (text.trim()) out.push({ at, lines: text.trimEnd().split('\n') });
  return out;
}

/** The frames worth showing: the first, the first one in `middle` (a step text), and the last. */
export function pick(all: readonly Frame[], middle: string): Frame[] {
  const mid = all.find((f) => f.lines.some((l) => l.includes(middle)));
  return [...new Set([all[0], mid, all.at(-1)].filter((f): f is Frame => f !== undefined))];
}

/** The README block for two recordings. */
export function readmeBlock(happy: readonly Frame[], alarm: readonly Frame[]): string {
  const show = (fs: readonly Frame[]) => fs.map((f) => `# +${(f.at / 1000).toFixed(1)}s\n${f.lines.join('\n')}`).join('\n\n');
  return [
    WATCH_BEGIN,
    '```console',
    '$ npm run cutover -- local push v2',
    '$ npm run cutover -- status checkout --watch --local',
    show(happy),
    '$ echo $?',
    '0',
    '```',
    '',
    'And a rollout that `checkout-5xx` stops during its 25% bake (`npm run cutover -- local alarm checkout-5xx`):',
    '',
    '```console',
    '$ npm run cutover -- status checkout --watch --local',
    show(alarm),
    '$ echo $?',
    '1',
    '```',
    WATCH_END,
  ].join('\n');
}

async function record(): Promise<{ happy: Frame[]; alarm: Frame[] }> {
  const cwd = mkdtempSync(join(tmpdir(), 'cutover-record-'));
  const env = { ...process.env, AWS_ENDPOINT_URL: '', NO_COLOR: '1' };
  const started: ChildProcess[] = [];
  const cli = (...args: string[]) => promisify(execFile)(TSX, [CLI, ...args], { cwd, env, timeout: 60_000 });
  const watchOnce = async (during?: (output: () => string) => Promise<void>) => {
    const t0 = Date.now();
    const chunks: Array<{ at: number; text: string }> = [];
    const child = spawn(TSX, [CLI, 'status', 'checkout', '--watch', '--local', '--interval', '0.25', '--wait-start', '30s', '--timeout', '3m'], { cwd, env, stdio: ['ignore', 'pipe', 'inherit'] });
    started.push(child);
    child.stdout!.on('data', (d: Buffer) => chunks.push({ at: Date.now() - t0, text: d.toString() }));
    const exit = new Promise<number | null>((resolve) => child.once('exit', resolve));
    await during?.(() => chunks.map((c) => c.text).join(''));
    const code = await exit;
    return { code, frames: frames(chunks) };
  };

  const up = spawn(TSX, [CLI, 'local', 'up', '--time-scale', TIME_SCALE], { cwd, env, stdio: ['ignore', 'ignore', 'inherit'] });
  started.push(up);
  const limit = setTimeout(() => {
    for (const p of started) p.kill('SIGTERM');
  }, LIMIT_MS);
  try {
    await until(() => existsSync(join(cwd, '.cutover/local.json')), 60_000, 100);

    await cli('local', 'push', 'v2');
    const happy = await watchOnce();
    if (happy.code !== 0) throw new Error(`the watch of the happy rollout exited ${happy.code}`);

    await cli('local', 'push', 'v3');
    const alarm = await watchOnce(async (output) => {
      await until(() => output().includes('step 4/7 Bake 5m'), 60_000, 50);
      // What `cutover local alarm checkout-5xx` sends, without starting a CLI process in the middle of the bake.
      const { url } = JSON.parse(readFileSync(join(cwd, '.cutover/local.json'), 'utf8')) as { url: string };
      const res = await fetch(`${url}/alarm`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ alarm: 'checkout-5xx' }) });
      if (res.status !== 200) throw new Error(`the local environment refused the alarm: ${res.status} ${await res.text()}`);
    });
    if (alarm.code !== 1) throw new Error(`the watch of the alarmed rollout exited ${alarm.code}`);
    return { happy: pick(happy.frames, 'step 4/7 Bake 5m'), alarm: pick(alarm.frames, 'step 4/7 Bake 5m').slice(1) };
  } finally {
    clearTimeout(limit);
    for (const p of started.filter((c) => c !== up && c.exitCode === null)) p.kill('SIGTERM');
    if (up.exitCode === null) {
      const exited = new Promise((resolve) => up.once('exit', resolve));
      up.kill('SIGINT'); // local up stops its emulator on SIGINT
      await exited;
    }
    rmSync(cwd, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const { happy, alarm } = await record();
  const block = readmeBlock(happy, alarm);
  if (process.argv.includes('--write')) {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const start = readme.indexOf(WATCH_BEGIN);
    const end = readme.indexOf(WATCH_END);
    if (start < 0 || end < 0) throw new Error(`README.md has no ${WATCH_BEGIN} … ${WATCH_END} markers`);
    writeFileSync(join(ROOT, 'README.md'), readme.slice(0, start) + block + readme.slice(end + WATCH_END.length));
    console.log('README.md: watch recording updated');
  } else {
    console.log(block);
  }
}
