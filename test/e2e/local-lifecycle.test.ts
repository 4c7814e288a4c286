/**
 * `local up` as processes die in real life: killed hard (SIGKILL) it leaves no emulator behind, and the state
 * file it leaves is found stale and removed by the next command that reads it and by the next `local up`.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { until } from '../../infra/local/demo';
import { processAlive, type LocalServerInfo } from '../../infra/local/server';

const root = join(__dirname, '../..');
const tsx = join(root, 'node_modules/.bin/tsx');
const entry = join(root, 'bin/cutover.ts');
const env = { ...process.env, AWS_ENDPOINT_URL: '' };
const run = promisify(execFile);
const cli = (cwd: string, ...args: string[]) =>
  run(tsx, [entry, ...args], { cwd, env, timeout: 60_000 }).then(
    (r) => ({ stdout: r.stdout, stderr: r.stderr, code: 0 }),
    (e: { stdout: string; stderr: string; code: number }) => ({ stdout: e.stdout, stderr: e.stderr, code: e.code }),
  );

/** Starts `local up` in `cwd` and resolves with the state file it wrote, once it is this process's. */
async function localUp(cwd: string): Promise<{ up: ChildProcess; info: LocalServerInfo; log: () => string }> {
  const up = spawn(tsx, [entry, 'local', 'up', '--time-scale', '0.01'], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  up.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  up.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const stateFile = join(cwd, '.cutover/local.json');
  let info: LocalServerInfo | undefined;
  await until(
    () => {
      if (up.exitCode !== null) throw new Error(`local up exited with ${up.exitCode}: ${log}`);
      if (!existsSync(stateFile)) return false;
      const read = JSON.parse(readFileSync(stateFile, 'utf8')) as LocalServerInfo;
      // Not a state file left by an earlier local up: this one's (its url answers only while it runs).
      if (!log.includes(read.url)) return false;
      info = read;
      return true;
    },
    60_000,
    100,
  );
  return { up, info: info!, log: () => log };
}

const exited = (child: ChildProcess) => new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(undefined) : child.once('exit', resolve)));

/** The pid of a process that has ended. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await exited(child);
  return child.pid!;
}

describe('cutover local up, killed hard', () => {
  it('leaves no moto_server behind, and the next local up replaces its stale state file', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'cutover-kill-'));
    const first = await localUp(cwd);
    const motoPids = first.info.emulatorPids!;
    expect(motoPids).toHaveLength(2);
    expect(motoPids).toContain(first.info.emulatorPid);
    expect(motoPids.every(processAlive)).toBe(true);

    process.kill(first.info.pid, 'SIGKILL');
    await until(() => !processAlive(first.info.pid), 30_000, 50);
    // The watchdogs see their pipes from local up close and stop moto (both processes).
    await until(() => !motoPids.some(processAlive), 30_000, 50);
    await exited(first.up);

    expect(existsSync(join(cwd, '.cutover/local.json'))).toBe(true);
    const second = await localUp(cwd);
    try {
      expect(second.info.pid).not.toBe(first.info.pid);
      expect(second.info.emulatorPids!.every(processAlive)).toBe(true);
      const status = await cli(cwd, 'status', 'checkout', '--local');
      expect(status.code).toBe(0);
    } finally {
      const done = exited(second.up);
      second.up.kill('SIGINT');
      await done;
    }
    await until(() => !second.info.emulatorPids!.some(processAlive), 30_000, 50);
    expect(existsSync(join(cwd, '.cutover/local.json'))).toBe(false);
  });
});

describe('a stale .cutover/local.json', () => {
  it.each([
    ['local', 'push', 'v2'],
    ['status', 'checkout', '--local'],
  ])('is reported and removed by `cutover %s %s %s`', async (...args) => {
    const cwd = mkdtempSync(join(tmpdir(), 'cutover-stale-'));
    const stateFile = join(cwd, '.cutover/local.json');
    const pid = await deadPid();
    mkdirSync(join(cwd, '.cutover'));
    writeFileSync(stateFile, JSON.stringify({ url: 'http://127.0.0.1:9', signingSecret: 'x', emulator: 'http://127.0.0.1:9', pid, slackResponseUrl: 'http://127.0.0.1:9/r' }));

    const { code, stderr } = await cli(cwd, ...args);

    // 4: Cutover could not be reached (the CLI's exit-code table).
    expect(code).toBe(4);
    expect(stderr).toContain(`the local environment in .cutover/local.json (pid ${pid}, http://127.0.0.1:9) is no longer running: removed the stale file`);
    expect(existsSync(stateFile)).toBe(false);
  });
});
