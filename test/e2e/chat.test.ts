/**
 * Steering rollouts from Slack on the local runtime: signed slash commands to the real chat function,
 * acting through the real state machine on moto. End states are read back from the emulator.
 */
import { describe, expect, it } from 'vitest';
import { fireAlarm, pushAndDeliver, readEndState, until } from '../../infra/local/demo';
import { LOCAL_SIGNING_SECRET, type LocalRuntime, type LocalRuntimeOptions } from '../../infra/local/runtime';
import type { ProvisionOptions } from '../../infra/local/environment';
import { canary, type CanaryPlan } from '../../functions/core/plan';
import { signSlackRequest } from '../../functions/chat/slack-signature';
import { useLocalRuntime } from './emulator';

const local = useLocalRuntime();
const { events } = local;
const start = (service: ProvisionOptions['service'] = {}, options: Partial<LocalRuntimeOptions> = {}) => local.start({ services: [{ service }], ...options });

const KIND: Record<string, string> = { Bake: 'bake', 'Manual gate': 'gate', 'Hold (paused)': 'hold' };
/** Resolves once the rollout waits in `state` and its token is recorded on the lock (so commands can reach it). */
const waitingIn = (rt: LocalRuntime, state: string) =>
  until(async () => rt.sfn.waitingTasks().some((t) => t.state === state) && (await rt.ports.store.getLock(rt.env.service.name))?.wait?.kind === KIND[state]);
const shifts = (name?: string) =>
  events
    .filter((e) => (!name || e.execution === name) && e.type === 'StateExited' && e.state === 'Shift traffic')
    .map((e) => (e.output as { shift: { weights: { green: number } } }).shift.weights.green);
const body = (r: { body: string }) => JSON.parse(r.body) as { response_type: string; text: string };

/** A plan whose bakes last an hour: at time scale 0.001, 3.6 s, long enough to act in. */
const LONG_BAKES: CanaryPlan = canary([10, 25, 100], 3600);

