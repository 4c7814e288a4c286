/**
 * Fault injection on the local runtime: make a chosen AWS operation fail, as seen by a chosen function, the
 * way AWS would make it fail. Wired through the runtime's `instrument` hooks; nothing in `functions/`
 * knows about it, and without a fault armed every call passes through untouched.
 *
 * Where each kind of fault is injected:
 * - `throttle`, `server-error`, `timeout`: beneath the SDK's own retry, on every HTTP attempt of the faulted
 *   call, as an error of the shape the SDK raises (`ThrottlingException` / `Throttling`, a 503, a
 *   `TimeoutError`). The SDK's real retry strategy classifies and retries it (3 attempts, delays shortened
 *   to 1 ms here); when it gives up, the port's edge turns it into `AwsTransient`, which the state machine retries.
 * - `crash`: the call goes through and takes effect, then the function's process dies before it returns:
 *   every later call in that invocation fails without reaching the emulator, and the invocation fails with
 *   a Lambda error (default `Lambda.ServiceException`, one of the names the definition's Retry lists hold).
 *
 * Step Functions calls (`states:StartExecution`, `states:SendTaskSuccess`, `states:SendTaskFailure`) go to the
 * local runner, not to an SDK client: they are faulted at the port, with the error the AWS adapter raises
 * once the SDK has given up (`AwsTransient`, translated by the same `edge`).
 *
 * @example
 * const faults = new FaultInjector();
 * const runtime = await LocalRuntime.start({ instrument: faults.instrumentation });
 * faults.arm({ fn: 'deploy', operation: 'ecs:UpdateService', kind: 'throttle', mode: 'once' });
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { edge } from '../../functions/aws/edge';
import type { Executions } from '../../functions/core/ports';
import type { LocalInstrumentation, LocalSdkClient } from './runtime';
import type { LocalFunction } from './sfn';

/** How the operation fails. */
export type FaultKind = 'throttle' | 'server-error' | 'timeout' | 'crash';
/** `once`: only the first matching call fails; `exhausted`: every matching call fails, so every retry does too. */
export type FaultMode = 'once' | 'exhausted';

export const FAULT_KINDS: readonly FaultKind[] = ['throttle', 'server-error', 'timeout', 'crash'];
export const FAULT_MODES: readonly FaultMode[] = ['once', 'exhausted'];

/** One fault: which operation, as called by which function, fails how and how often. */
export interface Fault {
  /** The function whose calls fail (`deploy`), as named under `functions/`. */
  readonly fn: string;
  /** IAM-style operation name: `ecs:UpdateService`, `dynamodb:UpdateItem`, `states:StartExecution`. */
  readonly operation: string;
  readonly kind: FaultKind;
  readonly mode: FaultMode;
  /**
   * The Lambda error a `crash` ends the invocation with.
   * @default 'Lambda.ServiceException'
   */
  readonly crashError?: string;
}

/** One call a function made, as the injector saw it. */
export interface ObservedCall {
  readonly fn: string;
  readonly operation: string;
  /** HTTP attempts the SDK made (Step Functions calls: 1). */
  attempts: number;
  /** The fault that hit it, if any. */
  injected?: FaultKind;
}

/** IAM service prefix of each SDK client the runtime builds. */
const SERVICE_OF_CLIENT: Readonly<Record<string, string>> = {
  ECSClient: 'ecs',
  ElasticLoadBalancingV2Client: 'elasticloadbalancing',
  CloudWatchClient: 'cloudwatch',
  DynamoDBClient: 'dynamodb',
  ECRClient: 'ecr',
};

/** `ECSClient` + `UpdateServiceCommand` → `ecs:UpdateService` (the document client sends `UpdateItemCommand`). */
export function operationName(clientName: string, commandName: string): string {
  return `${SERVICE_OF_CLIENT[clientName] ?? clientName.replace(/Client$/, '').toLowerCase()}:${commandName.replace(/Command$/, '')}`;
}

