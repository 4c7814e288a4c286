/**
 * A rollback target that is known to work, on the local runtime: the old slot breaks mid-rollout and the
 * rollout holds at its weight (with the reason in status, Slack and the decision) until the slot is fixed and
 * resumed; and a rollback asked for after the rollback window scales the cold old slot up before it moves the
 * traffic back.
 */
import { describe, expect, it } from 'vitest';
import { breakOldSlotMidRollout, pushAndDeliver, readEndState } from '../../infra/local/demo';
import { StateName } from '../../state-machines/states';
import { useLocalRuntime } from './emulator';

/** Resolves when `check` holds (looked at every 20 ms); rejects after 60 s naming what it waited for. */
async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const local = useLocalRuntime();

describe('rollback target', () => {
  it('holds at 10% with the reason when the old slot breaks mid-rollout, escalates in Slack, and completes once fixed and resumed', async () => {
    // Arrange
    const broken = new Set<string>();
    const rt = await local.start({ brokenServices: broken });
    const { executions } = await pushAndDeliver(rt, 'v2');
    const name = executions[0]!;

    // Act: the old slot breaks during the 10% bake; the helper reads the hold back, fixes the slot and resumes
    const hold = await breakOldSlotMidRollout(rt, name, broken, local.events, () => {});
    const heldDecisions = local.events
      .filter((e) => e.execution === name && e.type === 'StateExited' && e.state === StateName.CheckAlarms)
      .map((e) => JSON.stringify((e.output as { alarms?: unknown }).alarms));
    await rt.settle();
    const end = await readEndState(rt, rt.env.service);

    // Assert: held at 10%, with the reason recorded and escalated
    const reason = 'the blue slot cannot take the traffic back: its target group has 0/2 healthy targets (2 unhealthy (Target.FailedHealthChecks))';
    expect(hold).toMatchObject({ reason, weights: { blue: 90, green: 10 }, state: StateName.HoldPaused });
    expect(hold.status).toContain(`held by Cutover: ${reason}; /cutover resume checkout when fixed, or roll back`);
    expect(heldDecisions.some((d) => d.includes(`${reason}: holding at blue 90 / green 10 until resume`))).toBe(true);
    const escalation = rt.slackApi.messages.find((m) => m.text.includes(':rotating_light:'));
    expect(escalation?.text).toContain('is held at blue 90 / green 10');
    expect(escalation?.text).toContain('until a human acts: fix the slot, then `/cutover resume checkout`');
    expect(escalation?.thread_ts).toBeDefined();
    // Then fixed and resumed: the check ran again and the rollout completed.
    expect(end).toMatchObject({ outcome: 'SUCCEEDED', weights: { blue: 0, green: 100 }, liveSlot: 'green', lockHeld: false });
  });

  it('holds a jump to 100% (promote --full) while the old slot cannot take the traffic back, and jumps once it is fixed and resumed', async () => {
    // Arrange: the 10% bake is running (a long one: only the promote ends it), then the old slot breaks
    const broken = new Set<string>();
    const rt = await local.start({
      brokenServices: broken,
      services: [
        {
          service: {
            plan: {
              steps: [
                { kind: 'setWeight', weight: 10 },
                { kind: 'bake', seconds: 86_400 },
                { kind: 'setWeight', weight: 100 },
              ],
            },
          },
        },
      ],
    });
    const { executions } = await pushAndDeliver(rt, 'v2');
    const name = executions[0]!;
    const entered = (state: string) => local.events.filter((e) => e.execution === name && e.type === 'StateEntered' && e.state === state);
    await until(async () => (await rt.ports.store.getLock('checkout'))?.wait?.kind === 'bake', 'the bake');
    broken.add(rt.env.service.slots.blue.serviceName);

    // Act: the operator jumps to 100%; the check before the jump holds it
    const promoted = await rt.slack('promote checkout --full');
    await until(async () => (await rt.ports.store.getLock('checkout'))?.wait?.kind === 'hold', 'the hold before the jump');
    const held = await readEndState(rt, rt.env.service);
    const lock = await rt.ports.store.getLock('checkout');
    broken.delete(rt.env.service.slots.blue.serviceName);
    await rt.slack('resume checkout');
    const done = await rt.sfn.wait(name);
    await rt.settle();

    // Assert: never 100% on green while blue could not take it back; then the jump, and success
    expect(promoted.statusCode).toBe(200);
    expect(entered(StateName.HoldBeforeJump)).toHaveLength(1);
    expect(held.weights).toEqual({ blue: 90, green: 10 });
    expect(lock?.pause?.reason).toMatch(/^the blue slot cannot take the traffic back/);
    expect(done.endState).toBe(StateName.RolloutSucceeded);
    expect(await readEndState(rt, rt.env.service)).toMatchObject({ outcome: 'SUCCEEDED', weights: { blue: 0, green: 100 } });
  });

  it('scales the cold old slot up after the rollback window, then moves the traffic back', async () => {
    // Arrange: a rollout that succeeded and whose window is over (blue scaled to 0)
    const rt = await local.start({ services: [{ service: { timings: { rollbackWindowSeconds: 1, steadyPollSeconds: 1, steadyMaxChecks: 5 } } }] });
    await pushAndDeliver(rt, 'v2');
    await rt.settle();
    const before = await readEndState(rt, rt.env.service);
    expect(before).toMatchObject({ outcome: 'SUCCEEDED', weights: { blue: 0, green: 100 }, idleSlot: 'blue', idleDesiredCount: 0 });

    // Act
    const reply = await rt.slack('rollback checkout the new version is bad');
    const outcome = await reply.followUp();
    const end = await readEndState(rt, rt.env.service);

    // Assert: scaled up first (the reply says so, and how long it took), then 100% on blue, green scaled down
    expect(outcome.text).toMatch(/^Restored checkout: blue scaled up from 0 to 2 tasks and healthy after \d+s; blue takes 100% again on checkout:1/);
    expect(end).toMatchObject({
      outcome: 'ROLLED_BACK',
      weights: { blue: 100, green: 0 },
      liveSlot: 'blue',
      liveTaskDefinition: 'checkout:1',
      idleSlot: 'green',
      idleDesiredCount: 0,
      lockHeld: false,
    });
    const blue = await rt.ports.ecs.describeService(rt.env.service.cluster, rt.env.service.slots.blue.serviceName);
    expect(blue?.desiredCount).toBe(2);
  });
});
