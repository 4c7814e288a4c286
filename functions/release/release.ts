/**
 * Release: the custom resource that turns a change of the service's task definition in the user's IaC (an
 * environment variable, CPU, a sidecar) into a Cutover rollout, instead of CloudFormation pointing both
 * slots at the new revision at once. Its `TaskDefinition` property is the user's revision: CloudFormation
 * updates it exactly when the user's deploy registered a new one.
 *
 * The rollout starts through the same path as a push (one execution on the rollout state machine, Prepare
 * takes the service's lock or applies the concurrency policy), with the live image pinned to its digest and
 * the user's new revision as the one Register clones. The deploy does not wait for the rollout: it goes on
 * through the canary, and a failing alarm rolls it back to the retained revision like any push.
 */
import type { ServiceConfig } from '../core/config';
import type { CustomResourceRequest } from '../core/custom-resource';
import type { Clock, Ecs, Executions, Log, Registry, Traffic } from '../core/ports';
import { isDigest, liveSlotFromWeights, shortRevision, slotWeights, type RolloutInput } from '../core/rollout';

export interface ReleaseProperties {
  /** The Cutover service's name. */
  readonly Service: string;
  /** The user's revision of the service's task definition. */
  readonly TaskDefinition: string;
}

export interface ReleaseDeps {
  readonly services: readonly ServiceConfig[];
  readonly ecs: Pick<Ecs, 'describeService' | 'describeTaskDefinition'>;
  readonly traffic: Pick<Traffic, 'readForward'>;
  readonly registry: Pick<Registry, 'describeImage'>;
  readonly executions: Pick<Executions, 'start'>;
  readonly clock: Clock;
  readonly log: Log;
}

/** The execution name of a release: the service and the released revision (`checkout-cfg-checkout-12`). */
export function releaseName(service: string, taskDefinitionArn: string): string {
  const revision = shortRevision(taskDefinitionArn).replace(/[^A-Za-z0-9_-]/g, '-');
  return `${service.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 40)}-cfg-${revision}`.slice(0, 80);
}

/** `<registry>/<repository>@sha256:<hex>` → its parts; undefined for an image not pinned to a digest. */
export function pinnedImage(uri: string): { repository: string; digest: string } | undefined {
  const [name, digest] = uri.split('@');
  if (!name || !isDigest(digest)) return undefined;
  return { repository: name.split('/').slice(1).join('/'), digest: digest! };
}

export type ReleaseResult = { Release: string; Reason: string };

/**
 * Starts the release of a changed revision (Update whose TaskDefinition changed); Create and Delete start
 * nothing (on a first deploy both slots start on the user's revision).
 */
export async function release(request: CustomResourceRequest<ReleaseProperties>, deps: ReleaseDeps): Promise<ReleaseResult | undefined> {
  if (request.RequestType !== 'Update') return undefined;
  const { Service: name, TaskDefinition: revision } = request.ResourceProperties;
  if (request.OldResourceProperties?.TaskDefinition === revision) return { Release: 'none', Reason: 'the task definition did not change' };
  const service = deps.services.find((s) => s.name === name);
  if (!service) throw new Error(`Cutover: no service named ${name} is configured (CUTOVER_SERVICES)`);
  const forward = await deps.traffic.readForward(service.listenerArn);
  const liveSlot = forward && liveSlotFromWeights(slotWeights(forward.weights, service.slots));
  if (!liveSlot) throw new Error(`Cutover: ${name} has no slot holding all the traffic (a rollout is moving it): deploy again once it has ended`);
  const live = await deps.ecs.describeService(service.cluster, service.slots[liveSlot].serviceName);
  const liveRevision = live && (await deps.ecs.describeTaskDefinition(live.taskDefinition));
  const container = liveRevision?.definition.containerDefinitions.find((c) => c.name === service.containerName);
  if (!container) throw new Error(`Cutover: the live revision of ${name} has no container ${service.containerName}`);
  const image = typeof container.image === 'string' ? pinnedImage(container.image) : undefined;
  if (!image) {
    // Before the first push the live image is the template's own (a tag): nothing to pin, and the next push
    // takes the new revision through Prepare anyway only if it is live. Say so instead of failing the deploy.
    const reason = `the live image of ${name} (${String(container.image)}) is not pinned to a digest: no release started; push an image to roll out`;
    deps.log.warn('release not started', { service: name, revision, reason });
    return { Release: 'none', Reason: reason };
  }
  const pushedAt = (await deps.registry.describeImage(service.repository, image.digest))?.pushedAt;
  const rolloutId = releaseName(name, revision);
  const input: RolloutInput = {
    rolloutId,
    service,
    image: { repository: service.repository, digest: image.digest, pushedAt, uri: container.image as string },
    trigger: { kind: 'config', id: `${request.StackId.split('/')[1] ?? request.StackId}:${request.RequestId}`, at: deps.clock.now().toISOString() },
    release: { taskDefinitionArn: revision },
  };
  const out = await deps.executions.start(rolloutId, input);
  deps.log.info('release started', { service: name, rolloutId, revision, image: input.image.uri, executionArn: out.executionArn });
  return { Release: out.executionArn, Reason: `${shortRevision(revision)} rolls out through the canary with ${input.image.uri}` };
}
