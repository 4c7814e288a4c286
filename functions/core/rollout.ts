/**
 * The rollout's execution state and the pure decisions taken on it.
 *
 * The state machine passes the whole state to every function and stores each function's result under
 * its own key (`ResultPath`), so the input survives every step and the rollback path sees everything.
 */
import type { ServiceConfig, SlotConfig, Slot } from './config';
import { otherSlot } from './config';
import type { PlanStep } from './plan';
import type { TestRuleRecord } from './ports';

/** The image a rollout deploys, pinned to its digest. */
export interface ImageRef {
  /** ECR repository name. */
  readonly repository: string;
  /** `sha256:<64 hex>`. */
  readonly digest: string;
  /** The tag that was pushed, for people; never used to deploy. */
  readonly tag?: string;
  /** ECR's `imagePushedAt` (ISO, ms): orders pushes. Absent when ECR does not know the digest. */
  readonly pushedAt?: string;
  /** `<account>.dkr.ecr.<region>.amazonaws.com/<repository>@sha256:...` */
  readonly uri: string;
}

/** What started the rollout. */
export interface Trigger {
  /** `config`: the user's own deploy changed the service's task definition (functions/release). */
  readonly kind: 'ecr-push' | 'cli' | 'chat' | 'config';
  /** EventBridge event id, CLI user, Slack user... */
  readonly id: string;
  /** ISO time of the triggering event. */
  readonly at: string;
}

/** The execution input that the start function builds. */
export interface RolloutInput {
  /** Unique id of the rollout; also the Step Functions execution name. */
  readonly rolloutId: string;
  readonly service: ServiceConfig;
  readonly image: ImageRef;
  readonly trigger: Trigger;
  /**
   * The rollout this one retries (`cutover retry`): the same image run again without a new push. Prepare
   * lets a retry of the newest push through the push order once; everything else is checked as for a push.
   */
  readonly retryOf?: string;
  /**
   * A release of a task-definition change made in the user's IaC (functions/release): Register clones this
   * revision (the user's new one) instead of the live one, with the named container's image replaced by the
   * live image, so the new configuration rolls out through the canary like a push. @default - a push: the live revision is cloned
   */
  readonly release?: { readonly taskDefinitionArn: string };
}

/**
 * Listener weights in percent, per slot. What Cutover sets is whole and sums to 100; what it reads from a
 * listener is each slot's exact share of the forward action's total (ALB weights are 0-999 and relative,
 * so 999/1 reads 99.9 / 0.1), never rounded: only a slot that holds all of the traffic reads 100.
 */
export interface Weights {
  readonly blue: number;
  readonly green: number;
}

/** What prepare found (`$.live`). */
export interface LiveState {
  /** ISO time the rollout took the lock; with rolloutId it keys the history record. */
  readonly startedAt: string;
  /** The slot holding all the traffic. */
  readonly liveSlot: Slot;
  /** The slot the new revision goes to. */
  readonly idleSlot: Slot;
  /** The live slot's task definition: the retained (last known good) revision. */
  readonly retainedTaskDefinitionArn: string;
  /** The idle slot's task definition before the rollout. */
  readonly idleTaskDefinitionArn: string;
  /** Desired count of the live slot, given to the new slot. */
  readonly desiredCount: number;
  readonly weights: Weights;
  readonly decision: string;
  /** The rollout's notification thread, when notifications are on. */
  readonly thread?: string;
  /** The lock's fencing generation this rollout holds: every mutation proves it. */
  readonly generation: number;
}

/** What register did (`$.revision`). */
export interface RevisionState {
  readonly taskDefinitionArn: string;
  readonly retainedTaskDefinitionArn: string;
  readonly decision: string;
}

/** Steady-state check result (`$.steady`). */
export interface SteadyState {
  readonly status: 'STEADY' | 'IN_PROGRESS';
  readonly checks: number;
  readonly decision: string;
  /** The test cohort's rule, created once the new tasks are steady (services with `testTraffic`). */
  readonly testRule?: TestRuleRecord;
}

/** The canary loop's cursor (`$.cursor`), maintained by the state machine. */
export interface Cursor {
  readonly index: number;
  readonly total: number;
  readonly step?: PlanStep;
}

/** The error a failed state hands to the rollback path (`$.error`). */
export interface StateError {
  readonly Error: string;
  readonly Cause?: string;
}

