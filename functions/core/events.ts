/**
 * Parsing of the EventBridge events Cutover reacts to. Malformed events throw InvalidInputError listing
 * every problem; well-formed events that are not for Cutover come back as `ignore` with the reason.
 * @see https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-eventbridge.html
 * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html
 */
import { SCAN_EVENT_TYPES } from './scan';
import { InvalidInputError } from './errors';
import { isDigest } from './rollout';

export type Parsed<T> = ({ readonly kind: 'accept' } & T) | { readonly kind: 'ignore'; readonly reason: string };

export interface EcrPush {
  readonly id: string;
  readonly time: string;
  readonly account: string;
  readonly region: string;
  readonly repository: string;
  readonly digest: string;
  readonly tag?: string;
  /** `manifest-media-type`: an image manifest, or an image index of a multi-architecture push. */
  readonly manifestMediaType?: string;
  /** `artifact-media-type`: the image's config type, or an artifact's type (signature, SBOM, chart). */
  readonly artifactMediaType?: string;
}

export interface AlarmChange {
  readonly alarmName: string;
  readonly state: string;
  readonly reason: string;
  readonly time: string;
}

/** Events larger than this are refused before they are read (EventBridge's own limit is 256 KB). */
export const MAX_EVENT_BYTES = 256 * 1024;

const str = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/**
 * ECR's own rule for repository names (2-256 characters; lowercase segments joined by `.`, `_`, `-`,
 * namespaces by `/`), so nothing like `a/../b` passes.
 * @see https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CreateRepository.html
 */
const REPOSITORY_NAME = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
const isRepositoryName = (v: unknown): v is string => typeof v === 'string' && v.length >= 2 && v.length <= 256 && REPOSITORY_NAME.test(v);

/** CloudWatch alarm names are 1-255 characters with no ASCII control characters. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this pattern finds (and refuses).
const CONTROL = /[\x00-\x1f\x7f]/;

function envelope(event: unknown, source: string, detailType: string): { e: Record<string, unknown>; d: Record<string, unknown> } | { ignore: string } {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) throw new InvalidInputError('event must be a JSON object');
  // Bytes of UTF-8, as EventBridge counts them: a string's length counts UTF-16 units, not bytes.
  if (Buffer.byteLength(JSON.stringify(event), 'utf8') > MAX_EVENT_BYTES) throw new InvalidInputError(`event is larger than ${MAX_EVENT_BYTES} bytes`);
  const e = event as Record<string, unknown>;
  if (e.source !== source || e['detail-type'] !== detailType) {
    return { ignore: `not an ${detailType} event from ${source} (source ${JSON.stringify(e.source)}, detail-type ${JSON.stringify(e['detail-type'])})` };
  }
  if (typeof e.detail !== 'object' || e.detail === null || Array.isArray(e.detail)) throw new InvalidInputError(`${detailType} event has no detail object`);
  return { e, d: e.detail as Record<string, unknown> };
}

/**
 * Parses an `ECR Image Action` event. Only successful pushes are accepted; a push without a well-formed
 * digest is an error (Cutover deploys digests, never mutable tags).
 */
export function parseEcrPush(event: unknown): Parsed<EcrPush> {
  const env = envelope(event, 'aws.ecr', 'ECR Image Action');
  if ('ignore' in env) return { kind: 'ignore', reason: env.ignore };
  const { e, d } = env;
  if (d['action-type'] !== 'PUSH') return { kind: 'ignore', reason: `action-type ${JSON.stringify(d['action-type'])} is not PUSH` };
  if (d.result !== 'SUCCESS') return { kind: 'ignore', reason: `push result ${JSON.stringify(d.result)} is not SUCCESS` };
  const problems: string[] = [];
  for (const key of ['id', 'time', 'account', 'region'] as const) if (!str(e[key])) problems.push(`${key}: is required`);
  if (str(e.time) && Number.isNaN(Date.parse(e.time))) problems.push('time: must be an ISO 8601 time');
  if (str(e.account) && !/^\d{12}$/.test(e.account)) problems.push('account: must be 12 digits');
  if (!isRepositoryName(d['repository-name'])) problems.push('detail.repository-name: must be an ECR repository name');
  const tag = d['image-tag'];
  if (tag !== undefined && tag !== null && (typeof tag !== 'string' || tag.length > 300)) problems.push('detail.image-tag: must be a string of at most 300 characters');
  for (const key of ['manifest-media-type', 'artifact-media-type'] as const) {
    const v = d[key];
    if (v !== undefined && v !== null && (typeof v !== 'string' || v.length > 255)) problems.push(`detail.${key}: must be a media type (a string of at most 255 characters)`);
  }
  const digest = d['image-digest'];
  if (digest === undefined || digest === null || digest === '') {
    problems.push(`detail.image-digest: missing; Cutover deploys image digests, never mutable tags${str(tag) ? ` (the push of tag ${tag} carries no digest)` : ''}`);
  } else if (!isDigest(digest)) {
    problems.push('detail.image-digest: must be sha256: followed by 64 lowercase hex characters');
  }
  if (problems.length) throw new InvalidInputError('invalid ECR push event', problems);
  return {
    kind: 'accept',
    id: e.id as string,
    time: e.time as string,
    account: e.account as string,
    region: e.region as string,
    repository: d['repository-name'] as string,
    digest: digest as string,
    tag: str(tag) ? tag : undefined,
    manifestMediaType: str(d['manifest-media-type']) ? d['manifest-media-type'] : undefined,
    artifactMediaType: str(d['artifact-media-type']) ? d['artifact-media-type'] : undefined,
  };
}

