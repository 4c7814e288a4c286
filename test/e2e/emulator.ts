/**
 * The e2e tests' shared fixture: one emulator per test file (started before its first test, stopped after
 * its last), reset after every test, and every local runtime a test started stopped before that reset.
 *
 *   const local = useLocalRuntime({ leaseMs: 50 });   // the file's defaults, merged into every start
 *   const rt = await local.start({ unstableNewRevisions: true });
 *   local.events                                      // what that runtime reported via onEvent
 *   local.emulator().endpoint
 *
 * Call it once, at the top level of a test file (it registers beforeAll/afterAll/afterEach hooks there).
 */
import { afterAll, afterEach, beforeAll } from 'vitest';
import { startEmulator, type Emulator, type StartOptions } from '../../infra/local/moto';
import { LocalRuntime, type LocalRuntimeOptions } from '../../infra/local/runtime';
import type { LocalEvent } from '../../infra/local/sfn';

/** Something started during a test that must stop before the emulator is reset. */
interface Stoppable {
  stop(): Promise<unknown> | unknown;
}

export interface LocalRuntimeFixture {
  /** The file's running emulator (only inside a test or hook: it starts in `beforeAll`). */
  emulator(): Emulator;
  /**
   * A local runtime on the file's emulator: `timeScale: 0.001` (bakes of 5 minutes last 0.3 s) and every
   * event collected into `events`, then the file's defaults, then `options`. Stopped after the test.
   */
  start(options?: Partial<LocalRuntimeOptions>): Promise<LocalRuntime>;
  /** Stops `runtime` after the test, with those `start` made (for runtimes started elsewhere, e.g. `runScenario`). */
  stopAfter<T extends Stoppable>(runtime: T): T;
  /** The events of the runtimes `start` made in the current test (emptied after each test). */
  readonly events: LocalEvent[];
}

export function useLocalRuntime(defaults: Partial<LocalRuntimeOptions> = {}, emulatorOptions: StartOptions = {}): LocalRuntimeFixture {
  let emulator: Emulator | undefined;
  const started: Stoppable[] = [];
  const events: LocalEvent[] = [];

  beforeAll(async () => {
    emulator = await startEmulator(emulatorOptions);
  });
  afterAll(async () => {
    await emulator?.stop();
  });
  afterEach(async () => {
    // Each runtime's Slack stand-in and timers; the shared emulator stays up, with nothing left in it.
    for (const runtime of started.splice(0).reverse()) await runtime.stop();
    events.length = 0;
    await emulator?.reset();
  });

  const running = () => {
    if (!emulator) throw new Error('the emulator is not running: use it inside a test or hook of the file that called useLocalRuntime()');
    return emulator;
  };
  const stopAfter = <T extends Stoppable>(runtime: T) => {
    started.push(runtime);
    return runtime;
  };

  return {
    emulator: running,
    start: async (options = {}) => stopAfter(await LocalRuntime.start({ timeScale: 0.001, onEvent: (e) => events.push(e), ...defaults, ...options, emulator: running() })),
    stopAfter,
    events,
  };
}
