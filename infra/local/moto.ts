/**
 * The local AWS emulator. Which one, in this order:
 * 1. `AWS_ENDPOINT_URL` (LocalStack, a moto you run yourself, the moto container): used as it is; nothing is
 *    started, and nothing here ever resets it.
 * 2. `moto_server` on `PATH`.
 * 3. `moto_server` in the project's own Python virtual environment (`.cutover/venv`).
 * 4. Otherwise it installs moto into that environment when `python3` and a Python package index are reachable
 *    (checked quickly: one bounded `pip download`), and if it cannot, fails with one message that gives the
 *    exact commands (pipx, Debian/Ubuntu, the moto container image with `AWS_ENDPOINT_URL`).
 *
 * A moto_server started here listens on a free loopback port and dies with this process, however this process
 * ends: it runs under a small watchdog that holds a pipe from this process and kills moto when the pipe
 * closes (Ctrl-C, SIGTERM, exit, and SIGKILL alike; moto itself never watches its parent).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';

/** The moto release the local runtime is checked against. */
export const MOTO_VERSION = '5.2.1';
/** What pip installs. */
export const MOTO_REQUIREMENT = `moto[server]==${MOTO_VERSION}`;
/** The project's own Python virtual environment for moto (relative to the project directory). */
export const PROJECT_VENV = join('.cutover', 'venv');
/** Tasks moto reports running per ECS service unless told otherwise: the demo services' desired count. */
const DEFAULT_RUNNING_TASKS = 2;

export interface Emulator {
  /** `http://127.0.0.1:<port>`, or the `AWS_ENDPOINT_URL` given. */
  readonly endpoint: string;
  /**
   * Where DynamoDB is served. A moto_server started here serves DynamoDB from a second process: on AWS the
   * lock table and the load balancer are separate fleets, and in one Python process every lock write would
   * queue behind the other services' calls for the interpreter. An external emulator:
   * `AWS_ENDPOINT_URL_DYNAMODB` if set (the SDK's own service-specific variable), else {@link endpoint}.
   */
  readonly dynamodbEndpoint: string;
  /** True if this process started it (and so stops it, and may reset it). */
  readonly owned: boolean;
  /** Where it came from: `external` (`AWS_ENDPOINT_URL`), `path` or `venv` (a moto_server started here). */
  readonly source: 'external' | MotoSource;
  /** The moto_server process's id, when this process started it. */
  readonly pid?: number;
  /** Every moto_server process this process started for it (the main one and DynamoDB's). */
  readonly pids?: readonly number[];
  /** Clears every resource. Only for an emulator this process started: an external one is refused. */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Tasks moto reports as running per ECS service (`MOTO_ECS_SERVICE_RUNNING`). @default 2 */
  readonly runningTasks?: number;
  /** Use this endpoint instead of starting moto. @default process.env.AWS_ENDPOINT_URL */
  readonly endpoint?: string;
  /** Give up waiting for readiness after this many ms. @default 15000 */
  readonly readyTimeoutMs?: number;
  /** Install moto into `.cutover/venv` when it is nowhere to be found. @default true */
  readonly bootstrap?: boolean;
  /** Progress lines while the emulator is found, installed and started (it takes a few seconds). @default none */
  readonly onProgress?: (line: string) => void;
  /** Where `.cutover/venv` is. @default process.cwd() */
  readonly projectDir?: string;
}

/** Raised when no emulator can be had; its message is the whole advice, ready to print. */
export class MotoNotFoundError extends Error {
  override readonly name = 'MotoNotFound';
  constructor(readonly reason: string) {
    super(motoMissingMessage(reason));
  }
}

/** Raised by `reset()` on an emulator this process did not start. */
export class EmulatorNotOwnedError extends Error {
  override readonly name = 'EmulatorNotOwned';
  constructor(readonly endpoint: string) {
    super(`refusing to reset the emulator at ${endpoint}: this process did not start it (AWS_ENDPOINT_URL), and it may hold someone else's resources`);
  }
}

/**
 * The one message printed when moto cannot be had: why, and the exact commands that fix it. Debian 12 has no
 * moto package (`apt-cache policy python3-moto` finds none), so the Debian/Ubuntu line installs pipx from apt.
 * The container needs `MOTO_ECS_SERVICE_RUNNING`: without it moto reports 0 running tasks and no deployment
 * ever becomes steady.
 */