describe('slash commands during a rollout', () => {
  it('rollback mid-bake is answered in the request itself: all traffic is already back on the retained revision, and the rollout rolls back', async () => {
    const rt = await start({ plan: LONG_BAKES });
    const { executions } = await pushAndDeliver(rt, 'v2');
    await waitingIn(rt, 'Bake');

    const reply = await rt.slack('rollback checkout p99 looks wrong');
    // One hop: the chat function's own abort moved the traffic before it answered.
    const atOnce = (await readEndState(rt, rt.env.service)).weights;
    const [execution] = await rt.sfn.waitAll();

    const end = await readEndState(rt, rt.env.service);
    expect(reply.statusCode).toBe(200);
    expect(body(reply)).toEqual({
      response_type: 'in_channel',
      text: `Rolling back checkout now (${executions[0]}): all traffic is back on the retained revision. rollback requested by <@UDEMO0OPERATOR>: p99 looks wrong`,
    });
    expect(atOnce).toEqual({ blue: 100, green: 0 });
    // Nothing was deferred: no follow-up.
    await expect(reply.followUp()).rejects.toThrow(/answered directly/);
    expect(rt.slackApi.responses.filter((r) => r.url === reply.responseUrl)).toHaveLength(0);
    expect(events.filter((e) => e.state === 'Bake' && e.type === 'StateFailed').map((e) => e.error)).toEqual(['RolloutAborted']);
    expect(execution!.endState).toBe('Rolled back');
    expect(end.weights).toEqual({ blue: 100, green: 0 });
    expect(end.idleTaskDefinition).toBe('checkout:1');
    expect(end.reason).toContain('rollback requested by <@UDEMO0OPERATOR>: p99 looks wrong');
    const [audit] = await rt.ports.store.listCommands('checkout', 5);
    expect(audit).toMatchObject({ user: 'UDEMO0OPERATOR', channel: 'CDEMO0CUTOVER', via: 'slack', text: 'rollback checkout p99 looks wrong', rolloutId: executions[0], result: 'accepted' });
  });

  it('promote ends the current bake and the rollout goes on to the next step', async () => {
    const rt = await start({ plan: LONG_BAKES });
    await pushAndDeliver(rt, 'v2');
    await waitingIn(rt, 'Bake');

    const reply = await rt.slack('promote checkout');
    await until(() => shifts().length === 2);
    const weightsAfter = (await readEndState(rt, rt.env.service)).weights;
    // The second bake is waiting (after the shift, its hooks' Choice and the alarm check) before it is promoted.
    await waitingIn(rt, 'Bake');
    await rt.slack('promote checkout');
    const [execution] = await rt.sfn.waitAll();

    expect(body(reply).text).toContain('Promoted checkout: the bake ends now');
    expect(weightsAfter).toEqual({ blue: 75, green: 25 });
    // Neither bake timed out: both were ended by promote.
    expect(events.filter((e) => e.state === 'Bake' && e.type === 'StateFailed')).toEqual([]);
    expect(execution!.endState).toBe('Rollout succeeded');
    expect(shifts()).toEqual([10, 25, 100]);
  });

  it('promote --full goes straight to 100%, checking the alarms and the rollback target before the jump and before finalizing', async () => {
    const rt = await start({ plan: LONG_BAKES });
    await pushAndDeliver(rt, 'v2');
    await waitingIn(rt, 'Bake');

    await rt.slack('promote checkout --full');
    const [execution] = await rt.sfn.waitAll();

    expect(shifts()).toEqual([10, 100]);
    const tail = execution!.states.slice(execution!.states.indexOf('Jump to 100%'));
    // The check before the jump (alarms, and a rollback target that works), then the jump, then the check
    // before finalizing.
    expect(tail.slice(0, 8)).toEqual(['Jump to 100%', 'Check before jump', 'Jump held?', 'Step kind?', 'Shift traffic', 'Hooks after shift?', 'Step done', 'Check alarms']);
    expect(execution!.endState).toBe('Rollout succeeded');
    expect((await readEndState(rt, rt.env.service)).weights).toEqual({ blue: 0, green: 100 });
  });

  it('pause holds at the current weight after the step, and resume continues', async () => {
    const rt = await start({ plan: canary([10, 25, 100], 300) });
    await pushAndDeliver(rt, 'v2');
    await waitingIn(rt, 'Bake');

    const paused = await rt.slack('pause checkout');
    await waitingIn(rt, 'Hold (paused)');
    const held = await readEndState(rt, rt.env.service);
    const lock = await rt.ports.store.getLock('checkout');
    const status = await rt.slack('status checkout');
    const resumed = await rt.slack('resume checkout');
    const [execution] = await rt.sfn.waitAll();

    expect(body(paused).text).toContain('Pausing checkout at blue 90 / green 10');
    expect(held.weights).toEqual({ blue: 90, green: 10 });
    expect(lock?.wait?.kind).toBe('hold');
    expect(body(status).text).toContain('paused by <@UDEMO0OPERATOR>, holding');
    expect(body(resumed).text).toBe('Resumed checkout, by <@UDEMO0OPERATOR>');
    expect(execution!.endState).toBe('Rollout succeeded');
    expect(execution!.states.filter((s) => s === 'Hold (paused)')).toHaveLength(1);
    expect((await readEndState(rt, rt.env.service)).weights).toEqual({ blue: 0, green: 100 });
  });

  it('a manual gate waits for promote, and says so in status', async () => {
    const rt = await start({ plan: { steps: [{ kind: 'setWeight', weight: 10 }, { kind: 'pause' }, { kind: 'setWeight', weight: 100 }] } });
    await pushAndDeliver(rt, 'v2');
    await waitingIn(rt, 'Manual gate');

    const status = await rt.slack('status checkout');
    const promoted = await rt.slack('promote checkout');
    const [execution] = await rt.sfn.waitAll();

    expect(body(status).text).toMatch(/step 2\/3 \(Manual gate \(up to 168h, then rollback\)\): manual gate, waiting for promote/);
    expect(body(promoted).text).toContain('the manual gate ends now');
    expect(execution!.endState).toBe('Rollout succeeded');
    expect(shifts()).toEqual([10, 100]);
  });

  it('a manual gate nobody answers takes its timeout action: rollback', async () => {
    const rt = await start({
      plan: {
        steps: [
          { kind: 'setWeight', weight: 10 },
          { kind: 'pause', timeoutSeconds: 60 },
          { kind: 'setWeight', weight: 100 },
        ],
      },
    });
    await pushAndDeliver(rt, 'v2');
    const [execution] = await rt.sfn.waitAll();

    const end = await readEndState(rt, rt.env.service);
    expect(execution!.endState).toBe('Rolled back');
    expect(execution!.states).toContain('Gate timeout: roll back');
    expect(end.reason).toContain('GateTimedOut');
    expect(end.weights).toEqual({ blue: 100, green: 0 });
  });

  it('a command that does not apply to the current state gets a specific answer and changes nothing', async () => {
    const rt = await start();

    const replies = await Promise.all(['promote checkout', 'pause checkout', 'resume checkout', 'rollback checkout', 'status billing', 'deploy checkout'].map((t) => rt.slack(t)));
    // The rollback is answered through response_url (it may take longer than Slack waits); the others at once.
    const texts = await Promise.all(replies.map(async (r, i) => (i === 3 ? (await r.followUp()).text : body(r).text)));

    expect(texts).toEqual([
      'nothing to promote: no rollout of checkout is in progress',
      'nothing to pause: no rollout of checkout is in progress',
      'checkout is not paused',
      'nothing to roll back: checkout has no rollout yet',
      'unknown service "billing"; known: checkout',
      expect.stringContaining('unknown command "deploy"'),
    ]);
    expect((await readEndState(rt, rt.env.service)).weights).toEqual({ blue: 100, green: 0 });
  });
});

