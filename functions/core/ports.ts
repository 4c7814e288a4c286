/**
 * The small ports the functions depend on. `functions/aws/` implements them over the AWS SDK; tests and
 * the local runner may pass their own. No AWS types leak through them.
 */
import type { ComparisonAlarm } from './analysis';
import type { Slot } from './config';
import type { Outcome, Weights } from './rollout';

/** A service's deployment, as the steady check needs it. */
export interface DeploymentView {
  readonly status: string; // PRIMARY | ACTIVE | INACTIVE
  readonly rolloutState?: string; // IN_PROGRESS | COMPLETED | FAILED
  readonly rolloutStateReason?: string;
  readonly taskDefinition?: string;
  readonly desiredCount: number;
  readonly runningCount: number;
  readonly failedTasks: number;
}

/** An ECS service, as Cutover needs it. */
export interface ServiceView {
  readonly serviceName: string;
  readonly status: string;
  readonly taskDefinition: string;
  readonly desiredCount: number;
  readonly runningCount: number;
  readonly deployments: readonly DeploymentView[];
  /** `ECS`, `CODE_DEPLOY` or `EXTERNAL` (ECS answers nothing for `ECS` on older services). */
  readonly deploymentController?: string;
  /** ECS's own deployment strategy: `ROLLING`, or `BLUE_GREEN` / `CANARY` / `LINEAR`, which move the load balancer's traffic themselves. */
  readonly deploymentStrategy?: string;
}

/**
 * A task definition as registrable JSON (the shape of `RegisterTaskDefinition`'s input plus the read-only
 * fields ECS adds when describing). Kept structural so the core needs no AWS types.
 */
export interface TaskDefinitionDoc {
  readonly family: string;
  readonly taskDefinitionArn?: string;
  readonly containerDefinitions: ReadonlyArray<{ readonly name?: string; readonly image?: string } & Record<string, unknown>>;
  readonly [key: string]: unknown;
}

/** ECS operations. */
export interface Ecs {
  describeService(cluster: string, service: string): Promise<ServiceView | undefined>;
  updateService(cluster: string, service: string, change: { taskDefinition?: string; desiredCount?: number }): Promise<void>;
  describeTaskDefinition(arnOrFamily: string): Promise<{ definition: TaskDefinitionDoc; tags: Record<string, string> } | undefined>;
  /** Registers a revision and returns its ARN. */
  registerTaskDefinition(definition: TaskDefinitionDoc, tags: Record<string, string>): Promise<string>;
  /** ARNs of the family's ACTIVE revisions, newest first. */
  listRevisions(family: string): Promise<string[]>;
  /** Deregisters a revision (it stays describable as INACTIVE; running tasks are not touched). */
  deregisterTaskDefinition(arn: string): Promise<void>;
}

/** An ECR image scan finding. */
export interface ScanFinding {
  readonly name: string;
  readonly severity: string;
}

/** An image as ECR describes it. */
export interface ImageDescription {
  readonly pushedAt?: string;
  /** ECR's `imageManifestMediaType`: an image manifest or an image index. */
  readonly manifestMediaType?: string;
  /** ECR's `artifactMediaType`: the image's config type, or an artifact's type. */
  readonly artifactMediaType?: string;
}

/** A manifest as ECR holds it, or why ECR would not give it. */
export type ManifestDocument = { readonly mediaType?: string; readonly document: string } | { readonly unreadable: string };

/** ECR: the pushed image itself. */
export interface Registry {
  /**
   * The image with this digest, with ECR's push time and what kind of manifest it is; undefined when the
   * repository does not hold it.
   */
  describeImage(repository: string, digest: string): Promise<ImageDescription | undefined>;
  /**
   * The manifest document itself (never a layer): to read which platforms an image index has. Undefined when
   * the repository does not hold it.
   */
  readManifest(repository: string, digest: string): Promise<ManifestDocument | undefined>;
  /** The image's scan status (COMPLETE, IN_PROGRESS, FAILED, UNSUPPORTED_IMAGE, NONE) and findings. */
  scanFindings(repository: string, digest: string): Promise<{ status: string; findings: ScanFinding[] }>;
}

