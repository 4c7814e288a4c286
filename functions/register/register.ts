/**
 * Register: clone the live (retained) task definition with the named container's image replaced by the
 * image pinned to its digest, register it as a new revision and tag it with the rollout id.
 * Idempotent: a retry finds the revision it registered by its tag and registers nothing new.
 */
import { InvalidInputError, ResourceNotFoundError } from '../core/errors';
import { requireLive } from '../core/input';
import type { Clock, Ecs, Log, RolloutStore, TaskDefinitionDoc } from '../core/ports';
import { fenced, ownerOf } from '../core/ownership';
import { shortRevision, type RevisionState, type RolloutState } from '../core/rollout';

export interface RegisterDeps {
  readonly ecs: Ecs;
  /** The fence before registering. */
  readonly store: Pick<RolloutStore, 'fence' | 'closeLeases'>;
  readonly clock: Clock;
  readonly log: Log;
  readonly leaseMs?: number;
}

/** Tag keys Cutover puts on the revisions it registers. */
export const Tag = {
  ROLLOUT_ID: 'cutover:rollout-id',
  SERVICE: 'cutover:service',
  DIGEST: 'cutover:image-digest',
  CLONED_FROM: 'cutover:cloned-from',
} as const;

/** Fields ECS adds when it describes a task definition; RegisterTaskDefinition refuses them. */
const READ_ONLY = ['taskDefinitionArn', 'revision', 'status', 'requiresAttributes', 'compatibilities', 'registeredAt', 'registeredBy', 'deregisteredAt'];

/**
 * The registrable clone of `definition` with `container`'s image replaced by `image`. Pure.
 * @throws InvalidInputError if the container is not in the definition.
 */
export function cloneWithImage(definition: TaskDefinitionDoc, container: string, image: string): TaskDefinitionDoc {
  if (!definition.containerDefinitions.some((c) => c.name === container)) {
    throw new InvalidInputError(`container ${container} is not in task definition ${definition.family}`);
  }
  const copy: Record<string, unknown> = structuredClone(definition);
  for (const key of READ_ONLY) delete copy[key];
  copy.containerDefinitions = definition.containerDefinitions.map((c) => (c.name === container ? { ...structuredClone(c), image } : structuredClone(c)));
  return copy as TaskDefinitionDoc;
}

export async function register(state: RolloutState, deps: RegisterDeps): Promise<RevisionState> {
  const live = requireLive(state);
  const { rolloutId, service, image } = state;
  // A release clones the user's new revision (its configuration), a push the live one.
  const sourceArn = state.release?.taskDefinitionArn ?? live.retainedTaskDefinitionArn;
  const retained = await deps.ecs.describeTaskDefinition(sourceArn);
  if (!retained) throw new ResourceNotFoundError(`the ${state.release ? 'released' : 'live'} task definition ${sourceArn} no longer exists`);

  // A retried register: the family's newest revision already carries this rollout's tag.
  const latest = await deps.ecs.describeTaskDefinition(retained.definition.family);
  const latestArn = latest?.definition.taskDefinitionArn;
  if (latest && latestArn && latest.tags[Tag.ROLLOUT_ID] === rolloutId) {
    return { taskDefinitionArn: latestArn, retainedTaskDefinitionArn: live.retainedTaskDefinitionArn, decision: `reused ${shortRevision(latestArn)}, registered by this rollout` };
  }

  const clone = cloneWithImage(retained.definition, service.containerName, image.uri);
  await fenced(ownerOf(state), deps, { unlessAborted: true });
  const inherited = Object.fromEntries(Object.entries(retained.tags).filter(([k]) => !k.startsWith('cutover:')));
  const arn = await deps.ecs.registerTaskDefinition(clone, {
    ...inherited,
    [Tag.ROLLOUT_ID]: rolloutId,
    [Tag.SERVICE]: service.name,
    [Tag.DIGEST]: image.digest,
    [Tag.CLONED_FROM]: shortRevision(sourceArn),
  });
  const from = state.release ? ` from the released configuration ${shortRevision(sourceArn)}` : '';
  const decision = `registered ${shortRevision(arn)}${from} with ${service.containerName} = ${image.uri}; ${shortRevision(live.retainedTaskDefinitionArn)} is retained`;
  deps.log.info('revision registered', { rolloutId, service: service.name, decision });
  return { taskDefinitionArn: arn, retainedTaskDefinitionArn: live.retainedTaskDefinitionArn, decision };
}
