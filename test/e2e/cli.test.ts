/**
 * The commands a user types, run as a user would: a child process, its stdout, its exit code.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { until } from '../../infra/local/demo';

const run = promisify(execFile);
const cli = (...args: string[]) =>
  run('npx', ['tsx', 'bin/cutover.ts', ...args], { cwd: join(__dirname, '../..'), timeout: 120_000, env: { ...process.env, AWS_ENDPOINT_URL: '' } }).then(
    (r) => ({ ...r, code: 0 }),
    (e: { stdout: string; stderr: string; code: number }) => ({ stdout: e.stdout, stderr: e.stderr, code: e.code }),
  );
const lastJson = (stdout: string) => JSON.parse(stdout.trim().split('\n').pop()!);

describe('cutover demo', () => {
  it('runs a full canary rollout and ends with all traffic on green', async () => {
    const { stdout, code } = await cli('demo', '--json', '--time-scale', '0.001');

    const result = lastJson(stdout);
    expect(code).toBe(0);
    expect(result).toMatchObject({
      scenario: 'happy',
      outcome: 'SUCCEEDED',
      weights: { blue: 0, green: 100 },
      liveSlot: 'green',
      liveTaskDefinition: 'checkout:2',
      retainedTaskDefinition: 'checkout:1',
    });
    expect(result.image).toMatch(/^123456789012\.dkr\.ecr\.us-east-1\.amazonaws\.com\/checkout@sha256:[a-f0-9]{64}$/);
    expect(result.states[0]).toBe('Prepare rollout');
    expect(result.states.at(-1)).toBe('Rollout succeeded');
    expect(stdout).toContain('Shift 25% to green: blue 75 / green 25');
  });

  it('rolls back when checkout-5xx fires during the 25% step, with the idle slot back on the retained revision', async () => {
    const { stdout, code } = await cli('demo', '--scenario', 'alarm', '--json', '--time-scale', '0.001');

    const result = lastJson(stdout);
    expect(code).toBe(0);
    expect(result).toMatchObject({
      scenario: 'alarm',
      outcome: 'ROLLED_BACK',
      weights: { blue: 100, green: 0 },
      liveSlot: 'blue',
      liveTaskDefinition: 'checkout:1',
      retainedTaskDefinition: 'checkout:1',
      idleSlot: 'green',
      idleTaskDefinition: 'checkout:1',
    });
    expect(result.reason).toContain('checkout-5xx');
    expect(result.states.slice(-3)).toEqual(['Roll back', 'Rollback hooks?', 'Rolled back']);
  });

  it('refuses an unknown scenario with a clear message', async () => {
    const { stderr, code } = await cli('demo', '--scenario', 'meteor');

    expect(code).not.toBe(0);
    expect(stderr).toContain("argument 'meteor' is invalid. Allowed choices are happy, alarm, unstable, busy, broken-old, regression.");
  });
});

describe('cutover local event', () => {
  it('delivers a saved ECR push event to the start function, whose rollout refuses a digest the local ECR does not hold', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cutover-'));
    const file = join(dir, 'push.json');
    writeFileSync(
      file,
      JSON.stringify({
        version: '0',
        id: '13cde686-328b-6117-af20-0e5566167482',
        'detail-type': 'ECR Image Action',
        source: 'aws.ecr',
        account: '123456789012',
        time: '2026-11-24T10:15:00Z',
        region: 'us-east-1',
        resources: [],
        detail: { result: 'SUCCESS', 'repository-name': 'checkout', 'image-digest': `sha256:${'3f'.repeat(32)}`, 'action-type': 'PUSH', 'image-tag': 'v2' },
      }),
    );

    const { stdout, code } = await cli('local', 'event', file, '--json', '--time-scale', '0.001');

    const result = lastJson(stdout);
    // A rollout it ran did not succeed: exit code 1, as for status --watch.
    expect(code).toBe(1);
    expect(result.rule).toBe('RolloutOnPush');
    expect(result.target).toBe('start');
    // A saved event names an image pushed somewhere else: pre-flight refuses it before any change, and says why.
    const reason = `pre-flight failed: image sha256:${'3f'.repeat(32)} is not in ECR repository checkout`;
    expect(result.executions).toEqual([expect.objectContaining({ name: `checkout-${'3f'.repeat(32)}`, status: 'FAILED', endState: 'Rollout refused', outcome: 'REFUSED', reason })]);
    expect(stdout).toContain(`checkout-${'3f'.repeat(32)}: REFUSED — ${reason}`);
    expect(result.weights).toEqual({ blue: 100, green: 0 });
  });

  it('says so and exits non-zero when the event is malformed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cutover-'));
    const file = join(dir, 'bad.json');
    writeFileSync(file, '{"source": "aws.ecr", "detail-type": "ECR Image Action", "detail": {"action-type": "PUSH", "result": "SUCCESS", "repository-name": "checkout", "image-tag": "latest"}}');

    const { stdout, code } = await cli('local', 'event', file, '--json', '--time-scale', '0.001');

    const result = lastJson(stdout);
    expect(code).toBe(3);
    expect(result.error.name).toBe('InvalidInput');
    expect(result.executions).toEqual([]);
    expect(result.weights).toEqual({ blue: 100, green: 0 });
  });
});

describe('cutover local up, push and slack', () => {
  it('keeps an environment running that other commands push to and steer with signed slash commands, and cleans up on Ctrl-C', async () => {
    const root = join(__dirname, '../..');
    const cwd = mkdtempSync(join(tmpdir(), 'cutover-up-'));
    const tsx = join(root, 'node_modules/.bin/tsx');
    const entry = join(root, 'bin/cutover.ts');
    const env = { ...process.env, AWS_ENDPOINT_URL: '' };
    const up = spawn(tsx, [entry, 'local', 'up', '--time-scale', '0.01'], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    up.stdout.on('data', (d: Buffer) => (log += d.toString()));
    const stateFile = join(cwd, '.cutover/local.json');
    const command = (...args: string[]) =>
      run(tsx, [entry, 'local', ...args], { cwd, env, timeout: 60_000 }).then(
        (r) => ({ stdout: r.stdout, code: 0 }),
        (e: { stdout: string; code: number }) => ({ stdout: e.stdout, code: e.code }),
      );
    try {
      await until(() => existsSync(stateFile), 30_000, 100);

      const pushed = await command('push', 'v2');
      const paused = await command('slack', 'pause', 'checkout');
      await until(() => log.includes('paused by <@UDEMO0OPERATOR>, holding'), 30_000, 100);
      const status = await command('slack', 'status checkout');
      const refused = await command('slack', 'rollback checkout', '--user', 'UINTRUDER');
      const resumed = await command('slack', 'resume', 'checkout');
      await until(() => log.includes('Finalize rollout'), 60_000, 100);
      // A rollback is acknowledged, then its outcome arrives at the local stand-in for Slack's response_url.
      const rolledBack = await command('slack', 'rollback', 'checkout');
      const { url } = JSON.parse(readFileSync(stateFile, 'utf8')) as { url: string };
      const weights = async () => ((await (await fetch(`${url}/state`)).json()) as { weights: unknown }).weights;
      await until(async () => JSON.stringify(await weights()) === JSON.stringify({ blue: 100, green: 0 }), 30_000, 100);

      expect(JSON.parse(pushed.stdout).started).toHaveLength(1);
      // Wherever the canary is when the command lands: a split, never 100/0.
      expect(paused.stdout).toMatch(/Pausing checkout at blue (\d|[1-9]\d) \/ green (\d|[1-9]\d) once the current step ends/);
      expect(status.stdout).toContain('paused by <@UDEMO0OPERATOR>, holding');
      expect(refused).toMatchObject({ code: 3, stdout: '403: <@UINTRUDER> may not steer checkout\n' });
      expect(resumed.stdout).toContain('Resumed checkout');
      expect(log).toContain('Shift 100% to green: blue 0 / green 100');
      expect(rolledBack.code).toBe(0);
      expect(rolledBack.stdout.trim().split('\n')).toEqual(['Working on `rollback checkout`: the outcome follows here.', expect.stringMatching(/^(Restored checkout|Rolling back checkout now)/)]);
    } finally {
      const exited = new Promise((resolve) => up.once('exit', resolve));
      up.kill('SIGINT');
      await exited;
    }
    expect(existsSync(stateFile)).toBe(false);
  }, 180_000);
});

const ROOT = join(__dirname, '../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const ENTRY = join(ROOT, 'bin/cutover.ts');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

describe('cutover --version and --help', () => {
  it('prints the version from package.json', async () => {
    const { stdout, code } = await cli('--version');

    expect(code).toBe(0);
    expect(stdout.trim()).toBe(VERSION);
  });

  it('shows an option only in the help of the commands where it means something', async () => {
    const help = async (...command: string[]) => (await cli(...command, '--help')).stdout;
    const [promote, rollback, pause, status, alarm, event, retry] = await Promise.all([
      help('promote'),
      help('rollback'),
      help('pause'),
      help('status'),
      help('local', 'alarm'),
      help('local', 'event'),
      help('retry'),
    ]);

    expect(promote).toContain('--full');
    expect(rollback).not.toContain('--full');
    expect(pause).not.toContain('--full');
    expect(alarm).toContain('--ok');
    expect(status).not.toContain('--time-scale');
    expect(status).toContain('--cutover <id>');
    expect(event).not.toContain('--stack');
    expect(retry).toContain('--local');
    // The alias is in the help of rollback, and says when it applies.
    expect(rollback).toContain('Usage: cutover rollback|abort');
    expect(rollback).toContain('during a rollout (alias: abort)');
  });

  it('takes a usage error as exit code 3 (refused, nothing changed)', async () => {
    const { code, stderr } = await cli('status', '--bogus');

    expect(code).toBe(3);
    expect(stderr).toContain("unknown option '--bogus'");
  });
});

describe('cutover against AWS without credentials or a Region', () => {
  it('exits 4 and points at --local', async () => {
    const home = mkdtempSync(join(tmpdir(), 'cutover-home-'));
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: home, AWS_CONFIG_FILE: join(home, 'none'), AWS_SHARED_CREDENTIALS_FILE: join(home, 'none'), AWS_EC2_METADATA_DISABLED: 'true' };
    const out = await run(TSX, [ENTRY, 'status', 'checkout', '--stack', 'CutoverExample'], { cwd: home, env, timeout: 60_000 }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );

    expect(out.code).toBe(4);
    expect(out.stderr).toContain('Region is missing');
    expect(out.stderr).toContain('add --local');
  });

  it('exits 4 with how to start one when no local environment is running', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'cutover-none-'));
    const out = await run(TSX, [ENTRY, 'local', 'push', 'v2'], { cwd, timeout: 60_000 }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );

    expect(out.code).toBe(4);
    expect(out.stderr).toContain('no local environment is running here');
  });
});

describe('the built CLI', () => {
  it('runs with node alone outside the repository: --help, --version and a local demo, with no tsx and no node_modules', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cutover-built-'));
    const outdir = join(dir, 'cli');
    await run(process.execPath, [join(ROOT, 'scripts/build-cli.mjs'), '--outdir', outdir], { cwd: ROOT, timeout: 120_000 });
    const moto = (await run('sh', ['-c', 'command -v moto_server'])).stdout.trim();
    // Only node and moto_server on PATH: no tsx, no npx, nothing from the repository.
    const env = { PATH: [dirname(process.execPath), dirname(moto), '/usr/bin', '/bin'].join(':'), HOME: dir };
    const built = (...args: string[]) => run(process.execPath, [join(outdir, 'cutover.mjs'), ...args], { cwd: dir, env, timeout: 120_000 });

    const [help, version] = await Promise.all([built('--help'), built('--version')]);
    const demo = await built('demo', '--json', '--time-scale', '0.001');

    expect(readFileSync(join(outdir, 'cutover.mjs'), 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
    expect(help.stdout).toContain('Usage: cutover [options] [command]');
    expect(version.stdout.trim()).toBe(VERSION);
    expect(lastJson(demo.stdout)).toMatchObject({ outcome: 'SUCCEEDED', weights: { blue: 0, green: 100 } });
    expect((await run('sh', ['-c', 'command -v tsx || echo none'], { env })).stdout.trim()).toBe('none');
  }, 240_000);
});

describe('cutover retry, abort and the local alarm on a running local up', () => {
  it('retries a rolled-back image once its alarm is cleared, to SUCCEEDED; abort rolls a rollout back', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'cutover-retry-'));
    const env = { ...process.env, AWS_ENDPOINT_URL: '', NO_COLOR: '1' };
    const up = spawn(TSX, [ENTRY, 'local', 'up', '--time-scale', '0.005'], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const stateFile = join(cwd, '.cutover/local.json');
    const command = (...args: string[]) =>
      run(TSX, [ENTRY, ...args], { cwd, env, timeout: 120_000 }).then(
        (r) => ({ stdout: r.stdout, stderr: r.stderr, code: 0 }),
        (e: { stdout: string; stderr: string; code: number }) => ({ stdout: e.stdout, stderr: e.stderr, code: e.code }),
      );
    try {
      await until(() => existsSync(stateFile), 60_000, 100);
      const { url } = JSON.parse(readFileSync(stateFile, 'utf8')) as { url: string };
      const records = async () => ((await (await fetch(`${url}/history?service=checkout`)).json()) as { rollouts: Array<{ rolloutId: string; outcome?: string; reason?: string }> }).rollouts;
      const ended = async (id: string) => {
        await until(async () => (await records()).some((r) => r.rolloutId === id && r.outcome && r.outcome !== 'RUNNING'), 90_000, 100);
        return (await records()).find((r) => r.rolloutId === id)!;
      };

      const nothingYet = await command('retry', 'checkout', '--local');
      // An alarm already in ALARM: plan says the rollout would roll back at once; the push does.
      await command('local', 'alarm', 'checkout-5xx');
      const plan = await command('plan', 'checkout', '--local');
      const pushed = JSON.parse((await command('local', 'push', 'v2')).stdout) as { started: string[] };
      const first = await ended(pushed.started[0]!);

      // Cleared, the same image again: a new rollout of it, through pre-flight and the lock as a push.
      const cleared = await command('local', 'alarm', 'checkout-5xx', '--ok');
      const retried = await command('retry', 'checkout', '--local', '--json');
      const retry = JSON.parse(retried.stdout) as { rolloutId: string; retryOf: string; image: string };
      const second = await ended(retry.rolloutId);
      const history = await command('history', 'checkout', '--local');
      const again = await command('retry', 'checkout', '--local');

      // abort: the alias of rollback, during a rollout.
      const next = JSON.parse((await command('local', 'push', 'v3')).stdout) as { started: string[] };
      await until(async () => ((await (await fetch(`${url}/status?service=checkout`)).json()) as { active?: { stepIndex?: number } }).active?.stepIndex !== undefined, 60_000, 100);
      const aborted = await command('abort', 'checkout', 'smoke test failed', '--local');
      const third = await ended(next.started[0]!);

      expect(plan.code).toBe(1);
      expect(plan.stdout).toContain('alarm checkout-5xx is in ALARM: the first alarm check (on entering step 1) would roll the rollout back');
      expect(first).toMatchObject({ outcome: 'ROLLED_BACK' });
      expect(nothingYet).toMatchObject({ code: 3, stderr: expect.stringContaining('checkout has no rollout yet: nothing to retry') });
      expect(cleared.code).toBe(0);
      expect(retried.code).toBe(0);
      expect(retry.retryOf).toBe(pushed.started[0]);
      expect(retry.rolloutId).toMatch(/^checkout-r\d+-[0-9a-f]+$/);
      expect(second).toMatchObject({ outcome: 'SUCCEEDED' });
      expect(history.stdout).toMatch(new RegExp(`${retry.rolloutId}: SUCCEEDED \\(CLI \\S+ retry of ${pushed.started[0]}, took \\d`));
      expect(history.stdout).toMatch(new RegExp(`${pushed.started[0]}: ROLLED_BACK \\(ECR push [0-9a-f-]+, took \\d`));
      expect(again.code).toBe(3);
      expect(again.stderr).toContain('ended SUCCEEDED');
      expect(aborted.code).toBe(0);
      expect(third).toMatchObject({ outcome: 'ROLLED_BACK' });
      expect(third.reason).toContain('smoke test failed');
    } finally {
      const exited = new Promise((resolve) => up.once('exit', resolve));
      up.kill('SIGINT');
      await exited;
    }
  }, 240_000);
});