describe('slash commands after a rollout', () => {
  it('rollback within the rollback window restores the retained revision without re-running the canary', async () => {
    const rt = await start({ timings: { rollbackWindowSeconds: 3600 } });
    const { executions } = await pushAndDeliver(rt, 'v2');
    await until(() => events.some((e) => e.type === 'StateExited' && e.state === 'Finalize rollout'));
    const before = await readEndState(rt, rt.env.service);

    const reply = await rt.slack('rollback checkout error budget burn');
    const outcome = await reply.followUp();
    const restored = await readEndState(rt, rt.env.service);
    const [execution] = await rt.sfn.waitAll();
    const after = await readEndState(rt, rt.env.service);

    expect(before.weights).toEqual({ blue: 0, green: 100 });
    expect(body(reply).text).toBe('Working on `rollback checkout error budget burn`: the outcome follows here.');
    expect(outcome).toMatchObject({ response_type: 'in_channel', text: expect.stringContaining('Restored checkout: blue takes 100% again on checkout:1') });
    expect(restored).toMatchObject({ weights: { blue: 100, green: 0 }, liveSlot: 'blue', liveTaskDefinition: 'checkout:1', idleDesiredCount: 0, outcome: 'ROLLED_BACK', lockHeld: false });
    expect(restored.reason).toContain('rolled back after completion: rollback requested by <@UDEMO0OPERATOR>: error budget burn');
    // The finished execution's end of window leaves the restored slot alone.
    expect(execution!.name).toBe(executions[0]);
    expect(after.weights).toEqual({ blue: 100, green: 0 });
    expect(after.liveTaskDefinition).toBe('checkout:1');
    expect(shifts()).toEqual([10, 25, 50, 100]); // nothing re-ran
  });
});

