/**
 * Local Step Functions: the real `state-machines/rollout.asl.json` executed by aws-local-stepfunctions,
 * each Task routed to the real handler in-process (with Lambda's JSON round trip), and the Step Functions
 * API calls the handlers make (StartExecution, SendTaskSuccess/Failure) served by this class, behind the
 * same {@link Executions} port the AWS adapter implements.
 *
 * `.waitForTaskToken` has no semantics of its own in aws-local-stepfunctions: here the Task's override
 * mints a real token per invocation, hands it to the function, and waits until SendTaskSuccess/Failure for
 * that token or the state's timeout (scaled by `timeScale`, raised as `States.Timeout` as on AWS).
 */
import './polyfills';
import { randomUUID } from 'node:crypto';
import { StateMachine } from 'aws-local-stepfunctions';
import type { Executions } from '../../functions/core/ports';
import { functionOfPlaceholder, placeholders, readRolloutDefinition, substitute } from '../../state-machines/definition';

/** A function as Lambda would run it: event in, result out (or a thrown error with a `name`). */
export type LocalFunction = (event: unknown) => Promise<unknown>;

export interface LocalEvent {
  readonly execution: string;
  readonly type: string;
  readonly state?: string;
  /** Task, Choice, Pass, Wait, Fail, Succeed... */
  readonly stateType?: string;
  readonly output?: unknown;
  readonly error?: string;
  readonly cause?: string;
  readonly at: number;
}

/** One Lambda invocation made by the runner, as Lambda would bill it. */
export interface LocalInvocation {
  /** The function's folder name (`check-alarms`). */
  readonly fn: string;
  /** `Date.now()` when the invocation began. */
  readonly at: number;
  /** How long the function ran, in ms (`performance.now()` resolution). A waiting Task's wait is not included. */
  readonly ms: number;
  /** The error name, if the function threw. */
  readonly error?: string;
}

export interface LocalRunnerOptions {
  /**
   * The definition to run, as text with its `${Placeholders}` (each `${XxxFunctionArn}` must name a local
   * function). For experiments such as the benchmark's polling baseline; what AWS runs is the file.
   * @default the text of state-machines/rollout.asl.json
   */
  readonly definition?: string;
  /** Called after every Lambda invocation the runner makes (Task states; not the bus's deliveries). */
  readonly onInvoke?: (invocation: LocalInvocation) => void;
  /** Multiplies every waiting Task's timeout (bakes) and every Wait state. 0.001 turns 5 minutes into 0.3 s. @default 1 */
  readonly timeScale?: number;
  /** Fixed pause in ms before a retry, instead of the definition's backoff. @default 10 */
  readonly retryMs?: number;
  /** Called for every state entered/exited/failed and the end of every execution. */
  readonly onEvent?: (event: LocalEvent) => void;
  /**
   * Called when an execution ends, with the `Step Functions Execution Status Change` event EventBridge
   * would deliver (every end status; the rule decides which reach a function).
   */
  readonly onExecutionEnded?: (event: Record<string, unknown>) => void;
  /** Region and account for the ARNs it makes up. */
  readonly region?: string;
  readonly account?: string;
}

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED';

/** One local execution, as DescribeExecution and GetExecutionHistory would show it. */
export interface LocalExecution {
  readonly name: string;
  readonly arn: string;
  readonly input: unknown;
  status: ExecutionStatus;
  /** Names of the states entered, in order. */
  readonly states: string[];
  readonly events: LocalEvent[];
  /** The state the execution ended in. */
  endState?: string;
  error?: string;
  cause?: string;
  output?: unknown;
  readonly startedAt: Date;
  stoppedAt?: Date;
  readonly done: Promise<LocalExecution>;
}

const TOKEN_PLACEHOLDER = 'LOCAL-TASK-TOKEN-PLACEHOLDER';

/** Definitions (as run here) already validated in this process. */
const VALIDATED = new Set<string>();

/** An Error carrying a Lambda/Step Functions error name, as the engine matches Retry/Catch by `name`. */
function namedError(name: string, message: string): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

/** Reads `$.a.b.c` from a value. Only plain dotted paths: all the definition uses for timeouts. */
function readPath(value: unknown, path: string): unknown {
  return path
    .replace(/^\$\.?/, '')
    .split('.')
    .filter(Boolean)
    .reduce<unknown>((v, key) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined), value);
}

function replaceToken(value: unknown, token: string): unknown {
  if (value === TOKEN_PLACEHOLDER) return token;
  if (Array.isArray(value)) return value.map((v) => replaceToken(v, token));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replaceToken(v, token)]));
  return value;
}

