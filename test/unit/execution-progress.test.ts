/**
 * Where status finds the newest decision of an execution: the Task states' result keys read from the
 * definition, the decision a state wrote, and the progress read from Step Functions' history events.
 */
import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';
import { progressFromHistory } from '../../functions/read/progress';
import { decisionOf, resultKeys, type RolloutStatus } from '../../functions/read/status';
import { scaledStatus } from '../../infra/local/server';
import { readRolloutDefinition } from '../../state-machines/definition';

const keys = resultKeys(JSON.parse(readRolloutDefinition()));

describe('resultKeys', () => {
  it('reads where each Task state of the definition writes its result', () => {
    expect(keys).toMatchObject({
      'Prepare rollout': 'live',
      'Register new revision': 'revision',
      'Deploy to idle slot': 'deploy',
      'Check new tasks are steady': 'steady',
      'Check alarms': 'alarms',
      'Shift traffic': 'shift',
      Bake: 'wait',
      'Manual gate': 'wait',
      'Hold (paused)': 'wait',
      'Finalize rollout': 'finalize',
      'Scale down old slot': 'retire',
      'Roll back': 'rollback',
    });
  });
});

describe('decisionOf', () => {
  it.each([
    ['Shift traffic', { shift: { decision: 'Shift 25% to green: blue 75 / green 25' } }, 'Shift 25% to green: blue 75 / green 25'],
    ['Bake', { wait: { Error: 'States.Timeout', Cause: 'Bake timed out' } }, 'bake time over, every alarm quiet'],
    ['Bake', { wait: { promotedBy: '<@U1>', full: true } }, 'ended early by promote --full from <@U1>'],
    ['Hold (paused)', { wait: { resumedBy: '<@U1>' } }, 'resumed by <@U1>'],
    ['Hold (paused)', { wait: { Error: 'PauseLifted' } }, 'resumed'],
    ['Step done', { cursor: { index: 2 } }, undefined],
    ['Shift traffic', null, undefined],
  ])('%s with %j → %s', (state, output, text) => {
    expect(decisionOf(state, output, keys)).toBe(text);
  });
});

describe('progressFromHistory', () => {
  const exited = (name: string, output: unknown): HistoryEvent => ({ type: 'TaskStateExited', id: 0, timestamp: new Date(), stateExitedEventDetails: { name, output: JSON.stringify(output) } });
  const entered = (name: string, type = 'TaskStateEntered'): HistoryEvent => ({ type: type as HistoryEvent['type'], id: 0, timestamp: new Date(), stateEnteredEventDetails: { name } });

  it('takes the newest state entered and the newest decision (events newest first)', () => {
    const events = [
      entered('Bake'),
      { type: 'ChoiceStateExited', id: 0, timestamp: new Date(), stateExitedEventDetails: { name: 'Step kind?', output: '{}' } } as HistoryEvent,
      entered('Step kind?', 'ChoiceStateEntered'),
      exited('Check alarms', { alarms: { decision: 'before step 4/7: checkout-5xx OK' } }),
      exited('Shift traffic', { shift: { decision: 'older' } }),
    ];

    expect(progressFromHistory(events, keys)).toEqual({ status: 'RUNNING', state: 'Bake', decision: { state: 'Check alarms', text: 'before step 4/7: checkout-5xx OK' } });
  });

  it('reports an execution that ended', () => {
    const events = [
      { type: 'ExecutionFailed', id: 0, timestamp: new Date() } as HistoryEvent,
      entered('Rolled back', 'FailStateEntered'),
      exited('Roll back', { rollback: { decision: 'rolled back: blue 100%' } }),
    ];

    expect(progressFromHistory(events, keys)).toMatchObject({ status: 'FAILED', state: 'Rolled back', decision: { state: 'Roll back', text: 'rolled back: blue 100%' } });
  });
});

describe('scaledStatus (local up)', () => {
  it('ends a bake when the local runner ends it: the plan length × the time scale', () => {
    const status = {
      active: { rolloutId: 'r', startedAt: '2026-11-24T10:00:00.000Z', wait: { kind: 'bake', since: '2026-11-24T10:00:00.000Z', until: '2026-11-24T10:05:00.000Z' } },
    } as unknown as RolloutStatus;

    expect(scaledStatus(status, 0.05).active!.wait!.until).toBe('2026-11-24T10:00:15.000Z');
    expect(scaledStatus(status, 1)).toBe(status);
  });
});
