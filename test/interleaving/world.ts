/**
 * An in-memory AWS for the interleaving test: ECS (two slot services per managed service, task-definition
 * revisions that are ACTIVE or INACTIVE, with tags), one ALB listener per managed service with a weight per
 * target group, CloudWatch alarms, ECR images with their push time, and the rollout store
 * ({@link MemoryStore}, with DynamoDB's conditional semantics).
 *
 * Every port call made inside a function invocation waits a seeded virtual delay before it takes effect and
 * another before its answer returns, so concurrent flows interleave differently per seed and identically for
 * the same seed. A call may also fail once, as armed by the schedule ({@link Fault}): before it takes effect
 * or after (the effect landed, the answer is lost); a fault that kills the sandbox fails every later call of
 * that invocation, as a Lambda that timed out makes no more calls.
 *
 * The world watches the invariants that must hold at every moment, at the writes themselves:
 * - traffic: every target group with weight > 0 belongs to a slot that runs an ACTIVE revision, with tasks
 *   (unless someone outside Cutover scaled that slot down: whether Cutover noticed shows once settled);
 * - retained: the lock's target revision and the live revision are never deregistered, nor one another
 *   service runs;
 * - owners: every mutation (weights, either slot's service, registering or deregistering a revision) is made
 *   by an invocation that fenced the service's lock, and never by an older generation once a newer one
 *   has written.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { ServiceConfig, Slot } from '../../functions/core/config';
import type { Alarms, AlarmView, Ecs, Executions, Registry, RequestLedger, ServiceView, TaskDefinitionDoc, Traffic } from '../../functions/core/ports';
import { imageUri, shortRevision } from '../../functions/core/rollout';
import { hashKey } from './random';
import { MemoryStore } from './memory-store';

/** Longest time a request on the wire when its sandbox died may take to land (below the world's lease). */
export const LATE_LANDING_MAX_MS = 1_500;

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';

/** One invariant broken, with the virtual time it was seen at (ms since the schedule began). */
export interface Violation {
  readonly invariant: string;
  readonly atMs: number;
  readonly detail: string;
}

/**
 * A crash armed by the schedule: the `call`-th port call of the next invocation of `fn` fails with an error
 * named `error`: `before` it takes effect, `after` (the effect landed, the answer is lost), or `late` (the
 * sandbox dies with the request on the wire, and the effect lands up to {@link LATE_LANDING_MAX_MS} later,
 * within the lease a fence grants). `kill`: the sandbox is gone (a timeout, a runtime crash), so no later call
 * of that invocation happens and its finally blocks write nothing; otherwise the error is thrown to the
 * function's code, which may catch it.
 */
export interface Fault {
  readonly fn: string;
  readonly call: number;
  readonly when: 'before' | 'after' | 'late';
  readonly error: string;
  readonly kill: boolean;
}

/** One function invocation, as the world tracks it through AsyncLocalStorage. */
interface Invocation {
  readonly id: number;
  readonly fn: string;
  /** The rollout, alarm or command it works on: keys the seeded delays of its calls. */
  readonly label: string;
  /** How many invocations of the same function and label came before it. */
  readonly seq: number;
  calls: number;
  /** Service → the generation this invocation proved with a successful fence. */
  readonly fenced: Map<string, number>;
  killed?: Error;
}

/** A task-definition revision. */
interface Revision {
  readonly arn: string;
  readonly family: string;
  readonly revision: number;
  status: 'ACTIVE' | 'INACTIVE';
  readonly definition: TaskDefinitionDoc;
  readonly tags: Record<string, string>;
}

/** One slot's ECS service. */
interface SlotService {
  readonly owner: string;
  readonly slot: Slot;
  taskDefinition: string;
  desiredCount: number;
  /** Describes left before its new tasks run (a slow image's deployment is IN_PROGRESS until then). */
  startingFor: number;
  /** Its desired count was last set by someone outside Cutover. */
  scaledByHand: boolean;
}

/** The task definition every managed service starts from (registered by hand: no Cutover tags). */
function initialDefinition(service: ServiceConfig, image: string): TaskDefinitionDoc {
  return {
    family: service.name,
    networkMode: 'awsvpc',
    requiresCompatibilities: ['FARGATE'],
    cpu: '256',
    memory: '512',
    containerDefinitions: [{ name: service.containerName, image, essential: true, portMappings: [{ containerPort: 8080 }] }],
  };
}