/** The listener's forward action, read as weights per target group. */
export interface ForwardView {
  /**
   * Target group ARN → its share of the forward in percent, exact (ALB weights are relative: raw 999/1 reads
   * 99.9 / 0.1). Only a group holding all the weight reads 100; a plain forward to one target group does.
   */
  readonly weights: Readonly<Record<string, number>>;
}

/** A listener's (or listener rule's) actions as read, to set weights on them without reading them again. */
export interface ListenerActions {
  readonly arn: string;
  /** As the adapter read them (opaque outside it). */
  readonly actions: readonly unknown[];
}

/** Absolute weights of a forward action, by target group. */
export type TargetGroupWeights = ReadonlyArray<{ readonly targetGroupArn: string; readonly weight: number }>;

/** A target group's registered targets by health, as DescribeTargetHealth reports them. */
export interface TargetHealthView {
  /** Targets in state `healthy`. */
  readonly healthy: number;
  /** Every registered target, whatever its state (`initial`, `draining`, `unhealthy`, `unused`...). */
  readonly total: number;
  /** Why the others are not healthy, counted, e.g. `2 unhealthy (Target.FailedHealthChecks)`. */
  readonly problems: readonly string[];
}

/** One condition of a listener rule: `http-header` (with its name), `source-ip`, `path-pattern`, `host-header`... */
export interface RuleCondition {
  readonly field: string;
  /** The values, ORed (for `query-string`: `key=value`). */
  readonly values: readonly string[];
  readonly headerName?: string;
  /** The condition as the adapter read it, to copy it exactly (opaque outside the adapter). */
  readonly raw?: unknown;
}

/** A listener rule as read. */
export interface RuleView {
  readonly arn: string;
  readonly priority: number | 'default';
  readonly conditions: readonly RuleCondition[];
}

/** The test cohort's listener rule, as the lock records it (see `core/test-cohort.ts`). */
export interface TestRuleRecord {
  readonly ruleArn: string;
  readonly listenerArn: string;
  readonly priority: number;
  readonly conditions: readonly RuleCondition[];
  /** The new slot, which the rule forwards to, and its target group. */
  readonly slot: Slot;
  readonly targetGroupArn: string;
  readonly createdAt: string;
  /** When the rule was removed (before the production weight, or at the configured step). */
  readonly removedAt?: string;
}

/** ALB listener / listener-rule operations. */
export interface Traffic {
  /** Reads the forward action of a listener or a listener rule; undefined if it does not exist. */
  readForward(listenerOrRuleArn: string): Promise<ForwardView | undefined>;
  /** Reads the actions a later {@link setWeights} keeps (undefined: no such listener or rule). */
  readActions(listenerOrRuleArn: string): Promise<ListenerActions | undefined>;
  /**
   * Sets absolute weights on the forward action (idempotent), keeping the other actions. With `read` (the
   * actions of the same ARN, read just before), the write is made without reading them again.
   */
  setWeights(listenerOrRuleArn: string, weights: TargetGroupWeights, read?: ListenerActions): Promise<void>;
  /** The target groups that exist among those given. */
  existingTargetGroups(arns: readonly string[]): Promise<Set<string>>;
  /** The rules of a listener, the default one included (priority `default`); undefined: no such listener. */
  describeRules(listenerArn: string): Promise<RuleView[] | undefined>;
  /** The tags of the given rules, by ARN. */
  ruleTags(ruleArns: readonly string[]): Promise<Record<string, Record<string, string>>>;
  /**
   * Creates a rule forwarding to one target group, tagged in the same call; returns its ARN, or undefined when
   * another rule took that priority meanwhile (read the rules again and pick another).
   */
  createRule(rule: { listenerArn: string; priority: number; conditions: readonly RuleCondition[]; targetGroupArn: string; tags: Record<string, string> }): Promise<string | undefined>;
  /** Deletes a rule; a rule that no longer exists is already deleted (idempotent). */
  deleteRule(ruleArn: string): Promise<void>;
  /** The health of a target group's targets (undefined: no such target group). */
  targetHealth(targetGroupArn: string): Promise<TargetHealthView | undefined>;
}

