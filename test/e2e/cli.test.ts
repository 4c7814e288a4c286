/**
 * The commands a user types, run as a user would: a child process, its stdout, its exit code.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
    expect(result.states.slice(-2)).toEqual(['Roll back', 'Rolled back']);
  });

  it('refuses an unknown scenario with a clear message', async () => {
    const { stderr, code } = await cli('demo', '--scenario', 'meteor');

    expect(code).not.toBe(0);
    expect(stderr).toContain("argument 'meteor' is invalid. Allowed choices are happy, alarm, unstable, busy.");
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
    expect(code).toBe(0);
    expect(result.rule).toBe('RolloutOnPush');
    expect(result.target).toBe('start');
    // A saved event names an image pushed somewhere else: pre-flight refuses it before any change.
    expect(result.executions).toEqual([expect.objectContaining({ name: `checkout-${'3f'.repeat(32)}`, status: 'FAILED', endState: 'Rollout refused' })]);
    expect(result.weights).toEqual({ blue: 100, green: 0 });
  });

  it('says so and exits non-zero when the event is malformed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cutover-'));
    const file = join(dir, 'bad.json');
    writeFileSync(file, '{"source": "aws.ecr", "detail-type": "ECR Image Action", "detail": {"action-type": "PUSH", "result": "SUCCESS", "repository-name": "checkout", "image-tag": "latest"}}');

    const { stdout, code } = await cli('local', 'event', file, '--json', '--time-scale', '0.001');

    const result = lastJson(stdout);
    expect(code).toBe(1);
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
      expect(refused).toMatchObject({ code: 1, stdout: '403: <@UINTRUDER> may not steer checkout\n' });
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
  });
});