/** The whole execution state, as functions receive it. Later keys exist once their state has run. */
export interface RolloutState extends RolloutInput {
  /** Set by the state machine when the wait for the image's scan timed out (`Image scan timed out`). */
  readonly scanWait?: { readonly timedOut?: boolean };
  readonly live?: LiveState;
  readonly revision?: RevisionState;
  readonly steady?: SteadyState;
  readonly cursor?: Cursor;
  /** The last weight change (Shift traffic's result): the canary has been at these weights since `at`. */
  readonly shift?: { readonly weights: Weights; readonly at: string };
  /** How the last wait ended: an operator's promote (a bake or gate ended early) says who. */
  readonly wait?: { readonly promotedBy?: string; readonly full?: boolean };
  readonly error?: StateError;
}

/** Final outcome of a rollout. */
export type Outcome = 'SUCCEEDED' | 'ROLLED_BACK' | 'FAILED' | 'REFUSED' | 'SUPERSEDED';

/**
 * When a push happened, as the rollout knows it: ECR's `imagePushedAt` (read by Prepare, or carried in the
 * input by the start function), else the event's time. Keys the push's queue entry and the record of a push
 * that never took the service, so every writer of those finds the same item.
 */
export function pushTimeOf(input: { readonly image?: Pick<ImageRef, 'pushedAt'>; readonly trigger?: Pick<Trigger, 'at'> }, ecrPushedAt?: string): string | undefined {
  return ecrPushedAt ?? input.image?.pushedAt ?? input.trigger?.at;
}

/** Weights that put `newWeight`% on `newSlot` and the rest on the other; always sums to 100. */
export function weightsFor(newSlot: Slot, newWeight: number): Weights {
  const w = Math.max(0, Math.min(100, Math.round(newWeight)));
  return newSlot === 'blue' ? { blue: w, green: 100 - w } : { blue: 100 - w, green: w };
}

/**
 * Each slot's share of a forward action read per target group (percent of the total, unrounded). A slot
 * whose target group the action does not name reads 0; a target group of neither slot keeps its share to
 * itself, so the slots then do not add up to 100.
 * @example slotWeights({ [blueTg]: 99.9, [greenTg]: 0.1 }, service.slots) // { blue: 99.9, green: 0.1 }
 */
export function slotWeights(byTargetGroup: Readonly<Record<string, number>>, slots: Readonly<Record<Slot, Pick<SlotConfig, 'targetGroupArn'>>>): Weights {
  return { blue: byTargetGroup[slots.blue.targetGroupArn] ?? 0, green: byTargetGroup[slots.green.targetGroupArn] ?? 0 };
}

/** The inverse of {@link slotWeights}: slot weights as the listener's forward action takes them, per target group. */
export function targetGroupWeights(slots: Readonly<Record<Slot, Pick<SlotConfig, 'targetGroupArn'>>>, weights: Weights): Array<{ targetGroupArn: string; weight: number }> {
  return [
    { targetGroupArn: slots.blue.targetGroupArn, weight: weights.blue },
    { targetGroupArn: slots.green.targetGroupArn, weight: weights.green },
  ];
}

/**
 * Why a slot's ECS service cannot take traffic (gone, scaled to 0, no task running), or undefined when it
 * can. Changed outside Cutover, such a slot must never be given the traffic or be the only one left.
 */
export function cannotServe(slot: Slot, serviceName: string, view: { readonly desiredCount: number; readonly runningCount: number } | undefined): string | undefined {
  if (!view) return `the ${slot} slot's service ${serviceName} no longer exists`;
  if (view.desiredCount === 0) return `the ${slot} slot's service ${serviceName} was scaled to 0 outside Cutover (desired count 0, ${view.runningCount} running)`;
  if (view.runningCount === 0) return `the ${slot} slot's service ${serviceName} has no task running (0/${view.desiredCount})`;
  return undefined;
}

/**
 * The live slot from the listener's weights: the slot holding exactly 100% while the other holds exactly 0.
 * Returns undefined for anything else: traffic split (a rollout left half-way, a manual change, even 99.9 /
 * 0.1), no traffic on either slot, or traffic on a target group of neither slot. A new rollout must not guess.
 */
export function liveSlotFromWeights(weights: Weights): Slot | undefined {
  if (weights.blue === 100 && weights.green === 0) return 'blue';
  if (weights.green === 100 && weights.blue === 0) return 'green';
  return undefined;
}

/**
 * A weight as an operator reads it: whole numbers as they are, a share to one decimal, with more decimals
 * where one would round it to 0 or 100 (a slot with 0.02% still has traffic; one with 99.98% is not live).
 */