/**
 * Step Functions resolves a Task's `TimeoutSecondsPath` against the state's input; aws-local-stepfunctions
 * resolves it against the input after `Parameters`. The definition passes the whole state input to the
 * function as one Payload field (`"state.$": "$"`), so the same value sits under that field locally: the
 * runner points its in-memory copy of the path there. Any other shape is refused rather than guessed.
 */
export function localTimeoutPath(stateName: string, state: Record<string, unknown>): string {
  const path = String(state.TimeoutSecondsPath);
  const payload = (state.Parameters as { Payload?: Record<string, unknown> } | undefined)?.Payload;
  const key = payload ? Object.keys(payload).find((k) => k.endsWith('.$') && payload[k] === '$') : undefined;
  if (!key) throw new Error(`${stateName}: TimeoutSecondsPath needs the whole state input in Parameters.Payload ("<name>.$": "$") to run locally`);
  return `$.Payload.${key.slice(0, -2)}${path.slice(1)}`;
}

export class LocalStepFunctions implements Executions {
  readonly stateMachineArn: string;
  readonly executions = new Map<string, LocalExecution>();
  /** Task states that are waiting for a token right now, by token. */
  private readonly waiting = new Map<string, { resolve: (v: unknown) => void; reject: (e: Error) => void; execution: string; state: string }>();
  private readonly definition: Record<string, unknown>;
  private readonly overrides: Record<string, (input: unknown) => Promise<unknown>> = {};
  private readonly waitOverrides: Record<string, number> = {};
  private readonly retryOverrides: Record<string, number> = {};
  private readonly options: Required<Omit<LocalRunnerOptions, 'onEvent' | 'onInvoke' | 'definition' | 'onExecutionEnded'>> & Pick<LocalRunnerOptions, 'onEvent' | 'onInvoke' | 'onExecutionEnded'>;
  /** How to stop each running execution (StopExecution). */
  private readonly aborts = new Map<string, () => void>();
  /** Lambda invocations per function, as the cost figures need them. */
  readonly invocations: Record<string, number> = {};

  constructor(functions: Readonly<Record<string, LocalFunction>>, options: LocalRunnerOptions = {}) {
    const { definition: text = readRolloutDefinition(), ...rest } = options;
    this.options = { timeScale: 1, retryMs: 10, region: 'us-east-1', account: '123456789012', ...rest };
    const { region, account } = this.options;
    this.stateMachineArn = `arn:aws:states:${region}:${account}:stateMachine:cutover-rollout`;
    const arnOf = (fn: string) => `arn:aws:lambda:${region}:${account}:function:cutover-${fn}`;
    const values = Object.fromEntries(placeholders(text).map((p) => [p, arnOf(functionOfPlaceholder(p))]));
    this.definition = JSON.parse(substitute(text, values));
    const byArn = new Map(placeholders(text).map((p) => [arnOf(functionOfPlaceholder(p)), functionOfPlaceholder(p)]));

    const states = this.definition.States as Record<string, Record<string, unknown>>;
    for (const [name, state] of Object.entries(states)) {
      if (state.Type === 'Wait') {
        const seconds = typeof state.Seconds === 'number' ? state.Seconds : undefined;
        // SecondsPath waits are scaled at run time by the override below (see run()).
        if (seconds !== undefined) this.waitOverrides[name] = seconds * 1000 * this.options.timeScale;
      }
      if (state.Type !== 'Task') continue;
      if (typeof state.TimeoutSecondsPath === 'string') state.TimeoutSecondsPath = localTimeoutPath(name, state);
      if (Array.isArray(state.Retry)) this.retryOverrides[name] = this.options.retryMs;
      const resource = String(state.Resource);
      if (resource.endsWith('.waitForTaskToken')) {
        const fn = byArn.get(String((state.Parameters as Record<string, unknown>)?.FunctionName));
        if (!fn || !functions[fn]) throw new Error(`no local function for the waiting state ${name}`);
        this.overrides[name] = (input) => this.invokeAndWait(name, fn, functions[fn]!, input, state);
      } else {
        const fn = byArn.get(resource);
        if (!fn || !functions[fn]) throw new Error(`no local function for state ${name} (${resource})`);
        this.overrides[name] = (input) => this.invoke(fn, functions[fn]!, input);
      }
    }
    // Throws on an invalid definition (as it runs here), before any execution; once per definition and
    // process, as validating takes most of a runner's start-up.
    const asRun = JSON.stringify(this.definition);
    if (!VALIDATED.has(asRun)) {
      new StateMachine(this.definition as never, { validationOptions: { checkPaths: true, checkArn: true } });
      VALIDATED.add(asRun);
    }
  }

