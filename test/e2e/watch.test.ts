/**
 * `cutover status --watch --local` and `cutover plan --local` as a user runs them: child processes against
 * a running `local up` (moto_server on loopback, the real state machine and handlers), their stdout and
 * their exit codes. Every process started here is stopped here.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../../infra/local/demo';

const run = promisify(execFile);
const root = join(__dirname, '../..');
const tsx = join(root, 'node_modules/.bin/tsx');
const entry = join(root, 'bin/cutover.ts');
const env = { ...process.env, AWS_ENDPOINT_URL: '', NO_COLOR: '1' };
const cwd = mkdtempSync(join(tmpdir(), 'cutover-watch-'));

/** Runs one CLI command to its end. */
const cli = (...args: string[]) =>
  run(tsx, [entry, ...args], { cwd, env, timeout: 120_000 }).then(
    (r) => ({ stdout: r.stdout, code: 0 }),
    (e: { stdout: string; code: number }) => ({ stdout: e.stdout, code: e.code }),
  );

/** Starts `status --watch` and collects its output as it comes. */
function startWatch(): { child: ChildProcess; output: () => string; exit: Promise<number> } {
  const child = spawn(tsx, [entry, 'status', 'checkout', '--watch', '--local', '--interval', '0.2', '--wait-start', '30s', '--timeout', '3m'], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? -1)));
  return { child, output: () => out, exit };
}

/** The last frame a watch printed (frames are separated by a blank line). */
const lastFrame = (output: string) => output.trim().split('\n\n').at(-1)!.split('\n');

let up: ChildProcess;
let upLog = '';
const watches: ChildProcess[] = [];

beforeAll(async () => {
  // 5-minute bakes last 6 s: long enough to act in the middle of one on a busy machine.
  up = spawn(tsx, [entry, 'local', 'up', '--time-scale', '0.02'], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  up.stdout!.on('data', (d: Buffer) => (upLog += d.toString()));
  await until(() => existsSync(join(cwd, '.cutover/local.json')), 60_000, 100);
}, 90_000);

afterAll(async () => {
  for (const w of watches) if (w.exitCode === null) w.kill('SIGTERM');
  if (up && up.exitCode === null) {
    const exited = new Promise((resolve) => up.once('exit', resolve));
    up.kill('SIGINT');
    await exited;
  }
}, 30_000);

describe('cutover plan --local', () => {
  it('shows the task-definition diff, the steps and the pre-flight verdict, and changes nothing', async () => {
    const digest = `sha256:${'ab'.repeat(32)}`;

    const { stdout, code } = await cli('plan', 'checkout', '--local', '--image', `checkout@${digest}`);
    const json = JSON.parse((await cli('plan', 'checkout', '--local', '--image', `checkout@${digest}`, '--json')).stdout);
    const status = JSON.parse((await cli('status', 'checkout', '--local', '--json')).stdout);

    expect(stdout).toContain('revision   a new revision of checkout, cloned from checkout:1 (retained):');
    expect(stdout).toContain('           containerDefinitions[app].image');
    expect(stdout).toMatch(/ {13}- 123456789012\.dkr\.ecr\.us-east-1\.amazonaws\.com\/checkout@sha256:[a-f0-9]{64}\n/);
    expect(stdout).toContain(`             + 123456789012.dkr.ecr.us-east-1.amazonaws.com/checkout@${digest}`);
    expect(stdout).toContain('            1. Shift 10% to green  → blue 90 / green 10');
    expect(stdout).toContain('            7. Shift 100% to green  → blue 0 / green 100');
    expect(stdout).toContain(`✖ image ${digest} is not in ECR repository checkout`);
    expect(code).toBe(1);
    expect(json.revision.changes).toEqual([
      { path: 'containerDefinitions[app].image', before: expect.stringMatching(/checkout@sha256:/), after: `123456789012.dkr.ecr.us-east-1.amazonaws.com/checkout@${digest}` },
    ]);
    expect(json.steps).toHaveLength(7);
    // Nothing was taken or changed: no lock, no rollout, blue still live at 100%.
    expect(status).toMatchObject({ weights: { blue: 100, green: 0 }, recent: [] });
    expect(status.active).toBeUndefined();
  });
});

describe('cutover status --watch --local', () => {
  it('follows a rollout to its end with a full progress bar and exits 0', async () => {
    const pushed = await cli('local', 'push', 'v2');
    const watch = startWatch();
    watches.push(watch.child);

    const code = await watch.exit;

    expect(JSON.parse(pushed.stdout).started).toHaveLength(1);
    expect(code).toBe(0);
    const frame = lastFrame(watch.output());
    expect(frame[0]).toMatch(/^checkout {2}✔ SUCCEEDED {2}checkout-[a-f0-9]{64} in \d/);
    expect(frame[1]).toBe(`progress ${'█'.repeat(40)}  7/7 steps`);
    expect(frame[2]).toBe('steps    ✔ 10%  ✔ bake 5m  ✔ 25%  ✔ bake 5m  ✔ 50%  ✔ bake 5m  ✔ 100%');
    expect(frame[3]).toMatch(/^weights {2}blue {3}0 ▒{40} 100 green \(new\)$/);
    expect(frame).toContain('result   all steps passed with every watched alarm OK');
    // It followed the rollout step by step on the way.
    expect(watch.output()).toContain('▶ bake 5m  · 50%');
  }, 150_000);

  it('exits 1 when an alarm rolls the rollout back, with the bar stopped at the failed step', async () => {
    await cli('local', 'push', 'v3');
    const watch = startWatch();
    watches.push(watch.child);
    await until(() => watch.output().includes('step 4/7 Bake 5m'), 60_000, 50);

    // What `cutover local alarm checkout-5xx` sends, without a second CLI process to start in the bake.
    const { url } = JSON.parse(readFileSync(join(cwd, '.cutover/local.json'), 'utf8')) as { url: string };
    const alarm = await fetch(`${url}/alarm`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ alarm: 'checkout-5xx' }) });
    const code = await watch.exit;

    expect(alarm.status).toBe(200);
    expect(code).toBe(1);
    const frame = lastFrame(watch.output());
    expect(frame[0]).toMatch(/^checkout {2}✖ ROLLED_BACK {2}checkout-/);
    expect(frame[1]).toMatch(/^progress █+[▏▎▍▌▋▊▉]?·+ {2}stopped at step 4\/7$/);
    expect(frame[2]).toBe('steps    ✔ 10%  ✔ bake 5m  ✔ 25%  ✖ bake 5m  · 50%  · bake 5m  · 100%');
    expect(frame).toContain('alarms   ✖ checkout-5xx ALARM   ✔ checkout-latency-p99 OK');
    expect(frame.find((l) => l.startsWith('result'))).toContain('checkout-5xx');
  }, 150_000);

  it('exits at once with the last result when no rollout is in progress', async () => {
    const { stdout, code } = await cli('status', 'checkout', '--watch', '--local');

    expect(code).toBe(1);
    expect(stdout).toMatch(/^checkout {2}✖ ROLLED_BACK/);
  });
});