const namedError = (name: string, message: string): Error => Object.assign(new Error(message), { name });

export interface WorldOptions {
  readonly seed: number;
  readonly services: readonly ServiceConfig[];
  /** Longest seeded delay of a call, before it takes effect and again before it answers. @default 4 */
  readonly maxDelayMs?: number;
  /** Desired count of each service's live slot at the start. @default 2 */
  readonly desiredCount?: number;
}

export class World {
  readonly store = new MemoryStore();
  readonly violations: Violation[] = [];
  /** What happened, in order, for the report of a failing seed. */
  readonly journal: string[] = [];
  /** Virtual time the world was made at. */
  readonly startedAt = Date.now();
  /** Invocations running now. */
  readonly running = new Set<Invocation>();
  /** Every invocation made, by function. */
  readonly invocations: Record<string, number> = {};
  /** Port calls made inside invocations. */
  calls = 0;
  /** Faults that fired. */
  faultsFired = 0;
  /** Writes of dead sandboxes still on the wire. */
  landing = 0;
  /**
   * Called when a slot is pointed at a broken image with tasks to run: ECS's deployment circuit breaker
   * then sends a `SERVICE_DEPLOYMENT_FAILED` event.
   */
  onDeploymentFailed?: (cluster: string, serviceName: string) => void;

  private readonly revisions = new Map<string, Revision>();
  private readonly ecsServices = new Map<string, SlotService>();
  /** Listener ARN → target group ARN → raw weight. */
  private readonly listeners = new Map<string, Map<string, number>>();
  private readonly targetGroups = new Set<string>();
  private readonly alarmStates = new Map<string, AlarmView>();
  /** `repository@digest` → ECR's push time. */
  private readonly images = new Map<string, { pushedAt: string }>();
  /** Digests whose tasks never start (a broken image). */
  private readonly brokenDigests = new Set<string>();
  /** Digests whose tasks take that many describes to start. */
  private readonly slowDigests = new Map<string, number>();
  private readonly familyRevisions = new Map<string, number>();
  private readonly als = new AsyncLocalStorage<Invocation>();
  private readonly seqs = new Map<string, number>();
  private nextInvocation = 1;
  private readonly armed: Fault[] = [];
  /** Service → the highest generation that has written, and who wrote with it. */
  private readonly lastWriter = new Map<string, { generation: number; by: string }>();
  private readonly maxDelayMs: number;

  /** The ports the handlers use, each call delayed, faultable and watched. */
  readonly ecs: Ecs;
  readonly traffic: Traffic;
  readonly alarms: Alarms;
  readonly registry: Registry;
  readonly rolloutStore: MemoryStore;
  readonly requestLedger: RequestLedger;

  constructor(readonly options: WorldOptions) {
    this.maxDelayMs = options.maxDelayMs ?? 4;
    for (const service of options.services) this.provision(service, options.desiredCount ?? 2);
    this.ecs = this.instrument('ecs', this.fakeEcs());
    this.traffic = this.instrument('elbv2', this.fakeTraffic());
    this.alarms = this.instrument('cloudwatch', { describe: async (names: readonly string[]) => names.flatMap((n) => (this.alarmStates.has(n) ? [{ ...this.alarmStates.get(n)! }] : [])) });
    this.registry = this.instrument('ecr', {
      describeImage: async (repository: string, digest: string) => {
        const image = this.images.get(`${repository}@${digest}`);
        return image ? { pushedAt: image.pushedAt } : undefined;
      },
      // Single images only: Prepare reads a manifest only for an image index.
      readManifest: async (repository: string, digest: string) => (this.images.has(`${repository}@${digest}`) ? { document: '{"schemaVersion":2}' } : undefined),
      scanFindings: async () => ({ status: 'COMPLETE', findings: [] }),
    });
    this.rolloutStore = this.instrument('dynamodb', this.store);
    const claimed = new Set<string>();
    this.requestLedger = {
      claim: async (id) => {
        if (claimed.has(id)) return false;
        claimed.add(id);
        return true;
      },
    };
  }

  /** Virtual milliseconds since the world was made. */
  now(): number {
    return Date.now() - this.startedAt;
  }

  /** Adds a line to the journal, stamped with the virtual time. */
  note(line: string): void {
    this.journal.push(`${String(this.now()).padStart(7)} ms  ${line}`);
  }