/** A CloudWatch alarm's state. */
export interface AlarmView {
  readonly name: string;
  readonly state: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA' | string;
  readonly reason?: string;
}

/**
 * The rollout-scoped comparison alarms of the canary analysis (see `core/analysis.ts`) and the metric the
 * inconclusive verdict reads.
 */
export interface AnalysisAlarms {
  /** Creates or updates the alarms (PutMetricAlarm: idempotent; an update leaves the alarm's state as it is). */
  put(alarms: readonly ComparisonAlarm[]): Promise<void>;
  /** Deletes every alarm whose name starts with `prefix` (none: nothing to do); returns the names deleted. */
  deleteWithPrefix(prefix: string): Promise<string[]>;
  /** A target group's ALB RequestCount per period between `start` and `end`, oldest first (0 where none). */
  requestsPerPeriod(query: { readonly loadBalancer: string; readonly targetGroup: string; readonly start: Date; readonly end: Date; readonly periodSeconds: number }): Promise<number[]>;
}

/** CloudWatch alarms. */
export interface Alarms {
  /** The named alarms that exist, with their state. Missing alarms are absent from the result. */
  describe(names: readonly string[]): Promise<AlarmView[]>;
}

/**
 * What a service must be put back to if its owner dies now: the slot that should hold all the traffic, the
 * revision it runs and its desired count. `retained` until a rollout commits its new revision in Finalize.
 */
export interface LockTarget {
  readonly slot: Slot;
  readonly taskDefinitionArn: string;
  readonly desiredCount: number;
  /** `retained`: the last good revision (a rollout in flight); `committed`: the rollout's new revision won. */
  readonly phase: 'retained' | 'committed';
}

/** The image a lock holder or a waiting push deploys, as the ordering of pushes needs it. */
export interface PushRef {
  /** ECR's `imagePushedAt` (ISO, ms). */
  readonly pushedAt: string;
  readonly digest: string;
}

/**
 * The per-service lock record: who owns the service, and how to reach it.
 *
 * Ownership protocol: the item outlives its holders and carries a `generation` that grows by one at every
 * change of holder. Every mutation of the service is preceded by a conditional write (`fence`) that proves
 * the holder and generation at that moment and extends `leaseUntil` over the writer's remaining run time;
 * whoever takes over from a dead holder waits until that lease has run out.
 */