  /** Runs a function as Lambda would: JSON in, JSON out, errors reduced to name + message. */
  private async invoke(fnName: string, fn: LocalFunction, input: unknown): Promise<unknown> {
    this.invocations[fnName] = (this.invocations[fnName] ?? 0) + 1;
    const at = Date.now();
    const t0 = performance.now();
    try {
      const result = await fn(JSON.parse(JSON.stringify(input ?? null)));
      this.options.onInvoke?.({ fn: fnName, at, ms: performance.now() - t0 });
      return result === undefined ? null : JSON.parse(JSON.stringify(result));
    } catch (error) {
      const e = error as { name?: string; message?: string };
      this.options.onInvoke?.({ fn: fnName, at, ms: performance.now() - t0, error: e?.name ?? 'Error' });
      throw namedError(e?.name ?? 'Error', e?.message ?? String(error));
    }
  }

  private async invokeAndWait(stateName: string, fnName: string, fn: LocalFunction, input: unknown, state: Record<string, unknown>): Promise<unknown> {
    const token = `local-${randomUUID()}`;
    const params = input as { Payload?: unknown };
    const payload = replaceToken(params.Payload, token);
    const execution = String(readPath(payload, '$.state.rolloutId') ?? '');
    let seconds = typeof state.TimeoutSeconds === 'number' ? state.TimeoutSeconds : undefined;
    if (seconds === undefined && typeof state.TimeoutSecondsPath === 'string') {
      const v = readPath(input, state.TimeoutSecondsPath);
      seconds = typeof v === 'number' ? v : undefined;
    }
    const { promise, resolve, reject } = Promise.withResolvers<unknown>();
    // The engine may stop listening (its own timeout, an abort): never leave a rejection unhandled.
    promise.catch(() => undefined);
    this.waiting.set(token, { resolve, reject, execution, state: stateName });
    const timer = seconds === undefined ? undefined : setTimeout(() => reject(namedError('States.Timeout', `${stateName} timed out after ${seconds} s`)), seconds * 1000 * this.options.timeScale);
    try {
      await this.invoke(fnName, fn, payload);
      return await promise;
    } finally {
      if (timer) clearTimeout(timer);
      this.waiting.delete(token);
    }
  }

  /** Tokens waiting now, with the execution and state they belong to. */
  waitingTasks(): Array<{ token: string; execution: string; state: string }> {
    return [...this.waiting.entries()].map(([token, w]) => ({ token, execution: w.execution, state: w.state }));
  }

