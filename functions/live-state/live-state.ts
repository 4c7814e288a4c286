/**
 * Live state: the custom resource through which CloudFormation writes back what Cutover owns instead of the
 * template's values. The slot services' `TaskDefinition` and `DesiredCount` and the listener's forward weights
 * are `Fn::GetAtt` of this resource; its properties carry the *other* properties of those resources, so it runs
 * exactly when CloudFormation is about to update one of them, and answers what is live at that moment: the
 * update then rewrites the live values, never the template's.
 *
 * While a rollout (or any owner) holds the service's lock it refuses, failing the deploy with what to do:
 * the values it would read may change before CloudFormation writes them, and an owner's writes are proven
 * by the lock (functions/core/ownership.ts), which CloudFormation cannot take.
 */
import { RolloutBusyError } from '../core/errors';
import type { Ecs, ForwardView, LockStore, Log } from '../core/ports';
import { slotWeights, type Weights } from '../core/rollout';
import type { CustomResourceRequest } from '../core/custom-resource';

/** The resource's properties (CloudFormation sends every value as a string). */
export interface LiveStateProperties {
  readonly Service: string;
  readonly Cluster: string;
  readonly BlueService: string;
  readonly GreenService: string;
  readonly BlueTargetGroup: string;
  readonly GreenTargetGroup: string;
  /**
   * `true` when the template's listener holds the weights (its forward weights read this resource). The
   * listener is found from the target groups: its ARN here would make a cycle (the listener reads this).
   */
  readonly OwnsWeights?: string;
  /** The family of the user's task definition: on a first deploy both slots start on its newest revision. */
  readonly Family: string;
  /** The template's values, used only when the services do not exist yet (the first deploy). */
  readonly Initial: { readonly BlueDesiredCount: string; readonly GreenDesiredCount: string; readonly BlueWeight: string; readonly GreenWeight: string };
  /** The owned resources' other properties: not read, only there so that their change runs this resource. */
  readonly Shape?: unknown;
}

/** The attributes the template reads with `Fn::GetAtt`. */
export interface LiveStateData extends Record<string, string> {
  BlueTaskDefinition: string;
  GreenTaskDefinition: string;
  BlueDesiredCount: string;
  GreenDesiredCount: string;
  BlueWeight: string;
  GreenWeight: string;
}

/** The forward of the listener that sends traffic to both target groups (of their load balancer's listeners). */
export interface ForwardFinder {
  forwardTo(targetGroupArns: readonly [string, string]): Promise<ForwardView | undefined>;
}

export interface LiveStateDeps {
  readonly ecs: Pick<Ecs, 'describeService' | 'describeTaskDefinition'>;
  readonly traffic: ForwardFinder;
  readonly store: Pick<LockStore, 'getLock'>;
  readonly log: Log;
}

/** Thrown (and shown in the stack's events) when a deploy would write what an owner of the service is changing. */
export class ServiceOwnedError extends RolloutBusyError {
  constructor(service: string, holder: string) {
    super(service, holder);
    this.message =
      `Cutover: ${holder} holds service ${service} (it is moving its traffic or revisions), and this deploy would update ` +
      `its listener or slot services. Deploy again once it has ended (cutover status ${service}); nothing was changed.`;
  }
}

/**
 * The values CloudFormation writes for what Cutover owns: the template's on a first deploy (the services do not
 * exist yet), what is live otherwise. Delete changes nothing (the services and listener are the user's).
 */
export async function liveState(request: CustomResourceRequest<LiveStateProperties>, deps: LiveStateDeps): Promise<LiveStateData | undefined> {
  if (request.RequestType === 'Delete') return undefined;
  const p = request.ResourceProperties;
  const [blue, green] = await Promise.all([deps.ecs.describeService(p.Cluster, p.BlueService), deps.ecs.describeService(p.Cluster, p.GreenService)]);
  if (!blue || !green || blue.status === 'INACTIVE' || green.status === 'INACTIVE') {
    const first = await deps.ecs.describeTaskDefinition(p.Family);
    const revision = first?.definition.taskDefinitionArn;
    if (!revision) throw new Error(`Cutover: task-definition family ${p.Family} has no revision: the slots of ${p.Service} cannot start`);
    deps.log.info('live state: first deploy, the template values', { service: p.Service, revision });
    return {
      BlueTaskDefinition: revision,
      GreenTaskDefinition: revision,
      BlueDesiredCount: p.Initial.BlueDesiredCount,
      GreenDesiredCount: p.Initial.GreenDesiredCount,
      BlueWeight: p.Initial.BlueWeight,
      GreenWeight: p.Initial.GreenWeight,
    };
  }
  const holder = await deps.store.getLock(p.Service);
  if (holder) throw new ServiceOwnedError(p.Service, `${holder.role ?? 'rollout'} ${holder.rolloutId}`);
  let weights: Weights = { blue: Number(p.Initial.BlueWeight), green: Number(p.Initial.GreenWeight) };
  if (p.OwnsWeights === 'true') {
    const forward = await deps.traffic.forwardTo([p.BlueTargetGroup, p.GreenTargetGroup]);
    if (!forward) throw new Error(`Cutover: no listener of ${p.Service}'s load balancer forwards to both ${p.BlueTargetGroup} and ${p.GreenTargetGroup}`);
    weights = slotWeights(forward.weights, { blue: { targetGroupArn: p.BlueTargetGroup }, green: { targetGroupArn: p.GreenTargetGroup } });
  }
  const data: LiveStateData = {
    BlueTaskDefinition: blue.taskDefinition,
    GreenTaskDefinition: green.taskDefinition,
    BlueDesiredCount: String(blue.desiredCount),
    GreenDesiredCount: String(green.desiredCount),
    // ALB weights are integers; with nobody holding the service the split is 100/0 (the contract), so rounding loses nothing.
    BlueWeight: String(Math.round(weights.blue)),
    GreenWeight: String(Math.round(weights.green)),
  };
  deps.log.info('live state: what is live is written back', { service: p.Service, ...data });
  return data;
}
