/**
 * A machine without moto_server: `npm test` stops in one line that says so, `npm run demo` installs moto into
 * the project venv where pip can fetch it, and otherwise prints the commands that install it. Each case runs
 * with a PATH that has node and python3 but no moto_server, and pip pointed at a package index of the test's
 * own (PIP_CONFIG_FILE=/dev/null: the machine's pip.conf does not count).
 */
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { bootstrapMoto, findMoto, motoMissingMessage, onPath, PROJECT_VENV } from '../../infra/local/moto';

const root = join(__dirname, '../..');
const run = promisify(execFile);
const exec = (file: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }) =>
  run(file, args, { ...options, timeout: 120_000 }).then(
    (r) => ({ stdout: r.stdout, stderr: r.stderr, code: 0 }),
    (e: { stdout: string; stderr: string; code: number }) => ({ stdout: e.stdout, stderr: e.stderr, code: e.code }),
  );

/**
 * The environment of a machine without moto_server: a PATH with only node and python3 on it (the interpreter
 * itself: a pyenv shim would find moto_server beside it), and pip pointed at an empty package index.
 */
async function noMotoEnv(extra: NodeJS.ProcessEnv = {}): Promise<NodeJS.ProcessEnv> {
  const bin = mkdtempSync(join(tmpdir(), 'cutover-bin-'));
  symlinkSync(process.execPath, join(bin, 'node'));
  const python = onPath('python3');
  if (!python) throw new Error('python3 is not on PATH');
  const interpreter = (await run(python, ['-c', 'import sys; print(sys.executable)'])).stdout.trim();
  symlinkSync(realpathSync(interpreter), join(bin, 'python3'));
  return {
    ...process.env,
    PATH: bin,
    AWS_ENDPOINT_URL: '',
    PIP_CONFIG_FILE: '/dev/null',
    PIP_NO_INDEX: '1',
    PIP_FIND_LINKS: mkdtempSync(join(tmpdir(), 'cutover-index-')),
    ...extra,
  };
}

describe('npm test without moto_server', () => {
  it('stops before vitest with one line that says so', async () => {
    const env = await noMotoEnv();

    const { code, stdout, stderr } = await exec(process.execPath, [join(root, 'scripts/test.mjs')], { cwd: root, env });

    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(/^npm test needs moto_server \(Python moto\[server\]==5\.2\.1\) and it is neither on PATH nor in \.cutover\/venv: /)]);
  });

  it('goes on when moto_server is on PATH or in the project venv', async () => {
    const project = mkdtempSync(join(tmpdir(), 'cutover-project-'));
    const venvBin = join(project, PROJECT_VENV, 'bin');
    mkdirSync(venvBin, { recursive: true });
    writeFileSync(join(venvBin, 'moto_server'), '#!/bin/sh\n');
    chmodSync(join(venvBin, 'moto_server'), 0o755);
    const check = join(root, 'scripts/ensure-moto.mjs');

    const withPath = await exec(process.execPath, [check], { cwd: root, env: process.env });
    const withVenv = await exec(process.execPath, [check], { cwd: project, env: await noMotoEnv() });
    const without = await exec(process.execPath, [check], { cwd: mkdtempSync(join(tmpdir(), 'cutover-empty-')), env: await noMotoEnv() });

    expect([withPath.code, withVenv.code, without.code]).toEqual([0, 0, 1]);
    expect(findMoto({ PATH: '' }, project)).toEqual({ command: join(venvBin, 'moto_server'), source: 'venv' });
    expect(findMoto(process.env, project)).toEqual({ command: 'moto_server', source: 'path' });
  });
});

describe('npm run demo without moto_server', () => {
  it('prints one message with the commands for pipx, Debian/Ubuntu and the container, when pip cannot fetch moto', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'cutover-nomoto-'));
    const env = await noMotoEnv();

    const { code, stdout, stderr } = await exec(join(root, 'node_modules/.bin/tsx'), [join(root, 'bin/cutover.ts'), 'demo'], { cwd, env });

    expect(code).toBe(1);
    expect(stdout).toContain('moto_server is not on PATH nor in .cutover/venv: checking whether pip can fetch moto[server]==5.2.1…');
    const reason = /is not installed: (.*)\.\n/.exec(stderr)?.[1] ?? '';
    expect(reason).toMatch(/^it is not on PATH nor in \.cutover\/venv, and pip could not fetch it from the configured package index \(pip: .+\)$/);
    expect(stderr.trim()).toBe(`cutover: ${motoMissingMessage(reason)}`);
    expect(stderr).toContain('pipx install "moto[server]==5.2.1"');
    expect(stderr).toContain('sudo apt-get install -y pipx && pipx install "moto[server]==5.2.1"');
    expect(stderr).toContain('docker run --rm -p 5000:5000 -e MOTO_ECS_SERVICE_RUNNING=2 motoserver/moto:5.2.1');
    expect(stderr).toContain('export AWS_ENDPOINT_URL=http://127.0.0.1:5000');
    // Nothing half-made is left behind.
    expect(existsSync(join(cwd, PROJECT_VENV))).toBe(false);
  });

  it('installs moto into .cutover/venv when pip can fetch it, and the venv is where it is found next', async () => {
    const project = mkdtempSync(join(tmpdir(), 'cutover-bootstrap-'));
    // A package index of our own holding a wheel named moto 5.2.1 whose moto_server script stands in for moto's.
    const index = mkdtempSync(join(tmpdir(), 'cutover-wheels-'));
    await run('python3', [
      '-c',
      [
        'import sys, zipfile',
        'w = zipfile.ZipFile(sys.argv[1] + "/moto-5.2.1-py3-none-any.whl", "w")',
        'w.writestr("fakemoto/__init__.py", "def main():\\n    print(\\"stand-in\\")\\n")',
        'd = "moto-5.2.1.dist-info/"',
        'w.writestr(d + "METADATA", "Metadata-Version: 2.1\\nName: moto\\nVersion: 5.2.1\\nProvides-Extra: server\\n")',
        'w.writestr(d + "WHEEL", "Wheel-Version: 1.0\\nGenerator: cutover-test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n")',
        'w.writestr(d + "entry_points.txt", "[console_scripts]\\nmoto_server = fakemoto:main\\n")',
        'w.writestr(d + "RECORD", "fakemoto/__init__.py,,\\n" + d + "METADATA,,\\n" + d + "WHEEL,,\\n" + d + "entry_points.txt,,\\n" + d + "RECORD,,\\n")',
        'w.close()',
      ].join('\n'),
      index,
    ]);
    const env = await noMotoEnv({ PIP_FIND_LINKS: index });
    const lines: string[] = [];

    const got = await bootstrapMoto({ projectDir: project, env, onProgress: (l) => lines.push(l) });

    const command = join(project, PROJECT_VENV, 'bin', 'moto_server');
    expect(got).toEqual({ moto: { command, source: 'venv' } });
    expect(findMoto(env, project)).toEqual({ command, source: 'venv' });
    expect((await run(command, [])).stdout.trim()).toBe('stand-in');
    expect(lines).toEqual([
      'moto_server is not on PATH nor in .cutover/venv: checking whether pip can fetch moto[server]==5.2.1…',
      'creating .cutover/venv…',
      'installing moto[server]==5.2.1 into .cutover/venv (once; a minute or two)…',
      'installed moto[server]==5.2.1 into .cutover/venv',
    ]);
  });
});