  async start(name: string, input: unknown): Promise<{ executionArn: string; alreadyStarted: boolean }> {
    const existing = this.executions.get(name);
    if (existing) return { executionArn: existing.arn, alreadyStarted: true };
    const arn = `${this.stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
    const states: string[] = [];
    const events: LocalEvent[] = [];
    const startedAt = new Date();
    // Validated once, in the constructor: validating takes most of a start's time.
    const machine = new StateMachine(this.definition as never, { validationOptions: { noValidate: true } });
    // SecondsPath waits: scale whatever the state's input says, keeping the definition untouched.
    const waitOverrides = { ...this.waitOverrides };
    const wait = Object.entries(this.definition.States as Record<string, Record<string, unknown>>).filter(([, s]) => s.Type === 'Wait' && typeof s.SecondsPath === 'string');
    const seconds = (path: string) => {
      const v = readPath(input, path);
      return typeof v === 'number' ? v : 0;
    };
    // A path the input does not hold yet (one a state sets later, such as a hook's delay) waits as the
    // engine reads it at run time, unscaled.
    for (const [stateName, s] of wait) if (typeof readPath(input, String(s.SecondsPath)) === 'number') waitOverrides[stateName] = seconds(String(s.SecondsPath)) * 1000 * this.options.timeScale;

    const run = machine.run(JSON.parse(JSON.stringify(input)), {
      overrides: {
        taskResourceLocalHandlers: this.overrides as never,
        waitTimeOverrides: waitOverrides,
        retryIntervalOverrides: this.retryOverrides,
      },
      context: {
        Execution: { Id: arn, Name: name, Input: input as never, StartTime: startedAt.toISOString(), RoleArn: 'arn:aws:iam::123456789012:role/local' },
        StateMachine: { Id: this.stateMachineArn, Name: 'cutover-rollout' },
        Task: { Token: TOKEN_PLACEHOLDER },
      },
    });

    const record: LocalExecution = {
      name,
      arn,
      input,
      status: 'RUNNING',
      states,
      events,
      startedAt,
      done: undefined as unknown as Promise<LocalExecution>,
    };
    const emit = (e: Omit<LocalEvent, 'execution' | 'at'>) => {
      const event = { ...e, execution: name, at: Date.now() };
      events.push(event);
      this.options.onEvent?.(event);
    };
    const logs = (async () => {
      for await (const e of run.eventLogs as AsyncIterable<Record<string, unknown>>) {
        const state = e.state as { name?: string; type?: string; output?: unknown } | undefined;
        if (e.type === 'StateEntered' && state?.name) {
          states.push(state.name);
          emit({ type: 'StateEntered', state: state.name, stateType: state.type });
        } else if (e.type === 'StateExited') {
          emit({ type: 'StateExited', state: state?.name, stateType: state?.type, output: state?.output });
        } else if (e.type === 'StateFailed' || e.type === 'StateRetried' || e.type === 'StateCaught') {
          emit({ type: String(e.type), state: state?.name, stateType: state?.type, error: e.Error as string | undefined, cause: e.Cause as string | undefined });
        }
      }
    })();
    (record as { done: Promise<LocalExecution> }).done = run.result
      .then(
        async (output) => {
          await logs;
          record.status = 'SUCCEEDED';
          record.output = output;
          return record;
        },
        async (error: { name?: string; message?: string; cause?: unknown }) => {
          await logs.catch(() => undefined);
          if (record.status === 'ABORTED') return record;
          record.status = 'FAILED';
          const inner = (error?.cause ?? error) as { name?: string; message?: string };
          record.error = inner?.name ?? 'Error';
          record.cause = inner?.message ?? String(error);
          return record;
        },
      )
      .then((r) => {
        r.stoppedAt = new Date();
        r.endState = states[states.length - 1];
        this.aborts.delete(name);
        emit({ type: r.status === 'SUCCEEDED' ? 'ExecutionSucceeded' : r.status === 'ABORTED' ? 'ExecutionAborted' : 'ExecutionFailed', state: r.endState, error: r.error, cause: r.cause });
        this.options.onExecutionEnded?.({
          version: '0',
          id: randomUUID(),
          'detail-type': 'Step Functions Execution Status Change',
          source: 'aws.states',
          account: this.options.account,
          time: r.stoppedAt.toISOString(),
          region: this.options.region,
          resources: [arn],
          detail: {
            executionArn: arn,
            stateMachineArn: this.stateMachineArn,
            name,
            status: r.status,
            startDate: startedAt.getTime(),
            stopDate: r.stoppedAt.getTime(),
            input: JSON.stringify(input),
            error: r.error ?? null,
            cause: r.cause ?? null,
          },
        });
        return r;
      });
    this.aborts.set(name, () => {
      record.status = 'ABORTED';
      record.error = 'States.Aborted';
      record.cause = 'stopped by StopExecution';
      run.abort();
    });
    this.executions.set(name, record);
    return { executionArn: arn, alreadyStarted: false };
  }

  async status(rolloutId: string): Promise<ExecutionStatus | 'UNKNOWN'> {
    return this.executions.get(rolloutId)?.status ?? 'UNKNOWN';
  }

  /**
   * StopExecution: the execution ends ABORTED at once, whatever state it is in. As on AWS, a function it
   * is running is not stopped (it finishes its call), and its waiting tasks' tokens become invalid.
   */
  stop(name: string): boolean {
    const abort = this.aborts.get(name);
    if (!abort) return false;
    this.aborts.delete(name);
    for (const [token, w] of this.waiting) if (w.execution === name) this.waiting.delete(token);
    abort();
    return true;
  }

  async succeedTask(taskToken: string, output: unknown): Promise<boolean> {
    const w = this.waiting.get(taskToken);
    if (!w) return false;
    w.resolve(JSON.parse(JSON.stringify(output ?? null)));
    return true;
  }

  async failTask(taskToken: string, error: string, cause: string): Promise<boolean> {
    const w = this.waiting.get(taskToken);
    if (!w) return false;
    w.reject(namedError(error, cause));
    return true;
  }

  /** Waits for an execution to end. */
  async wait(name: string): Promise<LocalExecution> {
    const e = this.executions.get(name);
    if (!e) throw new Error(`no local execution named ${name}`);
    return e.done;
  }

  /** Waits for every execution started so far (and any they start) to end. */
  async waitAll(): Promise<LocalExecution[]> {
    let seen = -1;
    while (seen !== this.executions.size) {
      seen = this.executions.size;
      await Promise.all([...this.executions.values()].map((e) => e.done));
    }
    return [...this.executions.values()];
  }
}