export function motoMissingMessage(reason: string): string {
  return [
    `moto_server (Python ${MOTO_REQUIREMENT}) is needed for the local AWS emulator and is not installed: ${reason}.`,
    'Install it one of these ways, then run the same command again:',
    `  pipx install "${MOTO_REQUIREMENT}"                                        # pipx (then "pipx ensurepath" if moto_server is not found)`,
    `  sudo apt-get install -y pipx && pipx install "${MOTO_REQUIREMENT}"        # Debian/Ubuntu: apt has no moto package`,
    `  python3 -m venv ${PROJECT_VENV} && ${PROJECT_VENV}/bin/pip install "${MOTO_REQUIREMENT}"   # what this command tries by itself`,
    `  docker run --rm -p 5000:5000 -e MOTO_ECS_SERVICE_RUNNING=${DEFAULT_RUNNING_TASKS} motoserver/moto:${MOTO_VERSION}   # a container, then in this shell:`,
    '  export AWS_ENDPOINT_URL=http://127.0.0.1:5000',
  ].join('\n');
}

/** A free TCP port on 127.0.0.1, chosen by the kernel. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export type MotoSource = 'path' | 'venv';

/** A moto_server that can be started, and where it was found. */
export interface MotoCommand {
  readonly command: string;
  readonly source: MotoSource;
}

const executable = (file: string) => {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** The first executable `name` on `PATH`, found without running anything (starting Python takes a second). */
export function onPath(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && executable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/** The project venv's moto_server, if it is installed there. */
export function venvMoto(projectDir = process.cwd()): string | undefined {
  const file = resolve(projectDir, PROJECT_VENV, 'bin', 'moto_server');
  return executable(file) ? file : undefined;
}

/** moto_server on `PATH`, else in the project venv. */
export function findMoto(env: NodeJS.ProcessEnv = process.env, projectDir = process.cwd()): MotoCommand | undefined {
  const path = onPath('moto_server', env);
  if (path) return { command: 'moto_server', source: 'path' };
  const venv = venvMoto(projectDir);
  return venv ? { command: venv, source: 'venv' } : undefined;
}

/** True if a `moto_server` can be started here (on `PATH` or in the project venv). */
export function motoAvailable(): boolean {
  return findMoto() !== undefined;
}

interface Ran {
  /** Exit code; undefined when it was killed at the time limit or could not start. */
  readonly code?: number;
  readonly output: string;
  readonly timedOut: boolean;
}

/** Runs a command to its end, killed after `timeoutMs`: nothing here may hang on an unreachable network. */
function runBounded(command: string, args: readonly string[], timeoutMs: number, env: NodeJS.ProcessEnv): Promise<Ran> {
  return new Promise((resolvePromise) => {
    let output = '';
    let timedOut = false;
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    const keep = (d: Buffer) => {
      output = (output + d.toString()).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolvePromise({ output: error.message, timedOut: false });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code: code ?? undefined, output, timedOut });
    });
  });
}

const lastLine = (text: string) =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('WARNING'))
    .pop() ?? '';

export interface BootstrapOptions {
  readonly projectDir?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly onProgress?: (line: string) => void;
  /** How long the package index may take to answer the probe. @default 30000 */
  readonly probeTimeoutMs?: number;
  /** How long the whole install may take. @default 600000 */
  readonly installTimeoutMs?: number;
}

/**
 * Installs moto into the project venv when it can: `python3` on `PATH` and a package index that serves moto
 * (the probe is pip itself, so `PIP_INDEX_URL`, `pip.conf`, `--find-links` and proxies count; one short
 * `pip download --no-deps` with a 5 s socket timeout and no retries, killed at `probeTimeoutMs`).
 */