export interface LockRecord {
  readonly service: string;
  readonly rolloutId: string;
  /**
   * What the holder is: a rollout's execution (aborts reach it), or one short call that changes the service
   * and releases: a restore after completion, the old slot's scale-down, a recovery. @default 'rollout'
   */
  readonly role?: 'rollout' | 'restore' | 'retire' | 'recovery';
  /** Fencing token: grows by one every time the lock changes hands. */
  readonly generation: number;
  /** No write made under the previous fence can land after this instant (ISO). */
  readonly leaseUntil?: string;
  /**
   * The leases of function invocations that fenced this service and have not said they are done (any
   * holder, any generation): a write of one of them may still be on the wire until its `until`. A new
   * holder writes nothing while a lease of an earlier generation is open.
   */
  readonly leases?: readonly OpenLease[];
  /** What recovery restores if the holder dies. */
  readonly target?: LockTarget;
  /** The holder's image, for ordering pushes (absent for restores and recoveries). */
  readonly push?: PushRef;
  /** A recovery's holder: the rollout whose service it is putting back (its record is closed, not the recovery's). */
  readonly recovers?: { readonly rolloutId: string; readonly startedAt: string };
  /** The holder's image URI and notification thread, for the record recovery closes. */
  readonly image?: string;
  readonly thread?: string;
  readonly executionArn?: string;
  readonly startedAt: string;
  readonly alarms: readonly string[];
  /** Set by the abort path; every forward state checks it. */
  readonly abort?: { readonly error: string; readonly reason: string; readonly at: string };
  /** Task token of the wait in progress (bake, gate, pause), so an abort, promote or resume ends it at once. */
  readonly taskToken?: string;
  /** What that token is waiting for, since when and until when (for status). */
  readonly wait?: WaitRecord;
  /**
   * Set by an operator's pause, or by Cutover itself when the retained slot could not take the traffic back
   * (`reason` then says why): the loop holds at the current weight until resume.
   */
  readonly pause?: { readonly by: string; readonly at: string; readonly reason?: string };
  readonly stepIndex?: number;
  /**
   * The canary analysis's inconclusive verdicts at one step: how many times its bake was extended, and whether
   * it held the rollout for a human (once per step: after an operator's resume the same verdict goes on).
   */
  readonly inconclusive?: { readonly step: number; readonly extended: number; readonly held?: boolean };
  readonly weights?: Weights;
  readonly newSlot?: Slot;
  /** The ECS service of the new slot, so ECS failure events for it abort this rollout. */
  readonly idleService?: { readonly cluster: string; readonly serviceName: string };
  /**
   * What an abort puts back at once, without waiting for the state machine (set by Prepare's fence, with the
   * retained target): all traffic on the retained slot. See {@link abortRollout}.
   */
  readonly fallback?: Fallback;
  /** The test cohort's listener rule while it exists (and once removed, when), so every cleanup finds it. */
  readonly testRule?: TestRuleRecord;
}

/** The listener write that puts all traffic back on the retained slot, and the target it stands for. */
export interface Fallback {
  readonly listenerArn: string;
  readonly weights: TargetGroupWeights;
  readonly target: LockTarget;
}

/** A rollout waiting for the service's lock (queue / supersede policies). */
export interface QueuedRollout {
  readonly service: string;
  readonly rolloutId: string;
  /** ECR's push time of its image: the queue's order (ties: the digest). */
  readonly pushedAt: string;
  readonly digest?: string;
  readonly image?: string;
  readonly taskToken: string;
}

/** What acquiring the lock asks for: a lock record without the generation the store assigns. */
export type LockRequest = Omit<LockRecord, 'generation'>;

/** One invocation's lease on a service: it may write until `until`, unless it closes the lease earlier. */
export interface OpenLease {
  /** The invocation (a Lambda request id). */
  readonly writer: string;
  /** The generation it fenced. */
  readonly generation: number;
  readonly until: string;
  /** Its holder: `<role>:<rolloutId>`. */
  readonly holder?: string;
}

/** A fence: the conditional write that proves ownership right before a mutation. */
export interface FenceRequest {
  /** The writer may write until then; a successor waits for it. */
  readonly leaseUntil: string;
  /** The invocation that fences: its lease stays open until it closes it ({@link LockStore.closeLeases}). */
  readonly writer: string;
  /** The holder it fences as (`<role>:<rolloutId>`), kept with its lease. */
  readonly holder?: string;
  /** Also set what recovery restores (Prepare: the retained revision; Finalize: the committed one). */
  readonly target?: LockTarget;
  /** Also set what an abort restores at once (Prepare). */
  readonly fallback?: Fallback;
  /** Refuse if the rollout was aborted meanwhile (forward steps; Finalize's commit). */
  readonly unlessAborted?: boolean;
}

/** An abort that also fences: see {@link LockStore.markAborted}. */
export interface AbortFence extends Pick<FenceRequest, 'leaseUntil' | 'writer' | 'holder'> {
  readonly generation: number;
  readonly target: LockTarget;
}

