/**
 * The polling baseline: Cutover's own definition, changed in memory so a bake waits the way polling
 * deployers wait: a Wait of N seconds, then a check of the alarms, again and again until the bake's length
 * has passed. Everything else (prepare, deploy, shifts, rollback, the checks on entering every step) stays
 * exactly as it is, so the two variants differ only in how a bake waits.
 *
 * The bake is found by what the plan does, not by its name: the state the step-kind Choice sends `bake`
 * steps to. It must be a `.waitForTaskToken` Task with a `States.Timeout` catch (the end of the bake). The
 * alarm check is the one Task whose resource is `${CheckAlarmsFunctionArn}`; the loop uses a copy of it
 * (same timeout, retries and catches), so an alarm seen by a poll rolls back exactly as it does elsewhere.
 *
 * The loop, per bake of S seconds polled every N seconds (S/N rounded up = P polls):
 *
 *   <Bake> (Pass: elapsed 0) → <Bake>: wait Ns → <Bake>: count (Pass: elapsed += N) → <Bake> over? (Choice)
 *        ↑ elapsed < S                                                           elapsed ≥ S → bake's timeout target
 *        └──────────── <Bake>: check alarms (Task) ←─────────────────────────────┘
 *
 * The last poll leaves through the bake's own exit, which already checks the alarms ("Check alarms" after
 * "Step done"), so a bake of S seconds checks them exactly every N seconds: P-1 checks inside the loop and
 * one after it, as many as a polling deployer makes. Per bake: 1 + 3P + (P-1) states entered.
 */

/** A state of an ASL definition, loosely typed: only the fields the transform reads or writes. */
type State = Record<string, unknown> & { Type: string };

interface Definition {
  StartAt: string;
  States: Record<string, State>;
  [key: string]: unknown;
}

/** The placeholder of the alarm-check function's ARN in the definition. */
export const CHECK_ALARMS_RESOURCE = '${CheckAlarmsFunctionArn}';

/** Names of the states the transform adds for a bake state named `bake`. */
export function pollingStateNames(bake: string, intervalSeconds: number) {
  return {
    start: bake,
    wait: `${bake}: wait ${intervalSeconds}s`,
    count: `${bake}: count`,
    over: `${bake} over?`,
    check: `${bake}: check alarms`,
  } as const;
}

/** What the transform found in the definition. */
export interface BakeShape {
  /** Name of the bake state (the target of the plan's `bake` steps). */
  readonly bake: string;
  /** Where a bake goes when its time is up (its `States.Timeout` catch). */
  readonly next: string;
  /** Where the bake's timeout catch puts its result: the loop keeps its counter there. */
  readonly resultPath: string;
  /** The path of the bake's length in seconds (its `TimeoutSecondsPath`). */
  readonly secondsPath: string;
  /** Name of the alarm-check Task the loop copies. */
  readonly check: string;
}