export async function bootstrapMoto(options: BootstrapOptions = {}): Promise<{ moto: MotoCommand } | { reason: string }> {
  const projectDir = options.projectDir ?? process.cwd();
  const env = options.env ?? process.env;
  const progress = options.onProgress ?? (() => {});
  const python = onPath('python3', env);
  if (!python) return { reason: 'it is not on PATH nor in .cutover/venv, and python3 is not on PATH to install it' };
  const venv = resolve(projectDir, PROJECT_VENV);
  const venvPython = join(venv, 'bin', 'python');
  progress(`moto_server is not on PATH nor in ${PROJECT_VENV}: checking whether pip can fetch ${MOTO_REQUIREMENT}…`);
  const scratch = mkdtempSync(join(tmpdir(), 'cutover-moto-probe-'));
  try {
    const probeWith = existsSync(venvPython) ? venvPython : python;
    const probe = await runBounded(
      probeWith,
      ['-m', 'pip', 'download', '--no-deps', '--quiet', '--dest', scratch, '--timeout', '5', '--retries', '0', `moto==${MOTO_VERSION}`],
      options.probeTimeoutMs ?? 30_000,
      env,
    );
    if (probe.code !== 0) {
      const why = probe.timedOut ? 'no answer within the time limit' : lastLine(probe.output) || `exit code ${probe.code}`;
      return { reason: `it is not on PATH nor in ${PROJECT_VENV}, and pip could not fetch it from the configured package index (pip: ${why})` };
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  if (!existsSync(venvPython)) {
    progress(`creating ${PROJECT_VENV}…`);
    const made = await runBounded(python, ['-m', 'venv', venv], 120_000, env);
    if (made.code !== 0) {
      rmSync(venv, { recursive: true, force: true });
      return { reason: `python3 -m venv failed (${lastLine(made.output)}; on Debian/Ubuntu: sudo apt-get install -y python3-venv)` };
    }
  }
  progress(`installing ${MOTO_REQUIREMENT} into ${PROJECT_VENV} (once; a minute or two)…`);
  const installed = await runBounded(venvPython, ['-m', 'pip', 'install', '--quiet', '--timeout', '15', '--retries', '2', MOTO_REQUIREMENT], options.installTimeoutMs ?? 600_000, env);
  const command = venvMoto(projectDir);
  if (installed.code !== 0 || !command) {
    return { reason: `pip install into ${PROJECT_VENV} failed (${installed.timedOut ? 'timed out' : lastLine(installed.output) || `exit code ${installed.code}`})` };
  }
  progress(`installed ${MOTO_REQUIREMENT} into ${PROJECT_VENV}`);
  return { moto: { command, source: 'venv' } };
}

async function waitReady(endpoint: string, exited: () => string | undefined, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    const gone = exited();
    if (gone) throw new Error(`moto_server ${gone} before it was ready`);
    try {
      const res = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(1000) });
      if (res.ok || res.status < 500) return;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`emulator at ${endpoint} not ready after ${timeoutMs} ms: ${String(lastError)}`);
}

/**
 * The watchdog, run by `node -e`: starts moto (argv), prints its pid, and kills it when its stdin (a pipe from
 * the process that started it) closes, or on SIGTERM; exits when moto exits. Ctrl-C in a terminal reaches
 * every process of the foreground group (the watchdog is started in a group of its own, but may be run in one
 * that is not): it leaves that to the process that started it.
 */
const WATCHDOG = `
const { spawn } = require('node:child_process');
const [command, ...args] = process.argv.slice(1);
const moto = spawn(command, args, { stdio: ['ignore', 'ignore', 'inherit'] });
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  moto.kill('SIGTERM');
  setTimeout(() => moto.kill('SIGKILL'), 3000).unref();
};
moto.on('error', (error) => { process.stderr.write(String(error.message) + '\\n'); process.exit(127); });
moto.on('spawn', () => process.stdout.write(moto.pid + '\\n'));
moto.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 + (require('node:os').constants.signals[signal] ?? 0) : 1)));
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.on('error', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
process.on('SIGINT', () => {});
process.on('SIGHUP', stop);
`;

