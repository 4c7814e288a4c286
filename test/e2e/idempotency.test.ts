/**
 * Idempotency, through the real handlers on moto: Lambda and Step Functions may run a function twice with
 * the same input (a retry after a lost response, a duplicate event). Each handler here runs twice on every
 * invocation of a whole rollout; the emulator's state after the second run must equal the state after the
 * first, and the rollout must end exactly as it does when each runs once, with no duplicate revision.
 */
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, it } from 'vitest';
import { clientConfig } from '../../infra/local/environment';
import type { LocalFunction } from '../../infra/local/sfn';
import type { LocalRuntime } from '../../infra/local/runtime';
import { baseline, type Scenario } from './fault-matrix';
import { assertInvariants, observe, runScenario, type Observed } from './reliability';
import { useLocalRuntime } from './emulator';

const local = useLocalRuntime();

/** Every item of Cutover's table (locks, history, steps, queue, service state), by key. */
async function tableItems(rt: LocalRuntime): Promise<unknown[]> {
  const ddb = new DynamoDBClient(clientConfig(rt.emulator.dynamodbEndpoint));
  try {
    const out = await ddb.send(new ScanCommand({ TableName: rt.env.tableName }));
    return (out.Items ?? []).map((item) => unmarshall(item)).sort((a, b) => `${a.pk}${a.sk}`.localeCompare(`${b.pk}${b.sk}`));
  } finally {
    ddb.destroy();
  }
}

/** The emulator's state: the end state plus every table item. */
async function state(rt: LocalRuntime): Promise<unknown> {
  return comparable({ ...(await observe(rt)), items: await tableItems(rt) });
}

/**
 * The state with the times a second run rewrites taken out (when a wait began, when the rollout ended,
 * when an abort or a step was recorded, also inside keys): a later clock is not a different state; a second
 * item is. So is the lock's fencing generation: a second scale-down takes the lock once more, and a new
 * holder is a new generation by design (the ownership protocol); what it changed must still be the same.
 */
function comparable(value: Observed | Record<string, unknown>): unknown {
  return JSON.parse(
    JSON.stringify(value, (key, v: unknown) =>
      ['since', 'until', 'endedAt', 'at', 'leaseUntil'].includes(key)
        ? '<time>'
        : key === 'generation'
          ? '<generation>'
          : typeof v === 'string'
            ? v.replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, '<time>')
            : v,
    ),
  );
}

/** Every function of the rollout's path run as a state-machine Task, with the scenario in which it runs. */
const TASK_HANDLERS: ReadonlyArray<readonly [string, Scenario]> = [
  ['prepare', 'rollout'],
  ['register', 'rollout'],
  ['deploy', 'rollout'],
  ['check-steady', 'rollout'],
  ['check-alarms', 'rollout'],
  ['shift', 'rollout'],
  ['bake', 'rollout'],
  ['finalize', 'rollout'],
  ['retire', 'rollout'],
  ['rollback', 'rollback'],
];

const outcome = (p: Promise<unknown>) =>
  p.then(
    (result) => ({ result, error: undefined }),
    (error: Error) => ({ result: undefined, error }),
  );

describe('every handler run twice with the same input', () => {
  it.each(TASK_HANDLERS)('%s leaves the same state as when it runs once, and the rollout ends the same', async (fn, scenario) => {
    // Arrange: run `fn` twice per invocation, reading the emulator's state after each run
    let runtime: LocalRuntime | undefined;
    const pairs: Array<{ first: unknown; second: unknown }> = [];
    const twice = (name: string, run: LocalFunction): LocalFunction =>
      name !== fn
        ? run
        : async (event) => {
            const input = JSON.stringify(event);
            const once = await outcome(run(JSON.parse(input)));
            const first = { state: await state(runtime!), error: once.error?.name };
            const again = await outcome(run(JSON.parse(input)));
            pairs.push({ first, second: { state: await state(runtime!), error: again.error?.name } });
            if (again.error) throw again.error;
            return again.result;
          };

    // Act
    const run = await runScenario(local.emulator(), scenario, undefined, { instrument: { invoke: twice }, onStart: (rt) => (runtime = rt) });
    local.stopAfter(run.runtime);
    const end = await observe(run.runtime);

    // Assert
    expect(pairs.length).toBeGreaterThan(0);
    for (const { first, second } of pairs) expect(second).toEqual(first);
    assertInvariants(run, end, baseline(scenario));
  });

  // The event-driven functions start work that goes on by itself (an execution, a rollback), so the state
  // between two deliveries is a moving target: what must hold is that the second delivery starts nothing more.
  it.each([
    ['start', 'rollout', (second: unknown) => expect(second).toMatchObject({ started: [], duplicates: [{ service: 'checkout' }] })],
    ['alarm', 'rollback', (second: unknown) => expect((second as { aborted: Array<{ resumedBake: boolean }> }).aborted.every((a) => !a.resumedBake)).toBe(true)],
  ] as const)('%s delivered twice starts one thing, and the rollout ends the same', async (fn, scenario, secondDidNothing) => {
    // Arrange
    const seconds: unknown[] = [];
    const twice = (name: string, run: LocalFunction): LocalFunction =>
      name !== fn
        ? run
        : async (event) => {
            const input = JSON.stringify(event);
            const first = await run(JSON.parse(input));
            seconds.push(await run(JSON.parse(input)));
            return first;
          };

    // Act
    const run = await runScenario(local.emulator(), scenario, undefined, { instrument: { invoke: twice } });
    local.stopAfter(run.runtime);
    const end = await observe(run.runtime);

    // Assert
    expect(seconds).toHaveLength(1);
    secondDidNothing(seconds[0]);
    assertInvariants(run, end, baseline(scenario));
  });
});
