/**
 * Lifecycle hooks on the local runtime: the real state machine and handlers, the users' hook functions
 * registered with the runtime and invoked as Lambda would invoke them. Each test asserts what the hooks
 * saw (their order and context) and the end state read back from the emulator.
 */
import { describe, expect, it } from 'vitest';
import { fireAlarm, pushAndDeliver, readEndState, until } from '../../infra/local/demo';
import { DEMO } from '../../infra/local/environment';
import type { LocalRuntime, LocalRuntimeOptions, WeightsChange } from '../../infra/local/runtime';
import type { ServiceConfigInput } from '../../functions/core/config';
import type { HookEvent, HooksConfigInput, HookStage } from '../../functions/core/hooks';
import { completeHook } from '../../functions/hook/complete-hook';
import { StateName } from '../../state-machines/states';
import { useLocalRuntime } from './emulator';

const { start } = useLocalRuntime();

/** A plan with two weight changes and a bake between them. */
const PLAN = {
  steps: [
    { kind: 'setWeight', weight: 50 },
    { kind: 'bake', seconds: 60 },
    { kind: 'setWeight', weight: 100 },
  ],
} as const;

/** What a hook saw, for the assertions. */
type Seen = Pick<HookEvent, 'stage' | 'weights' | 'targetWeight' | 'testTraffic' | 'attempt' | 'newSlot' | 'oldSlot' | 'rollbackReason'> & {
  readonly fn: string;
  readonly hasRevisions: boolean;
  readonly digest: string;
};

function recorder() {
  const seen: Seen[] = [];
  const record = (fn: string) => (event: HookEvent) => {
    seen.push({
      fn,
      stage: event.stage,
      weights: event.weights,
      targetWeight: event.targetWeight,
      testTraffic: event.testTraffic,
      attempt: event.attempt,
      newSlot: event.newSlot,
      oldSlot: event.oldSlot,
      rollbackReason: event.rollbackReason,
      hasRevisions: typeof event.oldRevision === 'string' && typeof event.newRevision === 'string',
      digest: event.image.digest,
    });
  };
  /** A hook that records what it saw and answers `value`. */
  const answering = (fn: string, value: unknown) => (event: HookEvent) => {
    record(fn)(event);
    return value;
  };
  return { seen, record, answering };
}

async function startWith(
  hooks: HooksConfigInput,
  functions: NonNullable<LocalRuntimeOptions['hooks']>,
  extra: Partial<ServiceConfigInput> & Record<string, unknown> = {},
  options: Partial<LocalRuntimeOptions> = {},
): Promise<LocalRuntime> {
  return start({ services: [{ service: { plan: PLAN as never, hooks, ...extra } as Partial<ServiceConfigInput> }], hooks: functions, ...options });
}

const hookWait = (rt: LocalRuntime) => async () => {
  const lock = await rt.ports.store.getLock(DEMO.service);
  return lock?.wait?.kind === 'hook' && lock.taskToken !== undefined;
};