  private violate(invariant: string, detail: string): void {
    const ctx = this.als.getStore();
    const who = ctx ? ` [${ctx.fn} #${ctx.id} ${ctx.label}]` : '';
    this.violations.push({ invariant, atMs: this.now(), detail: `${detail}${who}` });
    this.note(`VIOLATION ${invariant}: ${detail}${who}`);
  }

  // ---- the cloud's initial state and out-of-band changes ------------------------------------------------

  /** The image every service runs at the start (pushed long before). */
  static initialDigest(service: string): string {
    return `sha256:${hashKey(0, service).toString(16).padStart(8, '0').repeat(8)}`;
  }

  private provision(service: ServiceConfig, desiredCount: number): void {
    const image = imageUri(ACCOUNT, REGION, service.repository, World.initialDigest(service.name));
    const arn = this.addRevision(initialDefinition(service, image), {});
    this.ecsServices.set(`${service.cluster}/${service.slots.blue.serviceName}`, { owner: service.name, slot: 'blue', taskDefinition: arn, desiredCount, startingFor: 0, scaledByHand: false });
    this.ecsServices.set(`${service.cluster}/${service.slots.green.serviceName}`, { owner: service.name, slot: 'green', taskDefinition: arn, desiredCount: 0, startingFor: 0, scaledByHand: false });
    this.targetGroups.add(service.slots.blue.targetGroupArn).add(service.slots.green.targetGroupArn);
    this.listeners.set(
      service.listenerArn,
      new Map([
        [service.slots.blue.targetGroupArn, 100],
        [service.slots.green.targetGroupArn, 0],
      ]),
    );
    for (const name of service.alarms) this.alarmStates.set(name, { name, state: 'OK', reason: 'initial' });
  }

  private addRevision(definition: TaskDefinitionDoc, tags: Record<string, string>): string {
    const family = definition.family;
    const revision = (this.familyRevisions.get(family) ?? 0) + 1;
    this.familyRevisions.set(family, revision);
    const arn = `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/${family}:${revision}`;
    const stored = JSON.parse(JSON.stringify({ ...definition, family, taskDefinitionArn: arn, revision, status: 'ACTIVE' })) as TaskDefinitionDoc;
    this.revisions.set(arn, { arn, family, revision, status: 'ACTIVE', definition: stored, tags: { ...tags } });
    return arn;
  }

  /**
   * ECR stores an image (a push); `pushedAt` is ECR's `imagePushedAt`. A `broken` image's tasks never start;
   * a slow one's take `slowDescribes` describes of its service to run.
   */
  putImage(repository: string, digest: string, pushedAt: string, options: { broken?: boolean; slowDescribes?: number } = {}): void {
    this.images.set(`${repository}@${digest}`, { pushedAt });
    if (options.broken) this.brokenDigests.add(digest);
    if (options.slowDescribes) this.slowDigests.set(digest, options.slowDescribes);
  }

  /** The digests of a revision's images. */
  private digestsOf(arn: string): string[] {
    return (this.revisions.get(arn)?.definition.containerDefinitions ?? []).map((c) => String(c.image ?? '').split('@')[1] ?? '');
  }

  /** CloudWatch changes an alarm's state (moto and AWS alike send the event separately). */
  setAlarm(name: string, state: 'OK' | 'ALARM', reason: string): void {
    this.alarmStates.set(name, { name, state, reason });
  }

  /** Someone outside Cutover changes a slot's desired count (no check: the world does not own it). */
  scaleOutOfBand(service: ServiceConfig, slot: Slot, desiredCount: number): void {
    const svc = this.ecsServices.get(`${service.cluster}/${service.slots[slot].serviceName}`)!;
    svc.desiredCount = desiredCount;
    svc.scaledByHand = true;
  }

  // ---- reading the world (for invariants; no delay, no fault) -------------------------------------------

  /** Raw listener weights per slot. */
  weightsOf(service: ServiceConfig): Record<Slot, number> {
    const listener = this.listeners.get(service.listenerArn)!;
    return { blue: listener.get(service.slots.blue.targetGroupArn) ?? 0, green: listener.get(service.slots.green.targetGroupArn) ?? 0 };
  }