/** Finds the bake state and the alarm check in a definition; throws naming what is missing. */
export function findBake(definition: Definition): BakeShape {
  const states = definition.States;
  const bakeTargets = Object.values(states)
    .filter((s) => s.Type === 'Choice')
    .flatMap((s) => (s.Choices as Array<Record<string, unknown>>) ?? [])
    .filter((c) => c.StringEquals === 'bake' && typeof c.Variable === 'string' && /\.kind$/.test(c.Variable))
    .map((c) => String(c.Next));
  const unique = [...new Set(bakeTargets)];
  if (unique.length !== 1) throw new Error(`polling variant: expected one state that bake steps go to, found ${unique.length}`);
  const bake = unique[0]!;
  const state = states[bake];
  if (state?.Type !== 'Task' || !String(state.Resource).endsWith('.waitForTaskToken')) {
    throw new Error(`polling variant: the bake state "${bake}" is not a .waitForTaskToken Task`);
  }
  const secondsPath = state.TimeoutSecondsPath;
  if (typeof secondsPath !== 'string') throw new Error(`polling variant: the bake state "${bake}" has no TimeoutSecondsPath (the bake's length)`);
  const timeout = ((state.Catch as Array<Record<string, unknown>>) ?? []).find((c) => (c.ErrorEquals as string[]).includes('States.Timeout'));
  if (!timeout || typeof timeout.Next !== 'string') throw new Error(`polling variant: the bake state "${bake}" has no States.Timeout catch (the end of the bake)`);
  // The alarm check the bake's end leads to (through the Passes between): the one the loop copies. Another
  // Task of the same function elsewhere (the check before a jump to 100%) is not the bake's.
  let check: string | undefined = timeout.Next;
  for (let hops = 0; check && !(states[check]?.Type === 'Task' && states[check]?.Resource === CHECK_ALARMS_RESOURCE); hops++) {
    check = hops < 5 && states[check]?.Type === 'Pass' ? String(states[check]!.Next) : undefined;
  }
  if (!check) throw new Error(`polling variant: the bake's end does not lead to a Task with Resource ${CHECK_ALARMS_RESOURCE} (the alarm check)`);
  return { bake, next: timeout.Next, resultPath: String(timeout.ResultPath ?? '$.wait'), secondsPath, check };
}

/**
 * Returns the polling variant of a definition (text in, text out; placeholders kept): the bake waits by
 * polling every `intervalSeconds` instead of on a task token.
 *
 * @example
 * const text = pollingVariant(readRolloutDefinition(), 10);
 * new LocalStepFunctions(functions, { definition: text, timeScale: 0.01 });
 */
export function pollingVariant(definitionText: string, intervalSeconds: number): string {
  if (!Number.isInteger(intervalSeconds) || intervalSeconds < 1) throw new Error('polling variant: intervalSeconds must be an integer >= 1');
  const definition = JSON.parse(definitionText) as Definition;
  const shape = findBake(definition);
  const names = pollingStateNames(shape.bake, intervalSeconds);
  const taken = Object.values(names).filter((n) => n !== shape.bake && n in definition.States);
  if (taken.length) throw new Error(`polling variant: the definition already has states named ${taken.join(', ')}`);
  const counter = (elapsed: string | number) => ({
    [typeof elapsed === 'number' ? 'elapsed' : 'elapsed.$']: elapsed,
    interval: intervalSeconds,
    'seconds.$': typeof elapsed === 'number' ? shape.secondsPath : `${shape.resultPath}.seconds`,
  });
  const check = structuredClone(definition.States[shape.check]!);
  const added: Record<string, State> = {
    [names.start]: {
      Type: 'Pass',
      Comment: `Polling baseline (benchmark only): wait ${intervalSeconds} s, check the alarms, until the bake's length has passed.`,
      Parameters: counter(0),
      ResultPath: shape.resultPath,
      Next: names.wait,
    },
    [names.wait]: { Type: 'Wait', Seconds: intervalSeconds, Next: names.count },
    [names.count]: {
      Type: 'Pass',
      Parameters: counter(`States.MathAdd(${shape.resultPath}.elapsed, ${intervalSeconds})`),
      ResultPath: shape.resultPath,
      Next: names.over,
    },
    [names.over]: {
      Type: 'Choice',
      Choices: [{ Variable: `${shape.resultPath}.elapsed`, NumericGreaterThanEqualsPath: `${shape.resultPath}.seconds`, Next: shape.next }],
      Default: names.check,
    },
    [names.check]: { ...check, Next: names.wait },
  };
  const States: Record<string, State> = {};
  for (const [name, state] of Object.entries(definition.States)) {
    if (name === shape.bake) Object.assign(States, added);
    else States[name] = state;
  }
  return JSON.stringify({ ...definition, States }, null, 2);
}

/** States entered by one bake of `bakeSeconds` in the polling variant (see the module comment). */
export function pollingStatesPerBake(bakeSeconds: number, intervalSeconds: number): number {
  const polls = Math.ceil(bakeSeconds / intervalSeconds);
  return 1 + 3 * polls + (polls - 1);
}
