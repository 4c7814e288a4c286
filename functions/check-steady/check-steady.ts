/**
 * Check steady: is the idle slot running the new revision, steadily?
 *
 * STEADY when the service is on the target revision with exactly one deployment, that deployment is not
 * IN_PROGRESS / FAILED, and running >= desired > 0. This reads right on real ECS (the old deployment stays
 * ACTIVE until drained) and on moto (which never adds a deployment entry on UpdateService). A service with
 * no task wanted or none running is never steady: 0 >= 0 would shift traffic to a slot that serves nothing.
 */
import { DeploymentFailedError, DeploymentTimedOutError, ResourceNotFoundError } from '../core/errors';
import { requireLive, requireRevision } from '../core/input';
import { systemClock, type Clock, type Ecs, type Log, type ServiceView, type LockStore } from '../core/ports';
import { abortError, InvalidConfigError } from '../core/errors';
import { shortRevision, weightsFor, weightsText, type RolloutState, type SteadyState } from '../core/rollout';
import { fenced, ownerOf } from '../core/ownership';
import { ensureTestRule, testRuleText, type CohortDeps } from '../core/test-cohort';

export interface CheckSteadyDeps {
  readonly ecs: Ecs;
  /** Read for an abort (an ECS failure event, an operator) while the new tasks come up. */
  readonly store: LockStore;
  readonly log: Log;
  /** The test cohort's listener rule (services with `testTraffic`). @default none: such a service fails with InvalidConfig */
  readonly traffic?: CohortDeps['traffic'];
  /** @default system time */
  readonly clock?: Clock;
  readonly leaseMs?: number;
}

/** The pure decision: steady, in progress (with why), or failed (with why). */
export function steadiness(svc: ServiceView, target: string): { status: 'STEADY' | 'IN_PROGRESS' | 'FAILED'; why: string } {
  // A FAILED deployment of another revision is the target's only when it is the sole entry (moto never adds
  // one for an update); beside others it is an older failure still draining, not this rollout's.
  const failed = svc.deployments.find(
    (d) => d.rolloutState === 'FAILED' && (d.taskDefinition === undefined || d.taskDefinition === target || (svc.deployments.length === 1 && svc.taskDefinition === target)),
  );
  if (failed) return { status: 'FAILED', why: `deployment failed: ${failed.rolloutStateReason ?? 'rolloutState FAILED'}` };
  if (svc.taskDefinition !== target) return { status: 'IN_PROGRESS', why: `service still on ${shortRevision(svc.taskDefinition)}` };
  // Deploy gave the slot the live slot's count: 0 wanted means it was scaled to 0 since (or the live slot was).
  if (svc.desiredCount === 0) return { status: 'IN_PROGRESS', why: `desired count is 0 (scaled to 0 outside Cutover?): no task would serve traffic` };
  if (svc.runningCount === 0) return { status: 'IN_PROGRESS', why: `no task running yet (0/${svc.desiredCount})` };
  if (svc.deployments.length !== 1) return { status: 'IN_PROGRESS', why: `${svc.deployments.length} deployments (old tasks still draining)` };
  const d = svc.deployments[0]!;
  if (d.rolloutState === 'IN_PROGRESS') return { status: 'IN_PROGRESS', why: `deployment in progress (${svc.runningCount}/${svc.desiredCount} running)` };
  if (svc.runningCount < svc.desiredCount) return { status: 'IN_PROGRESS', why: `${svc.runningCount}/${svc.desiredCount} tasks running` };
  return { status: 'STEADY', why: `${svc.runningCount}/${svc.desiredCount} tasks running on ${shortRevision(target)}` };
}

export async function checkSteady(state: RolloutState, deps: CheckSteadyDeps): Promise<SteadyState> {
  const live = requireLive(state);
  const revision = requireRevision(state);
  const slot = state.service.slots[live.idleSlot];
  const checks = (state.steady?.checks ?? 0) + 1;
  const [svc, lock] = await Promise.all([deps.ecs.describeService(state.service.cluster, slot.serviceName), deps.store.getLock(state.service.name)]);
  if (lock?.rolloutId === state.rolloutId && lock.abort) throw abortError(lock.abort);
  if (!svc) throw new ResourceNotFoundError(`ECS service ${slot.serviceName} disappeared during the rollout`);
  const { status, why } = steadiness(svc, revision.taskDefinitionArn);
  const ctx = { rolloutId: state.rolloutId, service: state.service.name, checks, why };
  if (status === 'FAILED') {
    deps.log.warn('new revision failed to deploy', ctx);
    throw new DeploymentFailedError(`${slot.serviceName}: ${why}`);
  }
  if (status === 'IN_PROGRESS' && checks >= state.service.timings.steadyMaxChecks) {
    deps.log.warn('new revision never became steady', ctx);
    throw new DeploymentTimedOutError(`${slot.serviceName} not steady after ${checks} checks: ${why}`);
  }
  deps.log.info('steady check', { ...ctx, status });
  const decision = `check ${checks}/${state.service.timings.steadyMaxChecks}: ${status === 'STEADY' ? 'steady' : 'not yet'}, ${why}`;
  if (status !== 'STEADY' || !state.service.testTraffic) return { status, checks, decision };
  // The test cohort starts now, before any production weight: a write to the listener, so after the fence.
  if (!deps.traffic) throw new InvalidConfigError(state.service.name, ['testTraffic: check-steady has no traffic port to create the test rule']);
  const clock = deps.clock ?? systemClock;
  const held = await fenced(ownerOf(state), { ...deps, clock }, { unlessAborted: true });
  const testRule = await ensureTestRule(
    state.service,
    { rolloutId: state.rolloutId, slot: live.idleSlot, targetGroupArn: slot.targetGroupArn, lock: held, now: clock.now() },
    { traffic: deps.traffic, store: deps.store },
  );
  deps.log.info('test cohort started', { ...ctx, ruleArn: testRule.ruleArn, priority: testRule.priority });
  return { status, checks, testRule, decision: `${decision}; ${testRuleText(testRule)}; production stays ${weightsText(weightsFor(live.liveSlot, 100))}` };
}