describe('lifecycle hooks', () => {
  it('run at every stage in order, each with the rollout context, and are recorded in history, Slack and the execution', async () => {
    const { seen, record } = recorder();
    const ok = (fn: string) => async (event: HookEvent) => {
      record(fn)(event);
      return { status: 'SUCCEEDED', reason: `${event.stage} fine` };
    };
    const stages: HookStage[] = ['afterSteady', 'afterTestTraffic', 'beforeShift', 'afterShift', 'afterFullTraffic', 'onRollback'];
    const hooks = Object.fromEntries(stages.map((s) => [s, { functions: [`hook-${s}`] }])) as HooksConfigInput;
    const rt = await startWith(
      { ...hooks, afterSteady: { functions: ['hook-afterSteady', 'arn:aws:lambda:us-east-1:123456789012:function:second'] } },
      { ...Object.fromEntries(stages.map((s) => [`hook-${s}`, ok(s)])), second: ok('second') },
      { testTraffic: { header: { name: 'X-Canary', values: ['smoke'] } } },
    );

    const { digest } = await pushAndDeliver(rt, 'v2');
    const [execution] = await rt.sfn.waitAll();

    expect(execution!.status).toBe('SUCCEEDED');
    expect(seen.map((s) => [s.fn, s.stage, s.targetWeight, s.weights])).toEqual([
      ['afterSteady', 'afterSteady', undefined, { blue: 100, green: 0 }],
      ['second', 'afterSteady', undefined, { blue: 100, green: 0 }],
      ['afterTestTraffic', 'afterTestTraffic', 50, { blue: 100, green: 0 }],
      ['beforeShift', 'beforeShift', 50, { blue: 100, green: 0 }],
      ['afterShift', 'afterShift', 50, { blue: 50, green: 50 }],
      ['beforeShift', 'beforeShift', 100, { blue: 50, green: 50 }],
      ['afterShift', 'afterShift', 100, { blue: 0, green: 100 }],
      ['afterFullTraffic', 'afterFullTraffic', 100, { blue: 0, green: 100 }],
    ]);
    for (const s of seen) {
      expect(s).toMatchObject({ newSlot: 'green', oldSlot: 'blue', hasRevisions: true, digest, attempt: 1, testTraffic: { header: 'X-Canary', value: 'smoke' } });
    }
    const end = await readEndState(rt, rt.env.service);
    const record0 = end.history.find((h) => h.rolloutId === execution!.name)!;
    expect(end.weights).toEqual({ blue: 0, green: 100 });
    expect(record0.hooks).toHaveLength(8);
    expect(record0.hooks![0]).toBe('afterSteady hook 1 (hook-afterSteady) succeeded: afterSteady fine');
    expect(record0.hooks![1]).toBe('afterSteady hook 2 (second) succeeded: afterSteady fine');
    expect(rt.slackApi.messages.map((m) => JSON.stringify(m))).toEqual(expect.arrayContaining([expect.stringContaining('afterFullTraffic hook 1 (hook-afterFullTraffic) succeeded')]));
    const decisions = execution!.events.filter((e) => e.type === 'StateExited' && e.state === StateName.HookDone).map((e) => (e.output as { hook: { decision: string } }).hook.decision);
    expect(decisions).toEqual(record0.hooks);
  });

  it('skips the test-traffic stage when the service has no test cohort, and a stage without hooks costs one Choice at most', async () => {
    const { seen, answering } = recorder();
    const rt = await startWith({ afterTestTraffic: { functions: ['t'] } }, { t: answering('t', { status: 'SUCCEEDED' }) });

    await pushAndDeliver(rt, 'v2');
    const [execution] = await rt.sfn.waitAll();

    expect(execution!.status).toBe('SUCCEEDED');
    expect(seen).toEqual([]);
    expect(execution!.states.filter((s) => s.startsWith('Hook') || s === StateName.RunHook)).toEqual([StateName.HooksAfterShift, StateName.HooksAfterShift]);
  });

  it('a failing after-steady hook rolls back with no production weight ever set, and the rollback hook runs with the reason', async () => {
    const { seen, answering } = recorder();
    const weights: WeightsChange[] = [];
    const rt = await startWith(
      { afterSteady: { functions: ['smoke'] }, onRollback: { functions: ['revert'] } },
      {
        smoke: answering('smoke', { status: 'FAILED', reason: 'GET /health answered 503' }),
        revert: answering('revert', { status: 'SUCCEEDED', reason: 'migration reverted' }),
      },
      {},
      { onWeights: (c) => weights.push(c) },
    );

    await pushAndDeliver(rt, 'v2');
    const [execution] = await rt.sfn.waitAll();

    const end = await readEndState(rt, rt.env.service);
    const green = rt.env.service.slots.green.targetGroupArn;
    expect(execution!.status).toBe('FAILED');
    expect(execution!.error).toBe('RolledBack');
    expect(end.outcome).toBe('ROLLED_BACK');
    expect(end.weights).toEqual({ blue: 100, green: 0 });
    expect(end.reason).toContain('afterSteady hook 1 (smoke) failed: GET /health answered 503');
    expect(weights.flatMap((c) => c.weights).filter((w) => w.targetGroupArn === green && w.weight > 0)).toEqual([]);
    expect(execution!.states).not.toContain(StateName.ShiftTraffic);
    expect(seen.map((s) => s.fn)).toEqual(['smoke', 'revert']);
    expect(seen[1]!.rollbackReason).toContain('GET /health answered 503');
    expect(end.history.find((h) => h.rolloutId === execution!.name)!.hooks).toEqual(['onRollback hook 1 (revert) succeeded: migration reverted']);
  });

  it('a failure on the rollback stage is recorded and the rollback stands', async () => {
    const rt = await startWith(
      { afterSteady: { functions: ['smoke'] }, onRollback: { functions: ['revert'] } },
      { smoke: async () => ({ status: 'FAILED', reason: 'broken' }), revert: async () => ({ status: 'FAILED', reason: 'could not revert' }) },
    );

    await pushAndDeliver(rt, 'v2');
    const [execution] = await rt.sfn.waitAll();

    const end = await readEndState(rt, rt.env.service);
    expect(execution!.error).toBe('RolledBack');
    expect(execution!.states.filter((s) => s === StateName.RollBack)).toHaveLength(1);
    expect(end.weights).toEqual({ blue: 100, green: 0 });
    expect(end.history.find((h) => h.rolloutId === execution!.name)!.hooks).toEqual([
      'onRollback hook 1 (revert) failed: onRollback hook 1 (revert) failed: could not revert (recorded; the rollback stands)',
    ]);
  });

  it('a hook that calls back later through completeHook continues the rollout, and "still working" asks again after its delay', async () => {
    const { seen, record } = recorder();
    let rt: LocalRuntime | undefined;
    const rtReady = () => rt!;
    rt = await startWith(
      { afterSteady: { functions: ['migrate'] }, afterShift: { functions: ['warm'] } },
      {
        migrate: (e: HookEvent) => {
          record('migrate')(e);
          // Answers nothing now: the migration finishes later and calls back with the token.
          setTimeout(() => void completeHook(e, true, 'schema v7 applied', { responder: rtReady().sfn }), 50);
          return undefined;
        },
        warm: (e: HookEvent) => {
          record('warm')(e);
          return e.attempt === 1 ? { status: 'IN_PROGRESS', delaySeconds: 1, reason: 'caches warming' } : { status: 'SUCCEEDED', reason: 'warm' };
        },
      },
    );

    await pushAndDeliver(rt, 'v2');
    const [execution] = await rt.sfn.waitAll();

    const end = await readEndState(rt, rt.env.service);
    expect(execution!.status).toBe('SUCCEEDED');
    expect(end.weights).toEqual({ blue: 0, green: 100 });
    expect(seen.map((s) => [s.fn, s.targetWeight ?? null, s.attempt])).toEqual([
      ['migrate', null, 1],
      ['warm', 50, 1],
      ['warm', 50, 2],
      ['warm', 100, 1],
      ['warm', 100, 2],
    ]);
    expect(execution!.states.filter((s) => s === StateName.HookStillWorking)).toHaveLength(2);
    expect(end.history.find((h) => h.rolloutId === execution!.name)!.hooks).toEqual([
      'afterSteady hook 1 (migrate) succeeded: schema v7 applied',
      'afterShift hook 1 (warm) succeeded: warm',
      'afterShift hook 1 (warm) succeeded: warm',
    ]);
  });

  it.each([
    ['continue', 'SUCCEEDED', { blue: 0, green: 100 }],
    ['rollback', 'ROLLED_BACK', { blue: 100, green: 0 }],
  ] as const)('a hook that times out takes its action: %s', async (onTimeout, outcome, weights) => {
    // 30 s × the runtime's time scale (0.001): the token wait times out after 30 ms.
    const rt = await startWith({ afterSteady: { functions: ['silent'], timeoutSeconds: 30, onTimeout } }, { silent: () => undefined });

    await pushAndDeliver(rt, 'v2');
    const [execution] = await rt.sfn.waitAll();

    const end = await readEndState(rt, rt.env.service);
    expect(end.outcome).toBe(outcome);
    expect(end.weights).toEqual(weights);
    if (onTimeout === 'continue') {
      expect(end.history.find((h) => h.rolloutId === execution!.name)!.hooks).toEqual(['afterSteady hook 1 (silent) timed out after 30 s (onTimeout continue: going on)']);
    } else {
      expect(execution!.states).not.toContain(StateName.ShiftTraffic);
      expect(end.reason).toContain('did not answer before its timeout');
    }
  });

  it('an alarm while a hook is working aborts the rollout at once', async () => {
    const { seen, answering } = recorder();
    // A day (86 s here): only the abort path can end this wait within the test.
    const rt = await startWith({ afterShift: { functions: ['slow'], timeoutSeconds: 86_400 } }, { slow: answering('slow', undefined) });

    await pushAndDeliver(rt, 'v2');
    await until(hookWait(rt), 30_000, 10);
    await fireAlarm(rt, DEMO.alarms[0], 'errors above threshold');
    const [execution] = await rt.sfn.waitAll();

    const end = await readEndState(rt, rt.env.service);
    expect(seen.map((s) => [s.stage, s.targetWeight])).toEqual([['afterShift', 50]]);
    expect(execution!.error).toBe('RolledBack');
    expect(end.outcome).toBe('ROLLED_BACK');
    expect(end.weights).toEqual({ blue: 100, green: 0 });
    expect(end.reason).toContain('errors above threshold');
    expect(
      execution!.events.find((e) => e.type === 'StateCaught' && e.state === StateName.RunHook)?.error ??
        execution!.events.find((e) => e.type === 'StateFailed' && e.state === StateName.RunHook)?.error,
    ).toBe('AlarmFired');
  });
});
