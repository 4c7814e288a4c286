/**
 * What an engineer reads in the Step Functions console: the execution's name says service and image, its
 * input is small and holds no secret, and every Task state's output carries a short `decision` (waits
 * ended by promote or resume included, and the rollback), on the real state machine and handlers.
 */
import { describe, expect, it } from 'vitest';
import { fireAlarm, pushAndDeliver, until } from '../../infra/local/demo';
import type { LocalRuntime } from '../../infra/local/runtime';
import type { LocalEvent, LocalExecution } from '../../infra/local/sfn';
import { readRolloutDefinition } from '../../state-machines/definition';
import { resultKeys } from '../../functions/read/status';
import { useLocalRuntime } from './emulator';

const definition = JSON.parse(readRolloutDefinition()) as { States: Record<string, { Type: string; ResultPath?: string }> };
const keys = resultKeys(definition);

const { start } = useLocalRuntime();

/** The decision each Task state wrote when it exited, in order. */
function taskDecisions(execution: LocalExecution): Array<{ state: string; decision: unknown }> {
  return execution.events
    .filter((e: LocalEvent) => e.type === 'StateExited' && e.stateType === 'Task' && e.state)
    .map((e) => ({ state: e.state!, decision: (e.output as Record<string, { decision?: unknown } | undefined>)[keys[e.state!]!]?.decision }));
}

const waitingIn = (rt: LocalRuntime, state: string) => () => rt.sfn.waitingTasks().some((t) => t.state === state);

/** The wait of that kind has recorded its task token on the lock: a command can end it now. */
const recorded = (rt: LocalRuntime, kind: 'bake' | 'gate' | 'hold') => async () => {
  const lock = await rt.ports.store.getLock('checkout');
  return lock?.wait?.kind === kind && lock.taskToken !== undefined;
};

/** Sends a slash command and returns what Slack would show. */
const slack = async (rt: LocalRuntime, text: string) => JSON.parse((await rt.slack(text)).body) as { text: string };

describe('the console view of an execution', () => {
  it('every Task state writes a short decision, including waits ended by promote and resume', async () => {
    // A bake and a manual gate that only an operator ends (an hour each, × 0.01), a pause in between.
    const rt = await start({
      timeScale: 0.01,
      services: [
        {
          service: {
            plan: {
              steps: [
                { kind: 'setWeight', weight: 10 },
                { kind: 'bake', seconds: 3600 },
                { kind: 'pause', timeoutSeconds: 3600 },
                { kind: 'setWeight', weight: 100 },
              ],
            },
          },
        },
      ],
    });
    const { executions } = await pushAndDeliver(rt, 'v2');

    await until(recorded(rt, 'bake'), 30_000, 20);
    expect((await slack(rt, 'promote checkout')).text).toContain('Promoted checkout');
    await until(recorded(rt, 'gate'), 30_000, 20);
    expect((await slack(rt, 'pause checkout')).text).toContain('Pausing checkout');
    expect((await slack(rt, 'promote checkout')).text).toContain('Promoted checkout');
    await until(recorded(rt, 'hold'), 30_000, 20);
    expect((await slack(rt, 'resume checkout')).text).toContain('Resumed checkout');
    const [execution] = await rt.sfn.waitAll();

    const decisions = taskDecisions(execution!);
    expect(execution!.status).toBe('SUCCEEDED');
    expect(decisions.map((d) => d.state)).toEqual(
      expect.arrayContaining([
        'Prepare rollout',
        'Register new revision',
        'Deploy to idle slot',
        'Check new tasks are steady',
        'Check alarms',
        'Shift traffic',
        'Bake',
        'Manual gate',
        'Hold (paused)',
        'Finalize rollout',
        'Scale down old slot',
      ]),
    );
    for (const { state, decision } of decisions) {
      expect(typeof decision, `${state} wrote no decision`).toBe('string');
      expect((decision as string).length, `${state}: ${decision}`).toBeLessThanOrEqual(300);
    }
    expect(decisions.find((d) => d.state === 'Bake')!.decision).toBe('bake ended early by promote from <@UDEMO0OPERATOR>');
    expect(decisions.find((d) => d.state === 'Manual gate')!.decision).toBe('manual gate ended early by promote from <@UDEMO0OPERATOR>');
    expect(decisions.find((d) => d.state === 'Hold (paused)')!.decision).toBe('resumed by <@UDEMO0OPERATOR>');
    // The name says service and image: <service>-<12 hex of the digest>-<push time>, valid and short.
    expect(executions[0]).toMatch(/^checkout-[a-f0-9]{64}$/);
    expect(executions[0]!.length).toBeLessThanOrEqual(80);
  }, 120_000);

  it('the rollback writes its decision with the reason', async () => {
    const rt = await start({ timeScale: 0.01 });
    await pushAndDeliver(rt, 'v2');
    await until(waitingIn(rt, 'Bake'), 30_000);

    await fireAlarm(rt, 'checkout-5xx', 'Threshold Crossed');
    const [execution] = await rt.sfn.waitAll();

    const rollback = taskDecisions(execution!).find((d) => d.state === 'Roll back');
    expect(execution!.endState).toBe('Rolled back');
    expect(rollback?.decision).toMatch(/^rolled back: blue 100% on checkout:1; green back on checkout:1 at 0 tasks\. Reason: AlarmFired: .*checkout-5xx/);
  }, 120_000);

  it('the execution input is small and holds no secret', async () => {
    const rt = await start();
    const { executions } = await pushAndDeliver(rt, 'v2');
    const [execution] = await rt.sfn.waitAll();
    const input = JSON.stringify(execution!.input);

    const keysOf = (value: unknown): string[] => (typeof value === 'object' && value !== null ? Object.entries(value).flatMap(([k, v]) => [k, ...keysOf(v)]) : []);
    expect(execution!.name).toBe(executions[0]);
    expect(Object.keys(execution!.input as object).sort()).toEqual(['image', 'rolloutId', 'service', 'trigger']);
    expect(keysOf(execution!.input).filter((k) => /secret|token|password|credential|webhook/i.test(k))).toEqual([]);
    expect(input).not.toMatch(/xoxb-|hooks\.slack\.com|local-signing-secret/);
    expect(input.length).toBeLessThan(4096);
  }, 120_000);
});