/** A scan of an image completed (or ended): ECR's basic scanning, or Inspector's enhanced scanning. */
export interface ScanCompleted {
  readonly repository: string;
  readonly digest: string;
  readonly status: string;
}

/** Whether the event is a scan-completion event (`ECR Image Scan` or `Inspector2 Scan`). */
export const isScanEvent = (event: unknown): boolean => {
  const e = event as { source?: unknown; 'detail-type'?: unknown } | null;
  return (e?.source === 'aws.ecr' && e['detail-type'] === SCAN_EVENT_TYPES.ecr) || (e?.source === 'aws.inspector2' && e['detail-type'] === SCAN_EVENT_TYPES.inspector);
};

/**
 * Parses a scan-completion event. ECR names the repository; Inspector gives its ARN in `repository-name`.
 * @see https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-eventbridge.html
 * @see https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-scanning-enhanced-events.html
 */
export function parseScanCompleted(event: unknown): Parsed<ScanCompleted> {
  const inspector = (event as { source?: unknown } | null)?.source === 'aws.inspector2';
  const env = inspector ? envelope(event, 'aws.inspector2', SCAN_EVENT_TYPES.inspector) : envelope(event, 'aws.ecr', SCAN_EVENT_TYPES.ecr);
  if ('ignore' in env) return { kind: 'ignore', reason: env.ignore };
  const { d } = env;
  const named = d['repository-name'];
  const repository = inspector && typeof named === 'string' ? named.replace(/^arn:aws[a-z-]*:ecr:[^:]*:\d{12}:repository\//, '') : named;
  const problems: string[] = [];
  if (!isRepositoryName(repository)) problems.push(`detail.repository-name: must be an ECR repository ${inspector ? 'ARN' : 'name'}`);
  if (!isDigest(d['image-digest'])) problems.push('detail.image-digest: must be sha256: followed by 64 lowercase hex characters');
  if (!str(d['scan-status'])) problems.push('detail.scan-status: is required');
  if (problems.length) throw new InvalidInputError('invalid image scan event', problems);
  return { kind: 'accept', repository: repository as string, digest: d['image-digest'] as string, status: d['scan-status'] as string };
}

export interface EcsFailure {
  readonly cluster: string;
  readonly serviceName: string;
  readonly eventName: string;
  readonly reason: string;
}

/**
 * ECS events that mean the new revision is not coming up: the deployment circuit breaker failed it, or
 * tasks cannot start or be placed. Anything else from ECS is ignored.
 * @see https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_service_events.html
 */
export const ECS_FAILURE_EVENTS: Readonly<Record<string, readonly string[]>> = {
  'ECS Deployment State Change': ['SERVICE_DEPLOYMENT_FAILED'],
  // AWS lists SERVICE_DEPLOYMENT_FAILED among the service action events too, and the rule routes it here.
  'ECS Service Action': ['SERVICE_DEPLOYMENT_FAILED', 'SERVICE_TASK_START_IMPAIRED', 'SERVICE_TASK_PLACEMENT_FAILURE', 'SERVICE_TASK_CONFIGURATION_FAILURE'],
};

/** Parses an `ECS Deployment State Change` / `ECS Service Action` event naming a service in `resources`. */
export function parseEcsFailure(event: unknown): Parsed<EcsFailure> {
  const detailType = (event as { 'detail-type'?: unknown } | null)?.['detail-type'];
  const names = typeof detailType === 'string' && Object.hasOwn(ECS_FAILURE_EVENTS, detailType) ? ECS_FAILURE_EVENTS[detailType] : undefined;
  if (!names) return { kind: 'ignore', reason: `not an ECS deployment or service event (detail-type ${JSON.stringify(detailType)})` };
  const env = envelope(event, 'aws.ecs', detailType as string);
  if ('ignore' in env) return { kind: 'ignore', reason: env.ignore };
  const { e, d } = env;
  if (typeof d.eventName !== 'string') throw new InvalidInputError(`invalid ${detailType as string} event`, ['detail.eventName: is required']);
  if (!names.includes(d.eventName)) return { kind: 'ignore', reason: `${d.eventName} is not a failure` };
  const resources = Array.isArray(e.resources) ? e.resources : [];
  const arn = resources.find((r): r is string => typeof r === 'string' && /^arn:aws[a-z-]*:ecs:[^:]+:\d{12}:service\/[^/]+\/[^/]+$/.test(r));
  if (!arn) throw new InvalidInputError(`invalid ${detailType as string} event`, ['resources: must name the ECS service (arn:aws:ecs:<region>:<account>:service/<cluster>/<service>)']);
  const [, cluster, serviceName] = arn.split('/') as [string, string, string];
  const reasons = Array.isArray(d.reasons) ? d.reasons.filter((r): r is string => typeof r === 'string') : [];
  const reason = (typeof d.reason === 'string' ? d.reason : reasons.join('; ') || d.eventName).slice(0, 1000);
  return { kind: 'accept', cluster, serviceName, eventName: d.eventName, reason };
}

/** Parses a `CloudWatch Alarm State Change` event. */
export function parseAlarmChange(event: unknown): Parsed<AlarmChange> {
  const env = envelope(event, 'aws.cloudwatch', 'CloudWatch Alarm State Change');
  if ('ignore' in env) return { kind: 'ignore', reason: env.ignore };
  const { e, d } = env;
  const problems: string[] = [];
  if (!str(d.alarmName) || d.alarmName.length > 255 || CONTROL.test(d.alarmName)) problems.push('detail.alarmName: must be an alarm name (1-255 characters, no control characters)');
  const state = d.state as Record<string, unknown> | undefined;
  if (typeof state !== 'object' || state === null || !str(state.value)) problems.push('detail.state.value: is required');
  if (problems.length) throw new InvalidInputError('invalid alarm state change event', problems);
  return {
    kind: 'accept',
    alarmName: d.alarmName as string,
    state: state!.value as string,
    reason: typeof state!.reason === 'string' ? state!.reason.slice(0, 1000) : '',
    time: str(e.time) ? e.time : new Date(0).toISOString(),
  };
}

/** A Step Functions execution that ended (`Step Functions Execution Status Change`). */
export interface ExecutionEnded {
  readonly name: string;
  readonly status: string;
  readonly stateMachineArn: string;
  readonly error?: string;
  readonly cause?: string;
  /** The execution's input (the rollout input), when the event carries it. */
  readonly input?: unknown;
}

/** The statuses an execution ends in. */
export const ENDED_STATUSES = ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'] as const;

/** Parses a `Step Functions Execution Status Change` event; a status that is not an end is ignored. */
export function parseExecutionEnded(event: unknown): Parsed<ExecutionEnded> {
  const env = envelope(event, 'aws.states', 'Step Functions Execution Status Change');
  if ('ignore' in env) return { kind: 'ignore', reason: env.ignore };
  const { d } = env;
  const problems: string[] = [];
  if (!str(d.name) || !/^[A-Za-z0-9_-]{1,80}$/.test(d.name)) problems.push('detail.name: must be an execution name (1-80 letters, digits, - or _)');
  if (!str(d.status)) problems.push('detail.status: is required');
  if (!str(d.stateMachineArn)) problems.push('detail.stateMachineArn: is required');
  if (problems.length) throw new InvalidInputError('invalid execution status change event', problems);
  if (!(ENDED_STATUSES as readonly string[]).includes(d.status as string)) return { kind: 'ignore', reason: `execution ${d.name as string} is ${d.status as string}, not ended` };
  const text = (v: unknown) => (typeof v === 'string' ? v.slice(0, 1000) : undefined);
  let input: unknown;
  try {
    input = typeof d.input === 'string' ? JSON.parse(d.input) : undefined;
  } catch {
    input = undefined; // a truncated or foreign input: the execution name still identifies the rollout
  }
  return { kind: 'accept', name: d.name as string, status: d.status as string, stateMachineArn: d.stateMachineArn as string, error: text(d.error), cause: text(d.cause), input };
}