  /** A slot's ECS service as it is. */
  slotOf(service: ServiceConfig, slot: Slot): { taskDefinition: string; desiredCount: number } {
    const svc = this.ecsServices.get(`${service.cluster}/${service.slots[slot].serviceName}`)!;
    return { taskDefinition: svc.taskDefinition, desiredCount: svc.desiredCount };
  }

  /** A revision's status and the image of the service's container, or undefined if it never existed. */
  revisionOf(arn: string, container: string): { status: string; image?: string } | undefined {
    const rev = this.revisions.get(arn);
    if (!rev) return undefined;
    return { status: rev.status, image: rev.definition.containerDefinitions.find((c) => c.name === container)?.image };
  }

  // ---- invocations --------------------------------------------------------------------------------------

  /**
   * Runs `run` as one invocation of `fn`: its port calls are delayed and faultable under its name. A killed
   * invocation fails with the kill's error whatever its code did after the kill.
   */
  async invoke<T>(fn: string, label: string, run: () => Promise<T>): Promise<T> {
    const key = `${fn}|${label}`;
    const seq = this.seqs.get(key) ?? 0;
    this.seqs.set(key, seq + 1);
    const ctx: Invocation = { id: this.nextInvocation++, fn, label, seq, calls: 0, fenced: new Map() };
    this.invocations[fn] = (this.invocations[fn] ?? 0) + 1;
    this.running.add(ctx);
    try {
      const result = await this.als.run(ctx, run);
      if (ctx.killed) throw ctx.killed;
      return result;
    } catch (error) {
      const e = (ctx.killed ?? error) as Error;
      this.note(`${fn} #${ctx.id} ${label} failed: ${e.name}: ${String(e.message).slice(0, 200)}`);
      throw e;
    } finally {
      this.running.delete(ctx);
    }
  }

  /** The invocations running now, for the report of a run that does not settle. */
  describeRunning(): string {
    return [...this.running].map((c) => `${c.fn} #${c.id} ${c.label} after ${c.calls} calls`).join(', ');
  }

  /** Arms a fault for the next invocation of its function that makes that many calls. */
  arm(fault: Fault): void {
    this.armed.push(fault);
  }

  /** Wraps the Step Functions port the handlers call, like the others. */
  instrumentExecutions(executions: Executions): Executions {
    return this.instrument('states', {
      start: (name: string, input: unknown) => executions.start(name, input),
      succeedTask: (token: string, output: unknown) => executions.succeedTask(token, output),
      failTask: (token: string, error: string, cause: string) => executions.failTask(token, error, cause),
      status: (rolloutId: string) => executions.status(rolloutId),
    });
  }