export function percentText(weight: number): string {
  if (Number.isInteger(weight)) return String(weight);
  for (let digits = 1; digits <= 6; digits++) {
    const text = weight.toFixed(digits);
    const shown = Number(text);
    if (shown !== 0 && shown !== 100) return text;
  }
  return String(weight);
}

/** `blue 99.9 / green 0.1`: the weights as every view and record shows them. */
export const weightsText = (weights: Weights): string => `blue ${percentText(weights.blue)} / green ${percentText(weights.green)}`;

export { otherSlot };

const DIGEST = /^sha256:[a-f0-9]{64}$/;

/** True for a well-formed image digest (`sha256:` + 64 lowercase hex). */
export const isDigest = (v: unknown): v is string => typeof v === 'string' && DIGEST.test(v);

/**
 * The DNS suffix of a Region's partition: `amazonaws.com`, `amazonaws.com.cn` in China, and the isolated
 * partitions' own (GovCloud uses the commercial suffix).
 */
export function urlSuffixOf(region: string): string {
  if (region.startsWith('cn-')) return 'amazonaws.com.cn';
  if (region.startsWith('us-isob-')) return 'sc2s.sgov.gov';
  if (region.startsWith('us-iso-')) return 'c2s.ic.gov';
  if (region.startsWith('eu-isoe-')) return 'cloud.adc-e.uk';
  if (region.startsWith('us-isof-')) return 'csp.hci.ic.gov';
  return 'amazonaws.com';
}

/** `<registry>/<repository>@<digest>`: the image reference a task definition is pinned to, in the Region's partition. */
export function imageUri(account: string, region: string, repository: string, digest: string): string {
  return `${account}.dkr.ecr.${region}.${urlSuffixOf(region)}/${repository}@${digest}`;
}

/**
 * The Step Functions execution name of a rollout: `<service>-<digest hex>`, e.g. `checkout-3f9a1c2b…` (the
 * first 39 hex digits). One digest is one rollout per service: a duplicate delivery, or the same digest
 * pushed under another tag, maps to the same name and starts nothing new. Allowed characters only, at most 80.
 * @see https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html
 */
export function executionName(service: string, digest: string): string {
  const safe = service.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 40);
  const hex = digest.replace(/^sha256:/, '').slice(0, 79 - safe.length);
  return `${safe}-${hex}`;
}

/**
 * Whether push `a` is newer than push `b`: ECR's push time first; on the same instant, the higher digest
 * (an arbitrary but fixed order, so every delivery and every function decides alike).
 */
export function isNewerPush(a: { pushedAt: string; digest: string }, b: { pushedAt: string; digest: string }): boolean {
  const ta = Date.parse(a.pushedAt);
  const tb = Date.parse(b.pushedAt);
  if (ta !== tb) return ta > tb;
  return a.digest > b.digest;
}

/**
 * The newer of two pushes (either may be absent): the service state keeps the newest push that ever took
 * the service past pre-flight, so a late delivery of an older one never replaces it, even after a rollback.
 */
export function newestPush<P extends { pushedAt: string; digest: string }>(a: P | undefined, b: P | undefined): P | undefined {
  if (!a) return b;
  if (!b) return a;
  return isNewerPush(a, b) ? a : b;
}

/** `arn:...:task-definition/checkout:7` → `checkout:7`. */
export const shortRevision = (arn: string): string => arn.split('/').pop() ?? arn;

/**
 * Why a revision can no longer carry traffic, or undefined when it is ACTIVE. `found` is what
 * `Ecs.describeTaskDefinition` answered: a deregistered revision stays describable with status INACTIVE (or
 * DELETE_IN_PROGRESS once its deletion is asked for); one that is gone answers nothing.
 * @example inactiveRevision(arn, await ecs.describeTaskDefinition(arn)) // 'checkout:7 is INACTIVE, not ACTIVE (deregistered outside Cutover)'
 * @see https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deregister-task-definition-v2.html
 */
export function inactiveRevision(arn: string, found: { readonly definition: Readonly<Record<string, unknown>> } | undefined): string | undefined {
  if (!found) return `${shortRevision(arn)} no longer exists`;
  const status = found.definition.status;
  if (status === 'ACTIVE') return undefined;
  return typeof status === 'string' ? `${shortRevision(arn)} is ${status}, not ACTIVE (deregistered outside Cutover)` : `${shortRevision(arn)} has no ACTIVE status`;
}
