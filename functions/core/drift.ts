/** Drift detection: comparing a service's live slot with what Cutover last left it as. */
import type { Slot } from './config';
import type { ServiceState } from './ports';
import { shortRevision } from './rollout';

/** Drift: the live slot is not what Cutover last left it as (changed by hand, by another tool). */
export function driftProblems(expected: ServiceState, liveSlot: Slot, live: { taskDefinition: string; desiredCount: number }): string[] {
  const drift: string[] = [];
  if (expected.liveSlot !== liveSlot) drift.push(`the live slot is ${liveSlot}, Cutover left ${expected.liveSlot} live`);
  if (expected.liveTaskDefinitionArn !== live.taskDefinition) drift.push(`the live service runs ${shortRevision(live.taskDefinition)}, Cutover left ${shortRevision(expected.liveTaskDefinitionArn)}`);
  if (expected.desiredCount !== live.desiredCount) drift.push(`the live service wants ${live.desiredCount} tasks, Cutover left ${expected.desiredCount}`);
  return drift.length ? [`drift since ${expected.rolloutId}: ${drift.join('; ')} (set adoptDrift to roll out from the current state)`] : [];
}
