/**
 * moto_server on loopback: started on a free port, polled until ready, stopped by PID (also on Ctrl-C,
 * SIGTERM and process exit). Or, when `AWS_ENDPOINT_URL` is set (LocalStack, a moto you run yourself),
 * that endpoint is used and nothing is started.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

export interface Emulator {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  /** True if this process started it (and so stops it). */
  readonly owned: boolean;
  /** Clears every resource (moto only). */
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

/** True if `moto_server` can be started here. */
export function motoAvailable(): boolean {
  return spawnSync('moto_server', ['--help'], { stdio: 'ignore' }).status === 0;
}

async function waitReady(endpoint: string, child: ChildProcess | undefined, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`moto_server exited with code ${child.exitCode} before it was ready`);
    try {
      const res = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(1000) });
      if (res.ok || res.status < 500) return;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`emulator at ${endpoint} not ready after ${timeoutMs} ms: ${String(lastError)}`);
}

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

/** Starts moto_server (or adopts `AWS_ENDPOINT_URL`). */
export async function startEmulator(options: StartOptions = {}): Promise<Emulator> {
  const given = options.endpoint ?? process.env.AWS_ENDPOINT_URL;
  const readyTimeoutMs = options.readyTimeoutMs ?? 15_000;
  if (given) {
    await waitReady(given, undefined, readyTimeoutMs);
    return {
      endpoint: given,
      owned: false,
      reset: async () => {
        await fetch(`${given}/moto-api/reset`, { method: 'POST' }).catch(() => undefined);
      },
      stop: async () => {},
    };
  }
  if (!motoAvailable()) {
    throw new Error('moto_server is not installed: install Python moto[server] 5.x, or set AWS_ENDPOINT_URL to a running emulator');
  }
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], {
    env: { ...process.env, MOTO_PORT: String(port), MOTO_ECS_SERVICE_RUNNING: String(options.runningTasks ?? 2) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  running.add(child);
  installExitHooks();
  try {
    await waitReady(endpoint, child, readyTimeoutMs);
  } catch (error) {
    child.kill('SIGKILL');
    running.delete(child);
    throw new Error(`${(error as Error).message}\n${stderr}`);
  }
  return {
    endpoint,
    owned: true,
    reset: async () => {
      await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
    },
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
      running.delete(child);
    },
  };
}