describe('who may send commands', () => {
  it('refuses a user the service does not list with 403 and the reason, and the rollout goes on untouched', async () => {
    const rt = await start();
    await pushAndDeliver(rt, 'v2');

    const reply = await rt.slack('rollback checkout', { user: 'UINTRUDER' });
    const [execution] = await rt.sfn.waitAll();

    expect(reply).toMatchObject({ statusCode: 403, body: '<@UINTRUDER> may not steer checkout' });
    expect(execution!.endState).toBe('Rollout succeeded');
    expect((await readEndState(rt, rt.env.service)).weights).toEqual({ blue: 0, green: 100 });
    const [audit] = await rt.ports.store.listCommands('checkout', 5);
    expect(audit).toMatchObject({ user: 'UINTRUDER', result: 'refused: <@UINTRUDER> may not steer checkout' });
  });

  it('refuses a command from a channel the service does not list', async () => {
    const rt = await start();

    const reply = await rt.slack('status checkout', { channel: 'CRANDOM' });

    expect(reply).toMatchObject({ statusCode: 403, body: 'checkout cannot be steered from this channel' });
  });

  it.each([
    ['a wrong signing secret', () => ({ signingSecret: 'not-the-secret' })],
    ['a timestamp 6 minutes old', () => ({ timestamp: Math.floor(Date.now() / 1000) - 360 })],
    ['a timestamp 6 minutes ahead', () => ({ timestamp: Math.floor(Date.now() / 1000) + 360 })],
  ])('answers 401 to %s and does nothing, not even an audit line', async (_case, forge) => {
    const rt = await start();
    await pushAndDeliver(rt, 'v2');
    await waitingIn(rt, 'Bake');

    const reply = await rt.slack('rollback checkout', forge()); // the time is taken when the request is sent
    const [execution] = await rt.sfn.waitAll();

    expect(reply).toMatchObject({ statusCode: 401, body: 'invalid signature' });
    expect(execution!.endState).toBe('Rollout succeeded');
    expect(await rt.ports.store.listCommands('checkout', 5)).toEqual([]);
  });

  it('answers 401 to a body changed after signing', async () => {
    const rt = await start();
    const ts = Math.floor(Date.now() / 1000);
    const signed = 'user_id=UDEMO0OPERATOR&channel_id=CDEMO0CUTOVER&text=status+checkout';
    const sent = 'user_id=UDEMO0OPERATOR&channel_id=CDEMO0CUTOVER&text=rollback+checkout';

    const reply = await rt.slackRaw(sent, { 'x-slack-request-timestamp': String(ts), 'x-slack-signature': signSlackRequest(LOCAL_SIGNING_SECRET, signed, ts) });

    expect(reply.statusCode).toBe(401);
  });

  it("refuses a rollback whose response_url is not Slack's or the local stand-in's, and the rollout goes on untouched", async () => {
    const rt = await start();
    await pushAndDeliver(rt, 'v2');

    const reply = await rt.slack('rollback checkout', { responseUrl: 'http://203.0.113.9/collect' });
    const [execution] = await rt.sfn.waitAll();

    expect(reply).toMatchObject({ statusCode: 400, body: 'response_url must be https://hooks.slack.com/…, not http://203.0.113.9; the command was not run' });
    await expect(reply.followUp()).rejects.toThrow(/answered directly/);
    expect(execution!.endState).toBe('Rollout succeeded');
    expect((await readEndState(rt, rt.env.service)).weights).toEqual({ blue: 0, green: 100 });
    expect(await rt.ports.store.listCommands('checkout', 5)).toEqual([]);
  });

  it('answers 409 to a signed request sent a second time, and the replay changes nothing', async () => {
    const rt = await start();
    const ts = Math.floor(Date.now() / 1000);
    const captured = 'user_id=UDEMO0OPERATOR&channel_id=CDEMO0CUTOVER&text=status+checkout';
    const headers = { 'x-slack-request-timestamp': String(ts), 'x-slack-signature': signSlackRequest(LOCAL_SIGNING_SECRET, captured, ts) };

    const first = await rt.slackRaw(captured, headers);
    const replay = await rt.slackRaw(captured, headers);

    expect(first.statusCode).toBe(200);
    expect(replay).toMatchObject({ statusCode: 409, body: expect.stringMatching(/^request already handled/) });
    expect((await rt.ports.store.listCommands('checkout', 5)).map((c) => c.text)).toEqual(['status checkout']);
  });
});

describe('notifications', () => {
  it('posts the start, every step, and the rollback with its reason and alarm, in one thread per rollout', async () => {
    const rt = await start({ plan: LONG_BAKES });
    await pushAndDeliver(rt, 'v2');
    await waitingIn(rt, 'Bake');
    await fireAlarm(rt, 'checkout-5xx', 'Threshold Crossed: 42 > 10');
    await rt.sfn.waitAll();

    const [first, ...rest] = rt.slackApi!.messages;
    expect(first!.text).toMatch(/^Rolling out \*checkout\*: v2 sha256:/);
    expect(first!.thread_ts).toBeUndefined();
    expect(first!.channel).toBe('CDEMO0CUTOVER');
    expect(rest.map((m) => m.thread_ts)).toEqual(rest.map(() => first!.ts));
    expect(rest.map((m) => m.text)).toEqual([
      '*checkout* Shift 10% to green: blue 90 / green 10',
      expect.stringMatching(/^Rollout of \*checkout\* rolled back: .*Reason: AlarmFired: alarm checkout-5xx in ALARM: Threshold Crossed: 42 &gt; 10$/), // the alarm's reason is outside text: escaped for Slack
    ]);
  });

  it('never fails a rollout when Slack cannot be reached', async () => {
    const rt = await start();
    await rt.slackApi!.stop(); // Slack is down for the whole rollout

    await pushAndDeliver(rt, 'v2');
    const [execution] = await rt.sfn.waitAll();

    expect(execution!.endState).toBe('Rollout succeeded');
    expect((await readEndState(rt, rt.env.service)).weights).toEqual({ blue: 0, green: 100 });
  });
});
