/** Shift: set the listener's absolute weights for the current setWeight step (idempotent, sums to 100). */
import { InvalidInputError } from '../core/errors';
import { requireLive } from '../core/input';
import type { AnalysisAlarms, Clock, Log, Notifier, Traffic, HistoryStore, LockStore } from '../core/ports';
import { startAnalysis } from '../core/canary-analysis';
import { describeStep } from '../core/plan';
import { targetGroupWeights, weightsFor, type RolloutState, type Weights } from '../core/rollout';
import { fenced, ownerOf } from '../core/ownership';
import { slackText } from '../core/slack-text';
import { endTestCohortBefore } from '../core/test-cohort';
import { StateName } from '../../state-machines/states';

export interface ShiftDeps {
  readonly traffic: Traffic;
  readonly store: LockStore & HistoryStore;
  readonly clock: Clock;
  readonly log: Log;
  /** Rollout messages (best effort). @default none */
  readonly notifier?: Notifier;
  readonly leaseMs?: number;
  /** The canary analysis's alarms (services with `analysis`). @default none */
  readonly analysis?: AnalysisAlarms;
}

export interface ShiftResult {
  readonly weights: Weights;
  /** When the listener had the weights (ISO). The next shift measures the step's duration from it. */
  readonly at: string;
  readonly decision: string;
}

export async function shift(state: RolloutState, deps: ShiftDeps): Promise<ShiftResult> {
  const live = requireLive(state);
  const step = state.cursor?.step;
  if (step?.kind !== 'setWeight') throw new InvalidInputError('invalid rollout state', ['cursor.step: must be a setWeight step']);
  const { slots, listenerArn, name } = state.service;
  const weights = weightsFor(live.idleSlot, step.weight);
  // An abort recorded meanwhile (alarm, operator, newer push) wins over moving more traffic.
  const held = await fenced(ownerOf(state), deps, { unlessAborted: true });
  // The test cohort ends before its end step's weights (the first production weight unless configured).
  const cohortEnded = await endTestCohortBefore(state.service, held, { index: state.cursor?.index ?? 0, weight: step.weight }, { rolloutId: state.rolloutId, now: deps.clock.now() }, deps);
  // The comparison alarms exist before the canary serves its first request at this weight.
  await startAnalysis(state.service, state.rolloutId, live.idleSlot, step.weight, deps);
  await deps.traffic.setWeights(listenerArn, targetGroupWeights(slots, weights));
  const at = deps.clock.now().toISOString();
  await deps.store.updateLock(name, state.rolloutId, { weights, stepIndex: state.cursor?.index });
  const decision = `${describeStep(step, live.idleSlot)}: blue ${weights.blue} / green ${weights.green}${cohortEnded ?? ''}`;
  // The durable record of the weights over time, beside the rollout's history record.
  await deps.store.putStep({ service: name, rolloutId: state.rolloutId, index: state.cursor?.index ?? 0, at, state: StateName.ShiftTraffic, weights, decision });
  deps.log.info('weights set', { rolloutId: state.rolloutId, service: name, weights, decision });
  await deps.notifier?.post(`*${name}* ${slackText(decision)}`, live.thread);
  return { weights, at, decision };
}