const running = new Set<ChildProcess>();
let hooksInstalled = false;
function installExitHooks() {
  if (hooksInstalled) return;
  hooksInstalled = true;
  const killAll = () => {
    for (const child of running) child.kill('SIGTERM');
  };
  process.once('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      killAll();
      // Exit as the signal would, unless the program handles it itself (and exits when it is done).
      if (process.listenerCount(signal) === 0) process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
}

/** Adopts `AWS_ENDPOINT_URL`, or starts moto_server (installing it first if need be). */
export async function startEmulator(options: StartOptions = {}): Promise<Emulator> {
  const given = options.endpoint ?? process.env.AWS_ENDPOINT_URL;
  const readyTimeoutMs = options.readyTimeoutMs ?? 15_000;
  const progress = options.onProgress ?? (() => {});
  if (given) {
    progress(`using the emulator at ${given} (AWS_ENDPOINT_URL): not started here, never reset from here`);
    await waitReady(given, () => undefined, readyTimeoutMs);
    const dynamodbEndpoint = options.endpoint ? given : (process.env.AWS_ENDPOINT_URL_DYNAMODB ?? given);
    if (dynamodbEndpoint !== given) await waitReady(dynamodbEndpoint, () => undefined, readyTimeoutMs);
    return {
      endpoint: given,
      dynamodbEndpoint,
      owned: false,
      source: 'external',
      reset: async () => {
        throw new EmulatorNotOwnedError(given);
      },
      stop: async () => {},
    };
  }
  const projectDir = options.projectDir ?? process.cwd();
  let moto = findMoto(process.env, projectDir);
  if (!moto) {
    if (options.bootstrap === false) throw new MotoNotFoundError(`it is not on PATH nor in ${PROJECT_VENV}`);
    const got = await bootstrapMoto({ projectDir, onProgress: progress });
    if ('reason' in got) throw new MotoNotFoundError(got.reason);
    moto = got.moto;
  }
  const t0 = Date.now();
  const started = await Promise.allSettled([
    startMotoProcess(moto, options, readyTimeoutMs, (port) => progress(`starting moto_server on 127.0.0.1:${port}${moto.source === 'venv' ? ` (from ${PROJECT_VENV})` : ''}…`)),
    startMotoProcess(moto, options, readyTimeoutMs),
  ]);
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    for (const s of started) if (s.status === 'fulfilled') await s.value.stop();
    throw failed.reason;
  }
  const [main, dynamodb] = started.map((s) => (s as PromiseFulfilledResult<MotoProcess>).value) as [MotoProcess, MotoProcess];
  progress(`moto_server ready in ${Date.now() - t0} ms`);
  return {
    endpoint: main.endpoint,
    dynamodbEndpoint: dynamodb.endpoint,
    owned: true,
    source: moto.source,
    get pid() {
      return main.pid();
    },
    get pids() {
      return [main.pid(), dynamodb.pid()].filter((p): p is number => p !== undefined);
    },
    reset: async () => {
      await Promise.all([main, dynamodb].map((m) => fetch(`${m.endpoint}/moto-api/reset`, { method: 'POST' })));
    },
    stop: async () => {
      await Promise.all([main.stop(), dynamodb.stop()]);
    },
  };
}

interface MotoProcess {
  readonly endpoint: string;
  pid(): number | undefined;
  stop(): Promise<void>;
}

/** One moto_server under its watchdog, ready to answer. */
async function startMotoProcess(moto: { readonly command: string }, options: StartOptions, readyTimeoutMs: number, onPort?: (port: number) => void): Promise<MotoProcess> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  onPort?.(port);
  const child = spawn(process.execPath, ['-e', WATCHDOG, moto.command, '-H', '127.0.0.1', '-p', String(port)], {
    env: { ...process.env, MOTO_PORT: String(port), MOTO_ECS_SERVICE_RUNNING: String(options.runningTasks ?? DEFAULT_RUNNING_TASKS) },
    stdio: ['pipe', 'pipe', 'pipe'],
    // Its own process group: a Ctrl-C in the terminal reaches this process, which stops the runtime first and
    // the emulator after it, instead of moto dying under calls still in flight.
    detached: true,
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  let pid: number | undefined;
  child.stdout?.on('data', (d: Buffer) => {
    pid ??= Number.parseInt(d.toString(), 10) || undefined;
  });
  // Never written to: it is the lifeline the watchdog watches. Errors on it (the watchdog gone) are expected.
  child.stdin?.on('error', () => {});
  running.add(child);
  installExitHooks();
  try {
    await waitReady(endpoint, () => (child.exitCode !== null ? `exited with code ${child.exitCode}` : undefined), readyTimeoutMs);
  } catch (error) {
    child.kill('SIGTERM');
    running.delete(child);
    throw new Error(`${(error as Error).message}\n${stderr}`.trim());
  }
  return {
    endpoint,
    pid: () => pid,
    stop: async () => {
      running.delete(child);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