/** What Cutover last left a service as: the reference for drift detection. */
export interface ServiceState {
  readonly service: string;
  readonly liveSlot: Slot;
  readonly liveTaskDefinitionArn: string;
  readonly desiredCount: number;
  readonly rolloutId: string;
  readonly at: string;
  /** The live image's push (a later delivery of an older push never replaces it). */
  readonly push?: PushRef;
  /**
   * Who wrote it: the lock generation, and within one generation the stage (1 Finalize's commit, 2 a
   * rollback or restore). A late write of an earlier owner or stage never overwrites a later one.
   */
  readonly written?: { readonly generation: number; readonly stage: 1 | 2 };
}

/** A wait on a task token: a bake, a manual gate, an operator's pause (hold), or a lifecycle hook at work. */
export interface WaitRecord {
  readonly kind: 'bake' | 'gate' | 'hold' | 'hook';
  readonly since: string;
  /** When it ends by itself (bake end, gate timeout). */
  readonly until?: string;
}

/** One chat or CLI command, as the audit trail keeps it. */
export interface CommandRecord {
  readonly service: string;
  readonly at: string;
  /** Slack user ID, or the CLI user. */
  readonly user: string;
  readonly channel?: string;
  readonly via: 'slack' | 'cli';
  /** The command as typed, e.g. `rollback checkout bad latency`. */
  readonly text: string;
  /** The rollout it acted on, if any. */
  readonly rolloutId?: string;
  /** What happened: `accepted`, `refused: ...`. */
  readonly result: string;
}

/** One step of a rollout, as the history keeps it. */
export interface StepRecord {
  readonly service: string;
  readonly rolloutId: string;
  readonly index: number;
  /**
   * A record beside the step's own, kept apart from it (a dry-run verdict during the step): the same `note`
   * rewrites itself, and never the step's record. @default - the step's own record
   */
  readonly note?: string;
  readonly at: string;
  readonly state: string;
  readonly weights?: Weights;
  readonly decision: string;
}

/** One rollout's history record. */
export interface HistoryRecord {
  readonly service: string;
  readonly rolloutId: string;
  readonly startedAt: string;
  readonly outcome?: Outcome | 'RUNNING';
  /** ECR's push time of the image. */
  readonly pushedAt?: string;
  readonly image?: string;
  readonly trigger?: string;
  readonly liveSlot?: Slot;
  readonly retainedTaskDefinitionArn?: string;
  readonly newTaskDefinitionArn?: string;
  readonly weights?: Weights;
  readonly reason?: string;
  readonly endedAt?: string;
  /** The lifecycle hooks' outcomes, in the order they finished (`afterSteady hook 1 (smoke) succeeded`). */
  readonly hooks?: readonly string[];
}

