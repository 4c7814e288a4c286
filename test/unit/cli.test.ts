/**
 * The CLI's pure parts: which Cutover of a stack a command talks to, the one exit-code table and its hint
 * at `--local`, `retry`'s choice of rollout and execution name, `history`'s lines, and the last frame of a
 * watch (a superseded rollout, a `--wait-start` that saw no rollout begin).
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { findTarget, pickTarget } from '../../bin/aws-target';
import { DEMO_CHAT, SCENARIOS } from '../../bin/cutover';
import { CliError, describeFailure, ExitCode, exitCodeOfOutcomes, exitCodeOfReply } from '../../bin/exit';
import { CanaryPlan } from '../../functions/core/plan';
import type { HistoryRecord } from '../../functions/core/ports';
import { renderHistory } from '../../functions/read/history';
import { watchStep, type RolloutStatus } from '../../functions/read/status';
import { renderStatus } from '../../functions/read/view';
import { retryable, retryInput, retryName, retryRollout } from '../../functions/start/retry';
import { SCENARIOS as DEMO_SCENARIOS } from '../../infra/local/demo';
import { DEMO_CHAT as RUNTIME_CHAT } from '../../infra/local/runtime';
import { serviceConfig } from '../fixtures/state';

const outputsOf = (prefix: string, n: string) => [
  { OutputKey: `${prefix}TableName${n}0A1B2C`, OutputValue: `${prefix}-table` },
  { OutputKey: `${prefix}StateMachineArn${n}DEADBE`, OutputValue: `arn:aws:states:us-east-1:123456789012:stateMachine:${prefix}` },
  { OutputKey: `${prefix}StartFunctionName${n}123456`, OutputValue: `${prefix}-start` },
];
const TWO = [...outputsOf('OrdersCutover', 'AA'), ...outputsOf('PaymentsCutover', 'BB'), { OutputKey: 'OrdersCutoverSlackCommandUrlABCDEF01', OutputValue: 'https://x/' }];

describe('picking the Cutover of a stack', () => {
  it('takes the only Cutover without --cutover', () => {
    expect(pickTarget('S', outputsOf('Cutover', '00'))).toEqual({
      tableName: 'Cutover-table',
      stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:Cutover',
      startFunctionName: 'Cutover-start',
    });
  });

  it('refuses to guess between two, listing both', () => {
    expect(() => pickTarget('Shop', TWO)).toThrow('stack Shop holds 2 Cutovers: OrdersCutover, PaymentsCutover; pick one with --cutover <construct id or path>');
  });

  it.each([
    ['a construct path', 'Payments/Cutover'],
    ['the logical prefix', 'PaymentsCutover'],
    ['a unique tail of it', 'Payments/Cutover/'],
  ])('picks one by %s', (_, choice) => {
    expect(pickTarget('Shop', TWO, choice).tableName).toBe('PaymentsCutover-table');
  });

  it('names the choices when --cutover matches none (exit code 4) or more than one by its tail', () => {
    const none = () => pickTarget('Shop', TWO, 'Billing');
    expect(none).toThrow('stack Shop has no Cutover "Billing"; it has: OrdersCutover, PaymentsCutover');
    expect(() => pickTarget('Shop', TWO, 'Cutover')).toThrow('has no Cutover "Cutover"; it has: OrdersCutover, PaymentsCutover');
    try {
      none();
    } catch (error) {
      expect((error as CliError).exitCode).toBe(ExitCode.UNREACHABLE);
    }
  });

  it('reads the outputs from CloudFormation and passes --cutover through', async () => {
    const cfn = mockClient(CloudFormationClient);
    cfn.on(DescribeStacksCommand, { StackName: 'Shop' }).resolves({ Stacks: [{ StackName: 'Shop', CreationTime: new Date(), StackStatus: 'CREATE_COMPLETE', Outputs: TWO }] });

    const target = await findTarget({ stack: 'Shop', cutover: 'Orders/Cutover' }, new CloudFormationClient({ region: 'us-east-1' }));

    expect(target.startFunctionName).toBe('OrdersCutover-start');
    cfn.restore();
  });
});

describe('exit codes', () => {
  it.each([
    [200, ExitCode.OK],
    [202, ExitCode.OK],
    [403, ExitCode.REFUSED],
    [409, ExitCode.REFUSED],
  ])('a reply with status %i exits %i', (status, code) => {
    expect(exitCodeOfReply(status)).toBe(code);
  });

  it('is 0 only when every rollout succeeded', () => {
    expect(exitCodeOfOutcomes(['SUCCEEDED'])).toBe(0);
    expect(exitCodeOfOutcomes([])).toBe(0);
    expect(exitCodeOfOutcomes(['SUCCEEDED', 'REFUSED'])).toBe(1);
  });

  it.each([
    ['no Region', Object.assign(new Error('Region is missing'), { name: 'Error' })],
    ['no credentials', Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' })],
  ])('%s: exit code 4 and a hint at --local', (_, error) => {
    const { exitCode, message } = describeFailure(error);
    expect(exitCode).toBe(4);
    expect(message).toContain('cutover local up');
    expect(message).toContain('--local');
  });

  it('keeps any other error as it is, exit code 1', () => {
    expect(describeFailure(new Error('boom'))).toEqual({ exitCode: 1, message: 'boom' });
    expect(describeFailure(new CliError('nope', 3))).toEqual({ exitCode: 3, message: 'nope' });
  });
});

describe('the entry point', () => {
  it("declares the demo's scenarios and chat identity as the local runtime has them", () => {
    expect(SCENARIOS).toEqual(DEMO_SCENARIOS);
    expect(DEMO_CHAT).toEqual(RUNTIME_CHAT);
  });
});

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const IMAGE = `123456789012.dkr.ecr.us-east-1.amazonaws.com/checkout@${DIGEST}`;
const record = (overrides: Partial<HistoryRecord>): HistoryRecord => ({
  service: 'checkout',
  rolloutId: `checkout-${'ab'.repeat(20)}`,
  startedAt: '2026-11-24T10:00:00.000Z',
  endedAt: '2026-11-24T10:04:12.000Z',
  image: IMAGE,
  pushedAt: '2026-11-24T09:59:59.000Z',
  ...overrides,
});

describe('retry', () => {
  it.each(['FAILED', 'REFUSED', 'ROLLED_BACK'] as const)('re-runs a rollout that ended %s', (outcome) => {
    expect(retryable('checkout', [record({ outcome })]).rolloutId).toBe(`checkout-${'ab'.repeat(20)}`);
  });

  it.each([
    [[], 'checkout has no rollout yet: nothing to retry'],
    [[record({ outcome: 'RUNNING', endedAt: undefined })], 'is in progress'],
    [[record({ outcome: 'SUCCEEDED' })], 'ended SUCCEEDED; retry only re-runs one that failed, refused, rolled back'],
    [[record({ outcome: 'SUPERSEDED' })], 'ended SUPERSEDED'],
    [[record({ outcome: 'FAILED', image: undefined })], 'has no image pinned to a digest'],
  ] as const)('refuses when there is nothing to retry (%#)', (history, message) => {
    expect(() => retryable('checkout', history)).toThrow(message);
  });

  it('names a retry <service>-r<attempt>-<digest>, at most 80 allowed characters', () => {
    const long = retryName('a'.repeat(60), DIGEST, 12);
    expect(retryName('checkout', DIGEST, 1)).toBe(`checkout-r1-${'ab'.repeat(32)}`.slice(0, 80));
    expect(long).toHaveLength(80);
    expect(long).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it("builds a push's input for the same image, with the retried rollout and who asked", () => {
    const rolledBack = record({ outcome: 'ROLLED_BACK' });
    const input = retryInput(serviceConfig(), rolledBack as HistoryRecord & { image: string }, [rolledBack], 'alice', new Date('2026-11-24T11:00:00Z'));

    expect(input).toMatchObject({
      rolloutId: `checkout-r1-${'ab'.repeat(32)}`.slice(0, 80),
      image: { repository: 'checkout', digest: DIGEST, uri: IMAGE, pushedAt: '2026-11-24T09:59:59.000Z' },
      trigger: { kind: 'cli', id: `alice retry of checkout-${'ab'.repeat(20)}`, at: '2026-11-24T11:00:00.000Z' },
      retryOf: `checkout-${'ab'.repeat(20)}`,
    });
  });

  it('counts earlier retries of the same image, and starts the execution by the retry name', async () => {
    const started: Array<{ name: string; input: unknown }> = [];
    const history = [record({ rolloutId: `checkout-r1-${'ab'.repeat(30)}`, outcome: 'REFUSED' }), record({ outcome: 'ROLLED_BACK' })];
    const result = await retryRollout(serviceConfig(), 'alice', {
      store: { listHistory: async () => history },
      executions: {
        start: async (name, input) => {
          started.push({ name, input });
          return { executionArn: `arn:${name}`, alreadyStarted: false };
        },
      },
      clock: { now: () => new Date('2026-11-24T11:00:00Z') },
    });

    expect(result).toMatchObject({ retryOf: `checkout-r1-${'ab'.repeat(30)}`, outcome: 'REFUSED', rolloutId: `checkout-r2-${'ab'.repeat(32)}`.slice(0, 80), alreadyStarted: false });
    expect(started.map((s) => s.name)).toEqual([result.rolloutId]);
  });
});

describe('history lines', () => {
  it('say what triggered each rollout and how long it took', () => {
    const lines = renderHistory(
      'checkout',
      [
        record({ outcome: 'ROLLED_BACK', trigger: 'ecr-push:13cde686', reason: 'AlarmFired' }),
        record({ rolloutId: 'checkout-r1-ab', outcome: 'RUNNING', endedAt: undefined, trigger: 'cli:alice retry of x' }),
      ],
      [{ service: 'checkout', at: '2026-11-24T10:01:00.000Z', user: 'alice', via: 'cli', text: 'pause checkout', result: 'accepted' }],
      new Date('2026-11-24T10:01:30.000Z'),
    );

    expect(lines).toEqual([
      'checkout rollouts:',
      `• 2026-11-24T10:00:00.000Z checkout-${'ab'.repeat(20)}: ROLLED_BACK (ECR push 13cde686, took 4m12s) — AlarmFired`,
      '• 2026-11-24T10:00:00.000Z checkout-r1-ab: RUNNING (CLI alice retry of x, running for 1m30s)',
      'commands:',
      '• 2026-11-24T10:01:00.000Z alice (cli): pause checkout → accepted',
    ]);
  });
});

const AT = '2026-11-24T10:20:00.000Z';
const PLAN = CanaryPlan.TEN_TWENTYFIVE_FIFTY_5M.steps;
const status = (overrides: Partial<RolloutStatus>): RolloutStatus => ({
  service: 'checkout',
  at: AT,
  plan: PLAN,
  weights: { blue: 100, green: 0 },
  alarms: [{ name: 'checkout-5xx', state: 'OK' }],
  recent: [],
  ...overrides,
});

describe('the last frame of a watch', () => {
  it('shows a superseded rollout alone, not the step or decision of the rollout that superseded it', () => {
    const newer = { rolloutId: 'checkout-newer', startedAt: AT, stepIndex: 0, newSlot: 'blue' as const, state: 'Shift traffic' };
    const now = status({
      active: newer,
      decision: { state: 'Shift traffic', text: 'Shift 10% to blue' },
      recent: [
        { rolloutId: 'checkout-newer', outcome: 'RUNNING', startedAt: AT },
        { rolloutId: 'checkout-older', outcome: 'SUPERSEDED', startedAt: AT, endedAt: AT, reason: 'a newer push took over' },
      ],
    });

    const step = watchStep({ rolloutId: 'checkout-older', stepIndex: 3 }, now, false);

    expect(step).toMatchObject({ done: true, exitCode: 1 });
    expect(step.view.active).toBeUndefined();
    expect(step.view.decision).toBeUndefined();
    const lines = renderStatus(step.view, { barWidth: 10 });
    expect(lines[0]).toBe('checkout  ✖ SUPERSEDED  checkout-older in 0s');
    expect(lines.join('\n')).not.toContain('checkout-newer');
    expect(lines.join('\n')).not.toContain('(new)');
  });

  it.each([
    [[], 'no rollout began within 30s (--wait-start), and there is none yet', 0],
    [[{ rolloutId: 'checkout-1', outcome: 'SUCCEEDED', startedAt: AT }], 'no new rollout began within 30s (--wait-start); the last one, checkout-1, ended SUCCEEDED', 0],
    [[{ rolloutId: 'checkout-1', outcome: 'ROLLED_BACK', startedAt: AT }], 'no new rollout began within 30s (--wait-start); the last one, checkout-1, ended ROLLED_BACK', 1],
  ])('after --wait-start with no rollout beginning, says whether there was none yet or none new (%#)', (recent, notice, exitCode) => {
    const step = watchStep(undefined, status({ recent }), false, 30_000);

    expect(step).toMatchObject({ done: true, exitCode });
    expect(step.view.notice).toBe(notice);
    expect(renderStatus(step.view).at(-1)).toBe(`note     ${notice}`);
  });

  it('says nothing of waiting when it was not asked to wait', () => {
    expect(watchStep(undefined, status({}), false).view.notice).toBeUndefined();
  });
});