/** The throttling error each service actually answers with. */
const THROTTLE_NAME: Readonly<Record<string, string>> = {
  ecs: 'ThrottlingException',
  elasticloadbalancing: 'Throttling',
  cloudwatch: 'Throttling',
  dynamodb: 'ThrottlingException',
  ecr: 'ThrottlingException',
  states: 'ThrottlingException',
};

/** An error shaped as the SDK raises it for this kind of failure of `operation`. */
export function sdkFailure(kind: Exclude<FaultKind, 'crash'>, operation: string): Error {
  const service = operation.split(':')[0] ?? '';
  const make = (name: string, message: string, extra: Record<string, unknown>) => Object.assign(new Error(`${message} (injected)`), { name, ...extra });
  switch (kind) {
    case 'throttle':
      return make(THROTTLE_NAME[service] ?? 'ThrottlingException', 'Rate exceeded', { $fault: 'client', $metadata: { httpStatusCode: 400 } });
    case 'server-error':
      return make('ServiceUnavailable', 'Service Unavailable', { $fault: 'server', $metadata: { httpStatusCode: 503 } });
    case 'timeout':
      // What @smithy/node-http-handler raises when a socket times out: no HTTP status, name TimeoutError.
      return make('TimeoutError', 'Connection timed out after 1000 ms', { code: 'ETIMEDOUT' });
  }
}

/** An Error with a Lambda/Step Functions error name, as the runner matches Retry/Catch by `name`. */
function lambdaError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name });
}

/** What the injector knows about the invocation a call belongs to. */
interface Invocation {
  readonly fn: string;
  /** Set when a crash fault hit: the process is gone. */
  dead?: { operation: string; error: string };
}

/** Per-call bookkeeping, carried on the SDK's handler context from the outer middleware to the inner one. */
const CALL = Symbol('cutover-fault-call');

/**
 * Injects the armed fault into the local runtime it instruments, and records every call the functions make
 * (which is how the matrix knows which operations each function uses).
 */
export class FaultInjector {
  private fault: Fault | undefined;
  private fired = 0;
  private readonly invocation = new AsyncLocalStorage<Invocation>();
  /** Every call made inside a function invocation, in order. */
  readonly calls: ObservedCall[] = [];

  /** The hooks to pass as `LocalRuntime.start({ instrument })`. */
  readonly instrumentation: LocalInstrumentation = {
    client: (client) => this.instrumentClient(client),
    executions: (executions) => this.wrapExecutions(executions),
    invoke: (fn, run) => this.wrapFunction(fn, run),
  };

  /** Arms one fault (replacing any other). */
  arm(fault: Fault): void {
    this.fault = fault;
    this.fired = 0;
  }

  /** No fault from now on. */
  disarm(): void {
    this.fault = undefined;
  }

  /** How many calls the armed fault has hit so far. */
  get hits(): number {
    return this.fired;
  }

  /** Whether the call about to be made is faulted; counts it if so. */
  private select(fn: string, operation: string): Fault | undefined {
    const f = this.fault;
    if (!f || f.fn !== fn || f.operation !== operation) return undefined;
    if (f.mode === 'once' && this.fired > 0) return undefined;
    this.fired += 1;
    return f;
  }