/** The lock and ownership of each service: who holds it, at which generation, and the abort, wait and pause of the rollout holding it. */
export interface LockStore {
  /**
   * Takes the lock (a new generation); returns the current holder if someone else holds it. Re-taking one's
   * own lock succeeds and keeps the generation.
   */
  acquireLock(lock: LockRequest): Promise<{ acquired: true; lock: LockRecord } | { acquired: false; holder: LockRecord }>;
  /** The holder, or undefined when the lock is free. */
  getLock(service: string): Promise<LockRecord | undefined>;
  /**
   * Proves that `rolloutId` holds the lock at `generation` (and, if asked, was not aborted), extending the
   * lease; `ok: false` with the lock as it is otherwise.
   */
  fence(service: string, rolloutId: string, generation: number, request: FenceRequest): Promise<{ ok: true; lock: LockRecord } | { ok: false; lock?: LockRecord }>;
  /**
   * Releases the lock if `rolloutId` holds it (idempotent; the generation stays). With `unlessAborted`, an
   * abort recorded meanwhile keeps the lock: returns false then.
   */
  releaseLock(service: string, rolloutId: string, options?: { readonly unlessAborted?: boolean }): Promise<boolean>;
  /**
   * Closes leases: the invocations named are done and have nothing on the wire (idempotent, whoever holds
   * the lock now).
   */
  closeLeases(service: string, writers: readonly string[]): Promise<void>;
  /** Updates fields of the lock if `rolloutId` holds it; returns false if it does not. */
  updateLock(
    service: string,
    rolloutId: string,
    fields: Partial<Pick<LockRecord, 'stepIndex' | 'weights' | 'newSlot' | 'executionArn' | 'idleService' | 'thread' | 'testRule' | 'inconclusive'>>,
  ): Promise<boolean>;
  /**
   * Records the bake's task token unless the rollout was aborted meanwhile. Returns the lock as it is
   * after the call; `recorded` is false if the rollout was aborted or the lock is not ours.
   */
  recordTaskToken(service: string, rolloutId: string, taskToken: string, wait?: WaitRecord): Promise<{ recorded: boolean; lock?: LockRecord }>;
  /** Forgets the wait (its token is spent) if `rolloutId` holds the lock. */
  clearWait(service: string, rolloutId: string): Promise<void>;
  /** Sets (or with undefined clears) the operator's pause; false if `rolloutId` does not hold the lock. */
  setPause(service: string, rolloutId: string, pause: LockRecord['pause'] | undefined): Promise<boolean>;
  /** Takes over the lock of a holder that is dead (conditional on that holder and its generation); a new generation. */
  takeOverLock(stale: Pick<LockRecord, 'rolloutId' | 'generation'>, lock: LockRequest): Promise<LockRecord | undefined>;
  /**
   * Marks the rollout aborted (first reason wins) and returns the lock with its current task token. With
   * `fence`, the same write is also a fence at that generation (it fails if the generation moved on) that
   * sets the target recovery restores: the abort path may then write the listener itself.
   */
  markAborted(service: string, rolloutId: string, abort: NonNullable<LockRecord['abort']>, fence?: AbortFence): Promise<LockRecord | undefined>;
  /**
   * The one-hop abort without a read first (the alarm function knows the services, not their holders): one
   * conditional write that, if a rollout in flight on `service` watches `alarm` and Prepare has recorded its
   * fallback, marks it aborted (first reason wins), fences the lock's generation as it is, opens the
   * writer's lease at that generation and sets the target to the fallback's. `written` false: nothing was
   * written, and `lock` is the lock as it is (undefined when nobody holds it).
   */
  abortWatching(
    service: string,
    alarm: string,
    abort: NonNullable<LockRecord['abort']>,
    lease: Pick<FenceRequest, 'leaseUntil' | 'writer'>,
  ): Promise<{ readonly written: boolean; readonly lock?: LockRecord }>;
  /** Every active lock (rollouts in flight). */
  activeLocks(): Promise<LockRecord[]>;
  /** Active locks (rollouts in flight) that watch the given alarm. */
  activeLocksWatching(alarm: string): Promise<LockRecord[]>;
}

/** Pushes waiting for a service's lock. */
/** A push waiting for its image's scan to complete (the `Wait for image scan` state's task token). */
export interface ScanWait {
  readonly service: string;
  readonly rolloutId: string;
  readonly digest: string;
  readonly taskToken: string;
  readonly since: string;
}

/** Pushes waiting for their image's scan, one per service and digest (the execution name is both). */
export interface ScanWaitStore {
  /** Records (or replaces) the wait of a push. */
  putScanWait(wait: ScanWait): Promise<void>;
  /** The push of `digest` waiting for its scan, if any. */
  scanWait(service: string, digest: string): Promise<ScanWait | undefined>;
  /** Forgets the wait (idempotent). */
  deleteScanWait(service: string, digest: string): Promise<void>;
}

export interface QueueStore {
  /** Puts (or refreshes) a rollout in the service's queue. */
  enqueue(item: QueuedRollout): Promise<void>;
  /** The service's queue, oldest push first (by ECR push time, then digest). */
  queued(service: string): Promise<QueuedRollout[]>;
  /** Removes a rollout from the queue (idempotent). */
  dequeue(service: string, rolloutId: string, pushedAt: string): Promise<void>;
}

