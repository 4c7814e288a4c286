/**
 * A rollback target that is known to work: before every weight increase and before success is declared, the
 * slot that holds the retained revision must be able to take all the traffic back at once. Pure: the caller
 * reads the slot's ECS service and its target group's health and passes them in.
 *
 * What "can take the traffic back" means:
 * - its ECS service exists and is ACTIVE (not DRAINING, not INACTIVE, not deleted);
 * - it runs the retained revision (a rollback puts the traffic on that slot as it is);
 * - while it is warm (desired count > 0), its target group exists and has at least `desiredCount` healthy
 *   targets: the load balancer would send the traffic to what is healthy there, and fewer targets than the
 *   service wants means the slot could not carry what it carried before. A cold slot (scaled to 0) is not
 *   held to a count: a restore scales it up and waits for its targets first ({@link restoreWaitEstimateSeconds}).
 *
 * Whether the retained revision itself is still registered is checked beside this (`inactiveRevision`): it
 * aborts the rollout while the old tasks still serve, rather than holding.
 */
import type { Slot, Timings } from './config';
import type { ServiceView, TargetHealthView } from './ports';
import { shortRevision } from './rollout';

/** What the check reads of the retained slot. */
export interface RetainedSlotRead {
  readonly slot: Slot;
  readonly serviceName: string;
  /** The retained revision's ARN (what the slot should run). */
  readonly retainedTaskDefinitionArn: string;
  /** The slot's ECS service as described (undefined: missing or INACTIVE). */
  readonly service: Pick<ServiceView, 'status' | 'taskDefinition' | 'desiredCount' | 'runningCount'> | undefined;
  /** Its target group's health (undefined: the target group does not exist). */
  readonly health: TargetHealthView | undefined;
}

/**
 * Why the retained slot cannot take all the traffic back, for people; undefined when it can.
 * @example
 * rollbackTargetProblem({ slot: 'blue', serviceName: 'checkout-blue', retainedTaskDefinitionArn, service, health })
 * // 'the blue slot cannot take the traffic back: its target group has 1/2 healthy targets (1 unhealthy (Target.FailedHealthChecks))'
 */
export function rollbackTargetProblem(read: RetainedSlotRead): string | undefined {
  const problem = slotProblem(read);
  return problem && `the ${read.slot} slot cannot take the traffic back: ${problem}`;
}

function slotProblem({ serviceName, retainedTaskDefinitionArn, service, health }: RetainedSlotRead): string | undefined {
  if (!service) return `its service ${serviceName} no longer exists`;
  if (service.status !== 'ACTIVE') return `its service ${serviceName} is ${service.status}, not ACTIVE`;
  if (service.taskDefinition !== retainedTaskDefinitionArn)
    return `its service ${serviceName} runs ${shortRevision(service.taskDefinition)}, not the retained ${shortRevision(retainedTaskDefinitionArn)}`;
  // Cold: nothing to be healthy yet; a restore scales it up and waits for its targets.
  if (service.desiredCount === 0) return undefined;
  if (!health) return `its target group no longer exists`;
  if (health.healthy < service.desiredCount) {
    const why = health.problems.length ? ` (${health.problems.join(', ')})` : health.total === 0 ? ' (no target registered)' : '';
    return `its target group has ${health.healthy}/${service.desiredCount} healthy targets${why}`;
  }
  return undefined;
}

/** Whether a slot's target group has every target its service wants, healthy (a restore waits for this). */
export function slotHealthy(desiredCount: number, health: TargetHealthView | undefined): boolean {
  return desiredCount > 0 && health !== undefined && health.healthy >= desiredCount;
}

/**
 * How long a cold slot takes to be ready again, as an operator is told: the time the new slot is given to
 * become steady in a rollout (its steady checks, `steadyPollSeconds` × `steadyMaxChecks`), the bound of the
 * wait; tasks usually start in a minute or two.
 */
export function restoreWaitEstimateSeconds(timings: Pick<Timings, 'steadyPollSeconds' | 'steadyMaxChecks'>): number {
  return timings.steadyPollSeconds * timings.steadyMaxChecks;
}

/** The escalation a hold posts: what is wrong, and what a human must do. */
export function holdEscalation(service: string, where: string, reason: string, weights: string, how = 'fix the slot, then `/cutover resume {service}` (the check runs again)'): string {
  return (
    `:rotating_light: *${service}* is held at ${weights} (${where}): ${reason}. ` +
    `Cutover will not shift further or finalize until a human acts: ${how.replaceAll('{service}', service)}, or \`/cutover rollback ${service}\`.`
  );
}