  private instrumentClient(client: LocalSdkClient): void {
    const stack = client.middlewareStack as unknown as {
      add(mw: (next: (args: unknown) => Promise<unknown>, context: Record<string | symbol, unknown>) => (args: unknown) => Promise<unknown>, options: Record<string, unknown>): void;
    };
    // Outermost, above the SDK's retry: one logical call. Decides the fault, and lets a crash take effect first.
    stack.add(
      (next, context) => async (args) => {
        const invocation = this.invocation.getStore();
        if (!invocation) return next(args); // the test reading the end state, not a function
        const operation = operationName(String(context.clientName), String(context.commandName));
        if (invocation.dead) throw lambdaError('Error', `${operation} not sent: the process died after ${invocation.dead.operation}`);
        const fault = this.select(invocation.fn, operation);
        const call: ObservedCall = { fn: invocation.fn, operation, attempts: 0, injected: fault?.kind };
        this.calls.push(call);
        context[CALL] = { call, fault };
        const output = await next(args).catch((error: unknown) => {
          if (fault?.kind !== 'crash') throw error;
          return error; // the call took effect (with a service error as its answer); the process dies all the same
        });
        if (fault?.kind === 'crash') {
          invocation.dead = { operation, error: fault.crashError ?? 'Lambda.ServiceException' };
          throw lambdaError('Error', `the ${invocation.fn} process died after ${operation} took effect (injected)`);
        }
        return output;
      },
      { step: 'initialize', name: 'cutoverFaultSelect', priority: 'high', override: true },
    );
    // Innermost, beneath the SDK's retry: every HTTP attempt of a faulted call fails.
    stack.add(
      (next, context) => async (args) => {
        const state = context[CALL] as { call: ObservedCall; fault?: Fault } | undefined;
        if (state) state.call.attempts += 1;
        if (state?.fault && state.fault.kind !== 'crash') throw sdkFailure(state.fault.kind, state.call.operation);
        return next(args);
      },
      { step: 'deserialize', name: 'cutoverFaultAttempt', priority: 'high', override: true },
    );
    // The SDK's own retry strategy (attempts, classification, retry quota), with its backoff cut to 1 ms so a
    // matrix of exhausted retries runs in seconds. The retry middleware reads the strategy on every call.
    const config = client.config as unknown as { retryStrategy: () => Promise<Record<string, unknown>> };
    const original = config.retryStrategy;
    config.retryStrategy = async () => {
      const strategy = await original();
      strategy.retryBackoffStrategy = { setDelayBase: () => undefined, computeNextBackoffDelay: () => 1 };
      return strategy;
    };
  }

  private wrapExecutions(executions: Executions): Executions {
    const call = async <T>(operation: string, run: () => Promise<T>): Promise<T> => {
      const invocation = this.invocation.getStore();
      if (!invocation) return run();
      if (invocation.dead) throw lambdaError('Error', `${operation} not sent: the process died after ${invocation.dead.operation}`);
      const fault = this.select(invocation.fn, operation);
      this.calls.push({ fn: invocation.fn, operation, attempts: 1, injected: fault?.kind });
      if (!fault) return run();
      if (fault.kind !== 'crash') return edge(operation, () => Promise.reject(sdkFailure(fault.kind as Exclude<FaultKind, 'crash'>, operation)));
      await run();
      invocation.dead = { operation, error: fault.crashError ?? 'Lambda.ServiceException' };
      throw lambdaError('Error', `the ${invocation.fn} process died after ${operation} took effect (injected)`);
    };
    return {
      start: (name, input) => call('states:StartExecution', () => executions.start(name, input)),
      succeedTask: (token, output) => call('states:SendTaskSuccess', () => executions.succeedTask(token, output)),
      failTask: (token, error, cause) => call('states:SendTaskFailure', () => executions.failTask(token, error, cause)),
      status: (rolloutId) => call('states:DescribeExecution', () => executions.status(rolloutId)),
    };
  }

  private wrapFunction(fn: string, run: LocalFunction): LocalFunction {
    return (event) => {
      const invocation: Invocation = { fn };
      return this.invocation.run(invocation, async () => {
        let result: unknown;
        let failure: unknown;
        let failed = false;
        try {
          result = await run(event);
        } catch (error) {
          failed = true;
          failure = error;
        }
        // A dead process returns nothing, whatever the handler did with the error it saw.
        if (invocation.dead) throw lambdaError(invocation.dead.error, `${fn}: the function's process died after ${invocation.dead.operation} took effect (injected fault)`);
        if (failed) throw failure;
        return result;
      });
    };
  }
}
