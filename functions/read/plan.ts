/**
 * The plan preview (`cutover plan <service> [--image repo@sha256:…]`, `functions/read/plan-view.ts` renders it): what a
 * rollout would do, changing nothing. The resolved resources, the revision it would register (the live task definition against its clone with the new image,
 * made by the same `cloneWithImage` the register function uses), the steps with their weights and bakes,
 * the alarms with their states, and every pre-flight problem (prepare's own checks, without the lock).
 */
import type { ServiceConfig, Slot } from '../core/config';
import { otherSlot } from '../core/config';
import { describeStep } from '../core/plan';
import type { TaskDefinitionDoc } from '../core/ports';
import { isDigest, shortRevision, weightsFor, type ImageRef, type Weights } from '../core/rollout';
import { preflight, pushChecks, type PrepareDeps } from '../prepare/prepare';
import { cloneWithImage, Tag } from '../register/register';

/** One difference between two task definitions: `containerDefinitions[app].image`, before → after. */
export interface FieldChange {
  readonly path: string;
  readonly before?: unknown;
  readonly after?: unknown;
}

/** The preview of a rollout. */
export interface PlanPreview {
  readonly service: string;
  /** The image the preview is for; `given: false` when none was given and the live one stands in. */
  readonly image?: ImageRef & { readonly given: boolean };
  readonly resources: {
    readonly cluster: string;
    readonly listener: string;
    readonly containerName: string;
    readonly repository: string;
    readonly slots: Readonly<Record<Slot, { readonly serviceName: string; readonly targetGroupArn: string }>>;
  };
  /** The live slot as pre-flight read it. */
  readonly live?: { readonly slot: Slot; readonly taskDefinition: string; readonly desiredCount: number; readonly weights: Weights };
  /** The slot the new revision would go to. */
  readonly idleSlot?: Slot;
  /** The revision it would register. */
  readonly revision?: {
    readonly clonedFrom: string;
    readonly family: string;
    readonly changes: readonly FieldChange[];
    readonly tags: Readonly<Record<string, string>>;
  };
  readonly steps: ReadonlyArray<{ readonly index: number; readonly kind: string; readonly text: string; readonly weights?: Weights }>;
  /** Bakes added up (manual gates not counted). */
  readonly bakeSeconds: number;
  readonly alarms: ReadonlyArray<{ readonly name: string; readonly state: string }>;
  /** Pre-flight problems: a rollout would be refused while there is any. */
  readonly problems: readonly string[];
  /**
   * Why a rollout that passes pre-flight would roll back at once: a watched alarm already in ALARM (the
   * first alarm check, on entering the first step, aborts it; an alarm in ALARM does not refuse a push).
   */
  readonly rollsBackAtOnce: readonly string[];
}

/**
 * Parses `--image`: `repository@sha256:<64 hex>` or a full `<registry>/<repository>@sha256:…` reference.
 * @throws Error naming what is wrong.
 */