/** What happened and what is live: one record per rollout and per step, and what Cutover last left each service as. */
export interface HistoryStore {
  /** What Cutover last left the service as. */
  getServiceState(service: string): Promise<ServiceState | undefined>;
  putServiceState(state: ServiceState): Promise<void>;
  /** One record per step of a rollout (weights over time, decisions). */
  putStep(record: StepRecord): Promise<void>;
  listSteps(service: string, rolloutId: string): Promise<StepRecord[]>;
  putHistory(record: HistoryRecord): Promise<void>;
  listHistory(service: string, limit: number): Promise<HistoryRecord[]>;
}

/** The audit trail of chat and CLI commands. */
export interface AuditStore {
  /** Appends to the audit trail. */
  recordCommand(record: CommandRecord): Promise<void>;
  /** The newest commands for a service. */
  listCommands(service: string, limit: number): Promise<CommandRecord[]>;
}

/** Locks, queue, history and audit (one DynamoDB table); each function depends on the parts it uses. */
export interface RolloutStore extends LockStore, QueueStore, ScanWaitStore, HistoryStore, AuditStore {}

/** Step Functions operations the functions use. */
export interface Executions {
  /** Starts an execution; `alreadyStarted` when one with that name and input exists (duplicate event). */
  start(name: string, input: unknown): Promise<{ executionArn: string; alreadyStarted: boolean }>;
  /** Resumes a waiting task successfully. False if the token is no longer valid (ended, timed out). */
  succeedTask(taskToken: string, output: unknown): Promise<boolean>;
  /** Fails a waiting task. False if the token is no longer valid. */
  failTask(taskToken: string, error: string, cause: string): Promise<boolean>;
  /** Status of a rollout's execution (by its name, the rollout id). */
  status(rolloutId: string): Promise<'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'PENDING_REDRIVE' | 'UNKNOWN'>;
}

/** Invokes a user's lifecycle hook function and returns what it returned (functions/hook). */
export interface HookInvoker {
  /**
   * Invokes `fn` (a Lambda ARN or name) synchronously with `event`, as Lambda's RequestResponse does: its
   * return value, parsed; a function error is thrown as an Error whose message is the function's.
   */
  invoke(fn: string, event: unknown): Promise<unknown>;
}

/** The current time. */
export interface Clock {
  now(): Date;
}

/** Waits (recovery waits out a dead owner's lease). */
export type Sleep = (ms: number) => Promise<void>;

export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** Structured log lines. */
export interface Log {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export const systemClock: Clock = { now: () => new Date() };

/** JSON lines on stdout/stderr (CloudWatch Logs reads them as structured). */
export const jsonLog = (base: Record<string, unknown> = {}): Log => ({
  info: (message, fields) => console.log(JSON.stringify({ level: 'INFO', message, ...base, ...fields })),
  warn: (message, fields) => console.warn(JSON.stringify({ level: 'WARN', message, ...base, ...fields })),
  error: (message, fields) => console.error(JSON.stringify({ level: 'ERROR', message, ...base, ...fields })),
});

/** A log that drops everything (tests that do not look at logs). */
export const silentLog: Log = { info: () => {}, warn: () => {}, error: () => {} };

/** Where a rollout's messages go: one thread per rollout. */
export interface Notifier {
  /**
   * Posts a message; `thread` is the thread of the rollout (from the first message). Returns the message's
   * thread id. Never throws: a failed notification must never fail a rollout.
   */
  post(text: string, thread?: string): Promise<{ thread?: string }>;
}

/**
 * Signed chat requests already applied. A signature is valid for Slack's whole five-minute window, so a
 * captured request could be sent again within it; the first claim of its signature wins, every later one
 * is a replay.
 */
export interface RequestLedger {
  /**
   * Records `id` (a Slack request's signature, a push's execution name) as handled until `expiresAt`. True
   * the first time, false when it was already claimed (a replay, a duplicate delivery). Atomic: of two
   * concurrent claims of one id, exactly one gets true.
   */
  claim(id: string, expiresAt: Date): Promise<boolean>;
}