  private sleep(key: string): Promise<void> {
    const ms = hashKey(this.options.seed, key) % (this.maxDelayMs + 1);
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  private fire(ctx: Invocation, fault: Fault, operation: string): Error {
    this.faultsFired++;
    const error = namedError(fault.error, `injected: ${fault.error} ${fault.when} ${operation} (call ${fault.call} of ${ctx.fn})`);
    if (fault.kill) ctx.killed = error;
    this.note(`fault ${fault.error} ${fault.when} ${operation} in ${ctx.fn} #${ctx.id} ${ctx.label}`);
    return error;
  }

  /** Every method of `impl` as a port call of the current invocation: delayed, faultable, counted. */
  private instrument<T extends object>(port: string, impl: T): T {
    return new Proxy(impl, {
      get: (target, prop) => {
        const value = Reflect.get(target, prop, target) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => this.call(port, String(prop), args, () => (value as (...a: unknown[]) => Promise<unknown>).apply(target, args));
      },
    });
  }

  private async call(port: string, operation: string, args: unknown[], effect: () => Promise<unknown>): Promise<unknown> {
    const ctx = this.als.getStore();
    if (!ctx) return effect();
    if (ctx.killed) throw ctx.killed;
    const n = ++ctx.calls;
    this.calls++;
    const key = `${ctx.fn}|${ctx.label}|${ctx.seq}|${port}.${operation}|${n}`;
    await this.sleep(`${key}|before`);
    if (ctx.killed) throw ctx.killed;
    const index = this.armed.findIndex((f) => f.fn === ctx.fn && f.call === n);
    const fault = index >= 0 ? this.armed.splice(index, 1)[0] : undefined;
    if (fault?.when === 'before') throw this.fire(ctx, fault, `${port}.${operation}`);
    if (fault?.when === 'late') {
      const error = this.fire(ctx, { ...fault, kill: true }, `${port}.${operation}`);
      const ms = 100 + (hashKey(this.options.seed, `${key}|late`) % (LATE_LANDING_MAX_MS - 99));
      this.landing++;
      setTimeout(() => {
        this.note(`${port}.${operation} of ${ctx.fn} #${ctx.id} lands ${ms} ms after its sandbox died`);
        // The dead invocation's context, so the write is judged as made under its fence.
        void this.als
          .run(ctx, effect)
          .catch((e: Error) => this.note(`late ${port}.${operation} refused: ${e.name}`))
          .finally(() => this.landing--);
      }, ms);
      throw error;
    }
    const result = await effect();
    if (fault) throw this.fire(ctx, fault, `${port}.${operation}`);
    if (port === 'dynamodb' && operation === 'fence' && (result as { ok?: boolean }).ok) ctx.fenced.set(args[0] as string, args[2] as number);
    // An abort that fences (the one-hop abort path): the same proof, made by the abort's own write.
    if (port === 'dynamodb' && operation === 'markAborted' && result && args[3]) ctx.fenced.set(args[0] as string, (args[3] as { generation: number }).generation);
    const watched = result as { written?: boolean; lock?: { generation: number } };
    if (port === 'dynamodb' && operation === 'abortWatching' && watched.written) ctx.fenced.set(args[0] as string, watched.lock!.generation);
    await this.sleep(`${key}|after`);
    if (ctx.killed) throw ctx.killed;
    return result;
  }

  // ---- the continuous invariants ------------------------------------------------------------------------

  private serviceByName(name: string): ServiceConfig | undefined {
    return this.options.services.find((s) => s.name === name);
  }

  /** No two owners: the writer fenced this service, and no newer generation has written before it. */
  private checkOwner(service: string, what: string): void {
    const ctx = this.als.getStore();
    if (!ctx) {
      this.violate('owners', `${what} on ${service} outside any function invocation`);
      return;
    }
    const generation = ctx.fenced.get(service);
    if (generation === undefined) {
      this.violate('owners', `${what} on ${service} without a fence of its lock in this invocation`);
      return;
    }
    const last = this.lastWriter.get(service);
    if (last && generation < last.generation) {
      this.violate('owners', `${what} on ${service} at generation ${generation} after generation ${last.generation} (${last.by}) had written`);
      return;
    }
    if (!last || generation > last.generation) this.lastWriter.set(service, { generation, by: `${ctx.fn} ${ctx.label}` });
  }

  /**
   * Traffic only on a slot that runs an ACTIVE revision (every service: a deregistration may hit another's),
   * with tasks, unless someone outside Cutover scaled that slot to zero: Cutover can only notice that at
   * its next check, and the settled world shows whether it did.
   */
  private checkTraffic(what: string): void {
    for (const service of this.options.services) {
      const weights = this.weightsOf(service);
      for (const slot of ['blue', 'green'] as const) {
        if (weights[slot] <= 0) continue;
        const svc = this.slotOf(service, slot);
        const status = this.revisions.get(svc.taskDefinition)?.status ?? 'MISSING';
        if (status !== 'ACTIVE') this.violate('traffic', `after ${what}: ${service.name} ${slot} has weight ${weights[slot]} on ${shortRevision(svc.taskDefinition)}, which is ${status}`);
        if (svc.desiredCount <= 0 && !this.ecsServices.get(`${service.cluster}/${service.slots[slot].serviceName}`)!.scaledByHand)
          this.violate('traffic', `after ${what}: ${service.name} ${slot} has weight ${weights[slot]} but its service wants 0 tasks`);
      }
    }
  }

  /** Never deregister the lock's target, the live revision, or a revision another service's slot runs. */
  private checkDeregister(arn: string, owner: string | undefined): void {
    for (const service of this.options.services) {
      const lock = this.store.rawLock(service.name) as { target?: { taskDefinitionArn?: string }; rolloutId?: string } | undefined;
      if (lock?.rolloutId && lock.target?.taskDefinitionArn === arn)
        this.violate('retained', `${shortRevision(arn)} deregistered while it is the target of ${service.name}'s lock (${lock.rolloutId})`);
      const state = this.store.tables.get(service.name)?.get('state') as { liveTaskDefinitionArn?: string } | undefined;
      if (state?.liveTaskDefinitionArn === arn) this.violate('retained', `${shortRevision(arn)} deregistered while it is ${service.name}'s live revision`);
      if (service.name !== owner) {
        for (const slot of ['blue', 'green'] as const) {
          if (this.slotOf(service, slot).taskDefinition === arn) this.violate('retained', `${shortRevision(arn)} deregistered while ${service.name}'s ${slot} slot runs it`);
        }
      }
    }
  }

  // ---- the fake services --------------------------------------------------------------------------------

  private fakeEcs(): Ecs {
    const find = (cluster: string, name: string) => {
      const svc = this.ecsServices.get(`${cluster}/${name}`);
      if (!svc) throw namedError('ServiceNotFoundException', `service ${cluster}/${name} not found`);
      return svc;
    };
    const resolve = (arnOrFamily: string): Revision | undefined => {
      if (this.revisions.has(arnOrFamily)) return this.revisions.get(arnOrFamily);
      const [family, revision] = arnOrFamily.split('/').pop()!.split(':');
      const all = [...this.revisions.values()].filter((r) => r.family === family);
      if (revision !== undefined) return all.find((r) => r.revision === Number(revision));
      // A family alone names its latest ACTIVE revision.
      return all.filter((r) => r.status === 'ACTIVE').sort((a, b) => b.revision - a.revision)[0];
    };
    const ownerOfFamily = (family: string) => this.options.services.find((s) => s.name === family)?.name;
    return {
      describeService: async (cluster, name): Promise<ServiceView | undefined> => {
        const svc = this.ecsServices.get(`${cluster}/${name}`);
        if (!svc) return undefined;
        const failing = svc.desiredCount > 0 && this.digestsOf(svc.taskDefinition).some((d) => this.brokenDigests.has(d));
        const starting = !failing && svc.desiredCount > 0 && svc.startingFor > 0;
        if (starting) svc.startingFor--;
        const running = failing || starting ? 0 : svc.desiredCount;
        return {
          serviceName: name,
          status: 'ACTIVE',
          taskDefinition: svc.taskDefinition,
          desiredCount: svc.desiredCount,
          runningCount: running,
          deployments: [
            {
              status: 'PRIMARY',
              rolloutState: failing ? 'FAILED' : starting ? 'IN_PROGRESS' : 'COMPLETED',
              rolloutStateReason: failing ? 'ECS deployment circuit breaker: tasks failed to start' : starting ? 'tasks starting' : 'ECS deployment completed',
              taskDefinition: svc.taskDefinition,
              desiredCount: svc.desiredCount,
              runningCount: running,
              failedTasks: failing ? svc.desiredCount : 0,
            },
          ],
        };
      },
      updateService: async (cluster, name, change) => {
        const svc = find(cluster, name);
        if (change.taskDefinition !== undefined) {
          const rev = this.revisions.get(change.taskDefinition);
          if (!rev) throw namedError('ClientException', `task definition ${change.taskDefinition} not found`);
          // ECS refuses to point a service at a deregistered revision.
          if (rev.status !== 'ACTIVE') throw namedError('InvalidParameterException', `task definition ${shortRevision(rev.arn)} is INACTIVE`);
        }
        const what = `ecs:UpdateService ${name} ${change.taskDefinition ? shortRevision(change.taskDefinition) : ''} ${change.desiredCount ?? ''}`.trim();
        this.checkOwner(svc.owner, what);
        if (change.taskDefinition !== undefined && change.taskDefinition !== svc.taskDefinition) {
          svc.taskDefinition = change.taskDefinition;
          svc.startingFor = Math.max(0, ...this.digestsOf(svc.taskDefinition).map((d) => this.slowDigests.get(d) ?? 0));
        }
        if (change.desiredCount !== undefined) {
          svc.desiredCount = change.desiredCount;
          svc.scaledByHand = false;
        }
        if (svc.desiredCount > 0 && this.digestsOf(svc.taskDefinition).some((d) => this.brokenDigests.has(d))) this.onDeploymentFailed?.(cluster, name);
        this.note(`${what}`);
        this.checkTraffic(what);
      },
      describeTaskDefinition: async (arnOrFamily) => {
        const rev = resolve(arnOrFamily);
        if (!rev) return undefined;
        return { definition: JSON.parse(JSON.stringify({ ...rev.definition, status: rev.status })) as TaskDefinitionDoc, tags: { ...rev.tags } };
      },
      registerTaskDefinition: async (definition, tags) => {
        const owner = tags['cutover:service'] ?? ownerOfFamily(definition.family) ?? definition.family;
        this.checkOwner(owner, `ecs:RegisterTaskDefinition ${definition.family}`);
        const arn = this.addRevision(definition, tags);
        this.note(`ecs:RegisterTaskDefinition ${shortRevision(arn)}`);
        return arn;
      },
      listRevisions: async (family) =>
        [...this.revisions.values()]
          .filter((r) => r.family === family && r.status === 'ACTIVE')
          .sort((a, b) => b.revision - a.revision)
          .map((r) => r.arn),
      deregisterTaskDefinition: async (arn) => {
        const rev = this.revisions.get(arn);
        if (!rev) throw namedError('ClientException', `task definition ${arn} not found`);
        const owner = rev.tags['cutover:service'] ?? ownerOfFamily(rev.family);
        this.checkOwner(owner ?? rev.family, `ecs:DeregisterTaskDefinition ${shortRevision(arn)}`);
        this.checkDeregister(arn, owner);
        rev.status = 'INACTIVE';
        this.note(`ecs:DeregisterTaskDefinition ${shortRevision(arn)}`);
        this.checkTraffic(`ecs:DeregisterTaskDefinition ${shortRevision(arn)}`);
      },
    };
  }

  private fakeTraffic(): Traffic {
    return {
      readForward: async (arn) => {
        const listener = this.listeners.get(arn);
        if (!listener) return undefined;
        const total = [...listener.values()].reduce((sum, w) => sum + w, 0);
        return { weights: Object.fromEntries([...listener].map(([tg, w]) => [tg, total === 0 ? 0 : (w * 100) / total])) };
      },
      readActions: async (arn) => (this.listeners.has(arn) ? { arn, actions: [] } : undefined),
      setWeights: async (arn, weights) => {
        const listener = this.listeners.get(arn);
        if (!listener) throw namedError('ListenerNotFoundException', `listener ${arn} not found`);
        for (const w of weights) if (!this.targetGroups.has(w.targetGroupArn)) throw namedError('TargetGroupNotFoundException', `target group ${w.targetGroupArn} not found`);
        const owner = this.options.services.find((s) => s.listenerArn === arn)!;
        const what = `elbv2:ModifyListener ${owner.name} ${weights.map((w) => `${w.targetGroupArn === owner.slots.blue.targetGroupArn ? 'blue' : 'green'} ${w.weight}`).join(' / ')}`;
        this.checkOwner(owner.name, what);
        this.listeners.set(arn, new Map(weights.map((w) => [w.targetGroupArn, w.weight])));
        this.note(what);
        this.checkTraffic(what);
      },
      existingTargetGroups: async (arns) => new Set(arns.filter((a) => this.targetGroups.has(a))),
      // No service of this world has a test cohort: a listener without rules.
      describeRules: async (arn) => (this.listeners.has(arn) ? [] : undefined),
      ruleTags: async () => ({}),
      createRule: async (rule) => {
        throw namedError('OperationNotPermitted', `no test cohort in this world (${rule.listenerArn})`);
      },
      deleteRule: async () => {},
      // Modelled on the slot's tasks: each task that runs is one healthy target (a broken or starting
      // revision runs none). Read only: it never moves a slow deployment on, as describeService does.
      targetHealth: async (arn) => {
        if (!this.targetGroups.has(arn)) return undefined;
        for (const service of this.options.services) {
          for (const slot of ['blue', 'green'] as const) {
            if (service.slots[slot].targetGroupArn !== arn) continue;
            const svc = this.ecsServices.get(`${service.cluster}/${service.slots[slot].serviceName}`);
            if (!svc) return { healthy: 0, total: 0, problems: [] };
            const failing = svc.desiredCount > 0 && this.digestsOf(svc.taskDefinition).some((d) => this.brokenDigests.has(d));
            const running = failing || svc.startingFor > 0 ? 0 : svc.desiredCount;
            return { healthy: running, total: running, problems: [] };
          }
        }
        return { healthy: 0, total: 0, problems: [] };
      },
    };
  }

  /** The managed service a name stands for (for the schedule's events). */
  service(name: string): ServiceConfig {
    const s = this.serviceByName(name);
    if (!s) throw new Error(`no managed service ${name}`);
    return s;
  }
}