export function parseImage(text: string, registry?: string): ImageRef {
  const at = text.lastIndexOf('@');
  const digest = at > 0 ? text.slice(at + 1) : '';
  if (!isDigest(digest)) throw new Error(`--image must be repository@sha256:<64 hex> (a digest, never a tag), not "${text.slice(0, 120)}"`);
  const name = text.slice(0, at);
  const slash = name.indexOf('/');
  const hasRegistry = slash > 0 && /[.:]/.test(name.slice(0, slash));
  const repository = hasRegistry ? name.slice(slash + 1) : name;
  const host = hasRegistry ? name.slice(0, slash) : registry;
  return { repository, digest, uri: host ? `${host}/${repository}@${digest}` : `${repository}@${digest}` };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Every field that differs between two JSON documents, with its path. Arrays of named objects (container
 * definitions, environment variables) are matched by `name`, other arrays by position.
 */
export function jsonDiff(before: unknown, after: unknown, path = ''): FieldChange[] {
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  if (Array.isArray(before) && Array.isArray(after)) {
    const named = (a: unknown[]) => a.every((x) => isObject(x) && typeof x.name === 'string');
    if (named(before) && named(after)) {
      const byName = (a: unknown[]) => new Map(a.map((x) => [(x as { name: string }).name, x]));
      const b = byName(before);
      const a = byName(after);
      return [...new Set([...b.keys(), ...a.keys()])].flatMap((n) => jsonDiff(b.get(n), a.get(n), `${path}[${n}]`));
    }
    return Array.from({ length: Math.max(before.length, after.length) }, (_, i) => jsonDiff(before[i], after[i], `${path}[${i}]`)).flat();
  }
  if (isObject(before) && isObject(after)) {
    return [...new Set([...Object.keys(before), ...Object.keys(after)])].sort().flatMap((k) => jsonDiff(before[k], after[k], path ? `${path}.${k}` : k));
  }
  return [{ path, ...(before === undefined ? {} : { before }), ...(after === undefined ? {} : { after }) }];
}

/**
 * The task-definition diff of a rollout: the live revision's registrable clone with its own image against
 * the clone with the new one (both made by register's `cloneWithImage`, so the read-only fields ECS adds
 * are out of both and only what the new revision changes remains).
 */
export function revisionDiff(live: TaskDefinitionDoc, containerName: string, image: string): FieldChange[] {
  const container = live.containerDefinitions.find((c) => c.name === containerName);
  return jsonDiff(cloneWithImage(live, containerName, String(container?.image ?? '')), cloneWithImage(live, containerName, image));
}

/** The deps plan reads through: prepare's (pre-flight), of which it only reads. */
export type PlanDeps = PrepareDeps;

/** Builds the preview. Read-only: takes no lock, registers nothing, writes nothing. */
export async function buildPlan(service: ServiceConfig, imageText: string | undefined, deps: PlanDeps): Promise<PlanPreview> {
  const { blue, green } = service.slots;
  const [blueSvc, greenSvc] = await Promise.all([deps.ecs.describeService(service.cluster, blue.serviceName), deps.ecs.describeService(service.cluster, green.serviceName)]);
  // Which revision is live decides the registry of a short --image and the stand-in image without one.
  const liveGuess = blueSvc && (!greenSvc || blueSvc.desiredCount >= greenSvc.desiredCount) ? blueSvc : greenSvc;
  const liveDoc = liveGuess ? await deps.ecs.describeTaskDefinition(liveGuess.taskDefinition) : undefined;
  const liveImage = String(liveDoc?.definition.containerDefinitions.find((c) => c.name === service.containerName)?.image ?? '');
  const registry = liveImage.includes('/') ? liveImage.slice(0, liveImage.indexOf('/')) : undefined;
  const given = imageText !== undefined;
  let image: ImageRef | undefined;
  if (given) image = parseImage(imageText, registry);
  else if (liveImage.includes('@'))
    image = (() => {
      try {
        return parseImage(liveImage);
      } catch {
        return undefined;
      }
    })();

  const problems: string[] = [];
  if (given && image && image.repository !== service.repository) {
    problems.push(`image is from repository ${image.repository}, but ${service.name} rolls out pushes to ${service.repository}`);
  }
  const standIn = image ?? { repository: service.repository, digest: `sha256:${'0'.repeat(64)}`, uri: '' };
  const [pushed, seen] = await Promise.all([given && image ? pushChecks(service, image, deps) : undefined, preflight(service, standIn, deps)]);
  // Without --image the live image stands in: the checks about the image itself do not apply to it.
  problems.push(...(pushed?.problems ?? []), ...(given ? seen.problems : seen.problems.filter((p) => !p.includes(standIn.digest))));

  const idleSlot = seen.liveSlot ? otherSlot(seen.liveSlot) : undefined;
  let revision: PlanPreview['revision'];
  if (seen.live && image) {
    const live = seen.live.taskDefinition === liveGuess?.taskDefinition && liveDoc ? liveDoc : await deps.ecs.describeTaskDefinition(seen.live.taskDefinition);
    if (live?.definition.containerDefinitions.some((c) => c.name === service.containerName)) {
      const inherited = Object.fromEntries(Object.entries(live.tags).filter(([k]) => !k.startsWith('cutover:')));
      revision = {
        clonedFrom: shortRevision(seen.live.taskDefinition),
        family: live.definition.family,
        changes: revisionDiff(live.definition, service.containerName, image.uri),
        tags: { ...inherited, [Tag.ROLLOUT_ID]: '<execution name>', [Tag.SERVICE]: service.name, [Tag.DIGEST]: image.digest, [Tag.CLONED_FROM]: shortRevision(seen.live.taskDefinition) },
      };
    }
  }
  const alarms = service.alarms.map((name) => ({ name, state: seen.alarmStates.find((a) => a.name === name)?.state ?? 'MISSING' }));
  return {
    service: service.name,
    image: image ? { ...image, given } : undefined,
    resources: { cluster: service.cluster, listener: service.listenerArn, containerName: service.containerName, repository: service.repository, slots: service.slots },
    live: seen.liveSlot && seen.live && seen.weights ? { slot: seen.liveSlot, taskDefinition: seen.live.taskDefinition, desiredCount: seen.live.desiredCount, weights: seen.weights } : undefined,
    idleSlot,
    revision,
    steps: service.plan.steps.map((step, index) => ({
      index,
      kind: step.kind,
      text: describeStep(step, idleSlot),
      ...(step.kind === 'setWeight' && idleSlot ? { weights: weightsFor(idleSlot, step.weight) } : {}),
    })),
    bakeSeconds: service.plan.steps.reduce((n, s) => n + (s.kind === 'bake' ? s.seconds : 0), 0),
    alarms,
    problems,
    rollsBackAtOnce: alarms.filter((a) => a.state === 'ALARM').map((a) => `alarm ${a.name} is in ALARM: the first alarm check (on entering step 1) would roll the rollout back`),
  };
}
