/**
 * Start: an ECR push → one rollout per service configured for that repository, each pinned to the pushed
 * digest. The execution name is the service and the digest, so a duplicate delivery, or the same digest
 * pushed under another tag, starts nothing new.
 *
 * Only a tagged push of a container image or image index is a rollout: a push without a tag (a platform image
 * or attestation of a multi-architecture push) and an artifact (signature, SBOM, chart) start nothing.
 *
 * A duplicate is also counted once: the same digest under another tag makes StartExecution fail with
 * ExecutionAlreadyExists, but the same event delivered twice (the same input) makes it succeed again, as
 * Step Functions documents for a Standard workflow. So the first start of an execution name is claimed in
 * the ledger after it succeeded; a start that finds the claim taken is a duplicate.
 */
import { tagMatches, type ServiceConfig } from '../core/config';
import { isScanEvent, parseEcrPush, parseScanCompleted } from '../core/events';
import { notARollout } from '../core/manifests';
import type { Clock, Executions, Log, Registry, RequestLedger, ScanWaitStore } from '../core/ports';
import { executionName, imageUri, type RolloutInput } from '../core/rollout';

export interface StartDeps {
  readonly services: readonly ServiceConfig[];
  readonly executions: Executions;
  /** ECR's push time of the image, which orders pushes. */
  readonly registry: Pick<Registry, 'describeImage'>;
  /** Where the first start of each execution name is claimed (duplicates are not counted). */
  readonly requestLedger: RequestLedger;
  /** Pushes waiting for their image's scan: a scan-complete event ends their wait. */
  readonly store: ScanWaitStore;
  readonly clock: Clock;
  readonly log: Log;
}

/** How long a push's claim is kept: longer than EventBridge retries a delivery (24 hours). */
const PUSH_CLAIM_MS = 48 * 3600 * 1000;

export interface StartResult {
  readonly started: ReadonlyArray<{ service: string; executionArn: string }>;
  readonly duplicates: ReadonlyArray<{ service: string; executionArn: string }>;
  /** A scan-complete event: the pushes whose wait for the scan it ended. */
  readonly scanned?: ReadonlyArray<{ service: string; rolloutId: string }>;
  readonly ignored?: string;
}

export async function start(event: unknown, deps: StartDeps): Promise<StartResult> {
  if (isScanEvent(event)) return scanned(event, deps);
  const push = parseEcrPush(event);
  if (push.kind === 'ignore') {
    deps.log.info('event ignored', { reason: push.reason });
    return { started: [], duplicates: [], ignored: push.reason };
  }
  // One push per manifest: a multi-architecture push's platform images and attestations (by digest, no tag)
  // and artifacts are not rollouts; its tagged index is.
  const notRollout = notARollout(push);
  if (notRollout) {
    deps.log.info('push ignored', { reason: notRollout, repository: push.repository, digest: push.digest, tag: push.tag, manifestMediaType: push.manifestMediaType });
    return { started: [], duplicates: [], ignored: notRollout };
  }
  const forRepository = deps.services.filter((s) => s.repository === push.repository);
  if (forRepository.length === 0) {
    const reason = `no service is configured for repository ${push.repository}`;
    deps.log.info('push ignored', { reason, repository: push.repository, digest: push.digest });
    return { started: [], duplicates: [], ignored: reason };
  }
  const targets = forRepository.filter((s) => tagMatches(s.tagFilter, push.tag));
  for (const s of forRepository.filter((x) => !targets.includes(x))) {
    deps.log.info('push ignored for a service', { service: s.name, reason: `tag ${push.tag ?? '(none)'} does not match the tag filter ${s.tagFilter}`, digest: push.digest });
  }
  if (targets.length === 0) {
    const reason = `tag ${push.tag ?? '(none)'} of ${push.repository} matches the tag filter of no service (${forRepository.map((s) => `${s.name}: ${s.tagFilter}`).join(', ')})`;
    return { started: [], duplicates: [], ignored: reason };
  }
  // ECR's own push time orders pushes (the event's `time` has one-second resolution and deliveries come in
  // any order). Unknown digests start anyway: prepare refuses them with a record.
  const pushedAt = (await deps.registry.describeImage(push.repository, push.digest))?.pushedAt;
  const started: { service: string; executionArn: string }[] = [];
  const duplicates: { service: string; executionArn: string }[] = [];
  for (const service of targets) {
    const name = executionName(service.name, push.digest);
    const input: RolloutInput = {
      rolloutId: name,
      service,
      image: { repository: push.repository, digest: push.digest, tag: push.tag, pushedAt, uri: imageUri(push.account, push.region, push.repository, push.digest) },
      trigger: { kind: 'ecr-push', id: push.id, at: push.time },
    };
    const out = await deps.executions.start(name, input);
    // Claimed only after the start succeeded: a start that failed and is retried still counts once. The
    // claim only keeps the count right: the rollout runs whatever happens to it.
    const duplicate = out.alreadyStarted || !(await firstStart(name, deps));
    (duplicate ? duplicates : started).push({ service: service.name, executionArn: out.executionArn });
    deps.log.info(duplicate ? 'duplicate push: rollout already started' : 'rollout started', {
      service: service.name,
      rolloutId: name,
      executionArn: out.executionArn,
      image: input.image.uri,
      tag: push.tag,
    });
  }
  return { started, duplicates };
}

/** Whether this is the first start of `name` (true, with a log line, when the claim cannot be made). */
async function firstStart(name: string, deps: StartDeps): Promise<boolean> {
  try {
    return await deps.requestLedger.claim(`push:${name}`, new Date(deps.clock.now().getTime() + PUSH_CLAIM_MS));
  } catch (error) {
    deps.log.warn('the first start of this push could not be claimed: counted as started', { rolloutId: name, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
    return true;
  }
}

/**
 * A scan of an image completed: every push of that digest waiting for it goes on to Prepare, which reads the
 * findings and decides. A wait whose execution has ended already is forgotten.
 */
async function scanned(event: unknown, deps: StartDeps): Promise<StartResult> {
  const scan = parseScanCompleted(event);
  if (scan.kind === 'ignore') return { started: [], duplicates: [], ignored: scan.reason };
  const woken: { service: string; rolloutId: string }[] = [];
  for (const service of deps.services.filter((s) => s.repository === scan.repository && s.imageScan)) {
    const wait = await deps.store.scanWait(service.name, scan.digest);
    if (!wait) continue;
    if (await deps.executions.succeedTask(wait.taskToken, { scanned: scan.status })) woken.push({ service: service.name, rolloutId: wait.rolloutId });
    await deps.store.deleteScanWait(service.name, scan.digest);
  }
  deps.log.info(woken.length ? 'image scan completed: pushes go on' : 'image scan completed: no push was waiting for it', {
    repository: scan.repository,
    digest: scan.digest,
    status: scan.status,
    woken,
  });
  return { started: [], duplicates: [], scanned: woken };
}
