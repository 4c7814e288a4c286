/**
 * The local runtime: the emulator, the demo environment on it, the real handlers wired to ports over the
 * emulator, the local Step Functions runner, and a local EventBridge bus with the construct's rules.
 */
import { watchersOf } from '../../functions/core/watchers';
import { analysisAlarmPrefix } from '../../functions/core/analysis';
import { awsAnalysisAlarms } from '../../functions/aws/analysis-alarms';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { Context } from 'aws-lambda';
import { awsAlarms } from '../../functions/aws/alarms';
import { awsEcs } from '../../functions/aws/ecs';
import { awsRegistry } from '../../functions/aws/registry';
import { ECRClient } from '@aws-sdk/client-ecr';
import { awsStore } from '../../functions/aws/store';
import { awsRequestLedger } from '../../functions/aws/request-ledger';
import { awsTraffic } from '../../functions/aws/traffic';
import type { ServiceConfig } from '../../functions/core/config';
import {
  realSleep,
  silentLog,
  systemClock,
  type Sleep,
  type Notifier,
  type Registry,
  type Alarms,
  type AnalysisAlarms,
  type Ecs,
  type Executions,
  type Log,
  type RequestLedger,
  type RolloutStore,
  type Traffic,
  type HookInvoker,
} from '../../functions/core/ports';
import { createHandler as alarmHandler } from '../../functions/alarm/handler';
import { createHandler as bakeHandler } from '../../functions/bake/handler';
import { createHandler as checkAlarmsHandler } from '../../functions/check-alarms/handler';
import { createHandler as checkSteadyHandler } from '../../functions/check-steady/handler';
import { createHandler as deployHandler } from '../../functions/deploy/handler';
import { createHandler as finalizeHandler } from '../../functions/finalize/handler';
import { createHandler as prepareHandler } from '../../functions/prepare/handler';
import { createHandler as registerHandler } from '../../functions/register/handler';
import { createHandler as retireHandler } from '../../functions/retire/handler';
import { createHandler as rollbackHandler } from '../../functions/rollback/handler';
import { createHandler as shiftHandler } from '../../functions/shift/handler';
import { createHandler as startHandler } from '../../functions/start/handler';
import { createHandler as chatHandler } from '../../functions/chat/handler';
import { createHandler as reconcileHandler } from '../../functions/reconcile/handler';
import { createHandler as releaseHandler } from '../../functions/release/handler';
import { createHandler as hookHandler } from '../../functions/hook/handler';
import { awsForwardFinder, createHandler as liveStateHandler } from '../../functions/live-state/handler';
import type { ForwardFinder } from '../../functions/live-state/live-state';
import type { CustomResourceRequest, CustomResourceResponse } from '../../functions/core/custom-resource';
import { customResourceRequest, startLocalCloudFormation, type LocalCloudFormation } from './cloudformation';
import { signSlackRequest } from '../../functions/chat/slack-signature';
import type { CommandDeferral, SlackResponses } from '../../functions/core/follow-up';
import { slackResponses } from '../../functions/aws/slack-responses';
import { alarmEventPattern, ecrScanPattern, ecsFailurePattern, executionEndedPattern, matchesPattern, pushEventPattern, type EventPattern } from '../rules';
import { ecrScanEvent } from './events';
import { clientConfig, localTargetHealth, provision, type DemoEnvironment, type ProvisionOptions } from './environment';
import { startEmulator, type Emulator } from './moto';
import { removePreviousEnvironment } from './previous-environment';
import { startLocalSlack, type LocalSlack, type ResponseMessage } from './slack';
import { slackNotifier } from '../../functions/aws/slack-notifier';
import { LocalStepFunctions, type LocalFunction, type LocalRunnerOptions } from './sfn';
import { TrafficSimulator, type TrafficSimulation } from './traffic-simulator';

/** Every port a function may need; each handler takes the subset it declares. */
export interface LocalPorts {
  ecs: Ecs;
  traffic: Traffic;
  alarms: Alarms;
  /** The canary analysis's alarms on the emulator; its request counts from the traffic simulator's periods. */
  analysis?: AnalysisAlarms;
  store: RolloutStore;
  executions: Executions;
  clock: typeof systemClock;
  log: Log;
  services: ServiceConfig[];
  signingSecret: () => Promise<string>;
  /** The chat function's signed requests already applied (in the store's table). */
  requestLedger: RequestLedger;
  executionUrl: (rolloutId: string) => string;
  notifier?: Notifier;
  registry: Registry;
  sleep: Sleep;
  /** How long a write proven by a fence may still land (local functions cannot be killed mid-call either). */
  leaseMs: number;
  /** The chat function's deferred commands: an invocation of the local chat function, not awaited (as Lambda's `Event` invocation). */
  deferral: CommandDeferral;
  /** Posts to a slash command's `response_url` (the local Slack stand-in's, on 127.0.0.1). */
  responses: SlackResponses;
  /** The local stand-in for Slack listens on 127.0.0.1 over http. */
  loopbackResponseUrls: boolean;
  /**
   * The live-state custom resource's way to the listener forwarding to a service's two target groups.
   * @default the configured service's listener with those target groups, read through `traffic`
   */
  forwardFinder?: ForwardFinder;
  /** The users' lifecycle hook functions (see {@link LocalRuntimeOptions.hooks}). @default none: invoking one fails */
  invoker?: HookInvoker;
}

/** Finds a forward through the configured services (a runner with no ELBv2 of its own, as the interleaving runner). */
function configuredForwards(ports: LocalPorts): ForwardFinder {
  return {
    async forwardTo([blue, green]) {
      const service = ports.services.find((s) => s.slots.blue.targetGroupArn === blue && s.slots.green.targetGroupArn === green);
      return service && ports.traffic.readForward(service.listenerArn);
    },
  };
}

/** The local Slack app's signing secret (the local runtime is its only user). */
export const LOCAL_SIGNING_SECRET = 'local-signing-secret-0123456789abcdef';
/** The Slack channel and user the demo service lets steer it. */
export const DEMO_CHAT = { channel: 'CDEMO0CUTOVER', user: 'UDEMO0OPERATOR' } as const;

/** The HTTP response a Lambda Function URL gives. */
export interface UrlResponse {
  readonly statusCode: number;
  readonly body: string;
}

/** The chat function's answer to a slash command sent with {@link LocalRuntime.slack}. */
export interface SlackReply extends UrlResponse {
  /** The request's `response_url`, on the local stand-in for Slack. */
  readonly responseUrl: string;
  /**
   * The outcome of a deferred command, as posted to `responseUrl`: resolves when it arrives; rejects at once
   * when the command was answered directly, or when its deferred run ended without posting one.
   */
  followUp(): Promise<ResponseMessage>;
}

export interface LocalRuntimeOptions extends LocalRunnerOptions {
  /** Reuse a running emulator instead of starting one. */
  readonly emulator?: Emulator;
  /** Services to provision (each gets its own listener, slots and alarms). @default one: checkout */
  readonly services?: readonly ProvisionOptions[];
  /** Log lines of the handlers. @default silent */
  readonly log?: Log;
  /**
   * Fault injection for the `unstable` scenario: ECS reports every task of a revision other than the
   * initial one as failing to start, so the new revision never becomes steady.
   */
  readonly unstableNewRevisions?: boolean;
  /**
   * Fault injection for the `broken-old` scenario: ECS services named here run no task and their targets fail
   * their health checks (see `localTargetHealth`). The caller keeps the set and may change it while a rollout
   * runs (break the old slot mid-rollout, then fix it). @default none broken
   */
  readonly brokenServices?: Set<string>;
  /**
   * Post the rollout notifications to the local stand-in for Slack (`runtime.slackApi.messages`). It runs
   * either way: it also receives the slash commands' `response_url` posts. @default true
   */
  readonly notifications?: boolean;
  /** Called each time a function has set a listener's weights (after the emulator answered). For timings. */
  readonly onWeights?: (change: WeightsChange) => void;
  /** Hooks for tools that observe or disturb the runtime, such as the fault injection of `./faults`. @default none */
  readonly instrument?: LocalInstrumentation;
  /** The functions' write lease (AWS: their timeout, 35 s); local calls take milliseconds. @default 1000 */
  readonly leaseMs?: number;
  /**
   * Whether the alarm function puts the traffic back itself (one hop, as deployed). `false` leaves it to the
   * rollback function, as before one hop: the benchmark's "before". @default true
   */
  readonly oneHop?: boolean;
  /**
   * Simulated traffic: ALB's per-target-group metrics written to the emulator from the listeners' live weights
   * every period (`periodSeconds × timeScale`), and the canary-analysis alarms evaluated from them, their state
   * changes delivered to the bus (moto evaluates no alarm). Stopped by {@link LocalRuntime.stop}. @default off
   */
  readonly traffic?: TrafficSimulation;
  /**
   * The users' lifecycle hook functions, by the name or ARN the service's `hooks` give (an ARN's function
   * name also finds a function registered by name). Each is invoked as Lambda's RequestResponse would:
   * the event as JSON, its return value as JSON, a throw as a function error. @default none
   * @example
   * LocalRuntime.start({ services: [{ service: { hooks: { afterSteady: { functions: ['smoke'] } } } }], hooks: { smoke: async (event) => ({ status: 'SUCCEEDED' }) } });
   */
  readonly hooks?: Readonly<Record<string, LocalHookFunction>>;
}

/** A user's hook function, run locally: the event in, its answer out. */
export type LocalHookFunction = (event: never) => unknown;

/** The {@link HookInvoker} over local functions: JSON in and out, as Lambda invokes them. */
export function localHookInvoker(hooks: Readonly<Record<string, LocalHookFunction>>): HookInvoker {
  return {
    async invoke(fn, event) {
      const name = fn.split(':function:').pop()!.split(':')[0]!;
      const run = hooks[fn] ?? hooks[name];
      if (!run) throw new Error(`no local hook function ${fn}: register it with the runtime's hooks option`);
      const result = await run(JSON.parse(JSON.stringify(event)) as never);
      return result === undefined ? undefined : JSON.parse(JSON.stringify(result));
    },
  };
}

/** An SDK client the runtime builds for the handlers' ports. */
export type LocalSdkClient = ECSClient | ElasticLoadBalancingV2Client | CloudWatchClient | DynamoDBClient | ECRClient;

/**
 * Hooks into the local runtime, each optional; without them it runs exactly as it would without this option.
 * Fault injection (`infra/local/faults.ts`) uses them; nothing in `functions/` knows about them.
 */
export interface LocalInstrumentation {
  /** Called once on each SDK client the handlers' ports use, before its first call (to add a middleware). */
  readonly client?: (client: LocalSdkClient) => void;
  /** Wraps the Step Functions port the handlers call (StartExecution, SendTaskSuccess/Failure). */
  readonly executions?: (executions: Executions) => Executions;
  /** Wraps each function as the state-machine runner and the bus invoke it. */
  readonly invoke?: (fn: string, run: LocalFunction) => LocalFunction;
}

/** Weights a function set on a listener (or listener rule), and when the emulator had them. */
export interface WeightsChange {
  readonly listenerArn: string;
  readonly weights: ReadonlyArray<{ readonly targetGroupArn: string; readonly weight: number }>;
  /** `Date.now()` when `setWeights` returned. */
  readonly at: number;
}

export interface BusRule {
  readonly name: string;
  readonly pattern: EventPattern;
  readonly target: string;
}

export interface Delivery {
  readonly rule?: string;
  readonly target?: string;
  readonly result?: unknown;
  readonly error?: { name: string; message: string };
}

/** A fake Lambda context: enough for middy and the handlers. */
function lambdaContext(fn: string): Context {
  return {
    functionName: `cutover-${fn}`,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:cutover-${fn}`,
    memoryLimitInMB: '256',
    awsRequestId: crypto.randomUUID(),
    logGroupName: `/aws/lambda/cutover-${fn}`,
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => 30_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/**
 * The analysis port with the canary's request counts read from the traffic simulator: its periods are
 * simulated (a tick is `periodSeconds × timeScale` of real time), so a bake's window in real time holds the
 * periods written during it, one count each. Without a simulator, the emulator's metrics as on AWS.
 */
function simulatedRequests(analysis: AnalysisAlarms, simulator: () => TrafficSimulator | undefined): AnalysisAlarms {
  return {
    ...analysis,
    requestsPerPeriod: (query) => simulator()?.requestsBetween(query) ?? analysis.requestsPerPeriod(query),
  };
}

/** Wraps the traffic port to report every change of weights once the emulator has it. */
function observed(traffic: Traffic, onWeights: (change: WeightsChange) => void): Traffic {
  return {
    ...traffic,
    async setWeights(listenerArn, weights, read) {
      await traffic.setWeights(listenerArn, weights, read);
      onWeights({ listenerArn, weights: weights.map((w) => ({ ...w })), at: Date.now() });
    },
  };
}

/** The registry, answering ECR's push time in milliseconds for the images pushed through the runtime. */
function withPushTimes(registry: Registry, pushedAt: ReadonlyMap<string, string>): Registry {
  return {
    ...registry,
    async describeImage(repository, digest) {
      const image = await registry.describeImage(repository, digest);
      return image && { ...image, pushedAt: pushedAt.get(digest) ?? image.pushedAt };
    },
  };
}

/**
 * The registry, with ECR's scan on push as AWS runs it: a pushed image's scan is IN_PROGRESS until the
 * runtime completes it ({@link LocalRuntime.completeScan}, which also sends ECR's scan-complete event).
 * moto scans at once, which would hide a gate that refuses a scan in progress.
 */
function withScans(registry: Registry, pending: ReadonlySet<string>): Registry {
  return {
    ...registry,
    async scanFindings(repository, digest) {
      if (pending.has(digest)) return { status: 'IN_PROGRESS', findings: [] };
      return registry.scanFindings(repository, digest);
    },
  };
}

/** Wraps the ECS port so revisions other than `healthy` never get their tasks running. */
function unstable(ecs: Ecs, healthy: Set<string>): Ecs {
  return {
    ...ecs,
    async describeService(cluster, service) {
      const view = await ecs.describeService(cluster, service);
      if (!view || healthy.has(view.taskDefinition) || view.desiredCount === 0) return view;
      return {
        ...view,
        runningCount: 0,
        deployments: [
          {
            status: 'PRIMARY',
            rolloutState: 'IN_PROGRESS',
            rolloutStateReason: 'tasks failed to start: essential container exited',
            taskDefinition: view.taskDefinition,
            desiredCount: view.desiredCount,
            runningCount: 0,
            failedTasks: 3,
          },
        ],
      };
    },
  };
}

/**
 * The functions of the construct as the local runner and bus invoke them: each real handler (middy over its
 * pure logic) over one ports object, called with a Lambda-like context. `wrap` decorates each function
 * (fault injection, tracing of invocations) as `LocalInstrumentation.invoke` does.
 * @example
 * const functions = localFunctions(ports);
 * const sfn = new LocalStepFunctions(functions);
 * ports.executions = sfn;
 */
export function localFunctions(ports: LocalPorts, wrap?: (fn: string, run: LocalFunction) => LocalFunction, options: { readonly oneHop?: boolean } = {}): Record<string, LocalFunction> {
  const deps = () => ports;
  // Read at each invocation: the runtime sets some ports (executions) after making the functions.
  const twoHops = () => ({ ...ports, traffic: undefined });
  const handlers: Record<string, (event: never, context: Context) => Promise<unknown>> = {
    start: startHandler(deps),
    prepare: prepareHandler(deps),
    register: registerHandler(deps),
    deploy: deployHandler(deps),
    'check-steady': checkSteadyHandler(deps),
    'check-alarms': checkAlarmsHandler(deps),
    shift: shiftHandler(deps),
    bake: bakeHandler(deps),
    // As deployed: the alarm function knows the watchers from its environment (`CUTOVER_WATCHERS`).
    alarm: alarmHandler(options.oneHop === false ? twoHops : () => ({ ...ports, services: watchersOf(ports.services) })),
    finalize: finalizeHandler(deps),
    retire: retireHandler(deps),
    rollback: rollbackHandler(deps),
    chat: chatHandler(deps),
    reconcile: reconcileHandler(deps),
    // The custom resources of the user's deploys (infra/iac-ownership.ts); CloudFormation invokes them.
    release: releaseHandler(deps),
    hook: hookHandler(() => ({ ...ports, invoker: ports.invoker ?? localHookInvoker({}) })),
    'live-state': liveStateHandler(() => ({ ...ports, traffic: ports.forwardFinder ?? configuredForwards(ports) })),
  };
  return Object.fromEntries(
    Object.entries(handlers).map(([name, h]) => {
      const run: LocalFunction = (event) => h(event as never, lambdaContext(name));
      return [name, wrap ? wrap(name, run) : run];
    }),
  );
}

export class LocalRuntime {
  readonly rules: readonly BusRule[];
  /** Deliveries under way that nobody awaits (an execution's end reaching the reconcile function, a deferred command). */
  readonly background = new Set<Promise<unknown>>();
  /** The chat function's deferred runs, by the `response_url` of their request. */
  readonly deferredRuns = new Map<string, Promise<unknown>>();
  /** The traffic simulator the `traffic` option started (stopped by {@link stop}). */
  trafficSimulator?: TrafficSimulator;
  /** CloudFormation's side of the custom resources, started by the first {@link customResource}. */
  private cloudFormation?: Promise<LocalCloudFormation>;
  private constructor(
    readonly emulator: Emulator,
    readonly environments: readonly DemoEnvironment[],
    readonly ports: LocalPorts,
    readonly functions: Readonly<Record<string, LocalFunction>>,
    readonly sfn: LocalStepFunctions,
    /** Images whose scan on push is still running (see {@link completeScan}). */
    private readonly scansPending: Set<string>,
    /** The local stand-in for Slack (its Web API, and the slash commands' `response_url`). */
    readonly slackApi: LocalSlack,
    /** Whether this runtime started the emulator (and so stops it). */
    private readonly ownsEmulator = true,
  ) {
    const services = environments.map((e) => e.service);
    this.rules = [
      { name: 'RolloutOnPush', pattern: pushEventPattern(services.map((s) => s.repository)), target: 'start' },
      {
        name: 'AbortOnAlarm',
        pattern: alarmEventPattern(
          services.flatMap((s) => s.alarms),
          services.flatMap((s) => (s.analysis ? [analysisAlarmPrefix(s.name)] : [])),
        ),
        target: 'alarm',
      },
      { name: 'AbortOnEcsFailure', pattern: ecsFailurePattern(), target: 'alarm' },
      { name: 'RecoverDeadExecution', pattern: executionEndedPattern(sfn.stateMachineArn), target: 'reconcile' },
      ...(services.some((s) => s.imageScan) ? [{ name: 'WakeOnImageScan', pattern: ecrScanPattern(services.filter((s) => s.imageScan).map((s) => s.repository)), target: 'start' }] : []),
    ];
  }

  /**
   * Completes the scan on push of an image, as ECR does some seconds after the push: its findings are
   * moto's from now on, and ECR's `ECR Image Scan` event reaches the bus (a push waiting for it goes on).
   */
  async completeScan(digest: string, env = this.env): Promise<Delivery> {
    this.scansPending.delete(digest);
    return this.deliver(ecrScanEvent({ repository: env.service.repository, digest }));
  }

  /** The first (demo) environment. */
  get env(): DemoEnvironment {
    return this.environments[0]!;
  }

  /** Starts (or adopts) the emulator and provisions the environments on it. */
  static async start(options: LocalRuntimeOptions = {}): Promise<LocalRuntime> {
    const emulator = options.emulator ?? (await startEmulator());
    let slackApi: LocalSlack | undefined;
    try {
      // moto records imagePushedAt in whole seconds, so two pushes in one second would be ordered by digest
      // alone; ECR's push order is what orders rollouts. Pushes made through the runtime keep their time in
      // milliseconds, and the registry port answers with it.
      const pushedAt = new Map<string, string>();
      const scansPending = new Set<string>();
      const environments: DemoEnvironment[] = [];
      for (const p of options.services ?? [{}]) {
        // An emulator we did not start may hold an earlier run's environment: remove that (by its names), never reset it.
        if (!emulator.owned) await removePreviousEnvironment(emulator, p.name);
        const env = await provision(emulator, p);
        environments.push({
          ...env,
          async pushImage(tag) {
            const at = new Date().toISOString();
            const pushed = await env.pushImage(tag);
            if (!pushedAt.has(pushed.digest)) {
              pushedAt.set(pushed.digest, at);
              // Scan on push: a new image's scan runs until the runtime completes it.
              scansPending.add(pushed.digest);
            }
            return pushed;
          },
          async pushIndex(tag, platforms) {
            const at = new Date().toISOString();
            const pushed = await env.pushIndex(tag, platforms);
            for (const m of pushed.manifests) {
              if (pushedAt.has(m.digest)) continue;
              pushedAt.set(m.digest, at);
              if (m.kind === 'image') scansPending.add(m.digest);
            }
            return pushed;
          },
        });
      }
      const cfg = clientConfig(emulator.endpoint);
      const hooks = options.instrument ?? {};
      const sdk = <C extends LocalSdkClient>(client: C): C => {
        hooks.client?.(client);
        return client;
      };
      let ecs: Ecs = awsEcs(sdk(new ECSClient(cfg)));
      if (options.unstableNewRevisions) ecs = unstable(ecs, new Set(environments.map((e) => e.initialTaskDefinitionArn)));
      // moto registers no task with a target group: target health is modelled from each slot's tasks.
      const modelled = localTargetHealth(awsTraffic(sdk(new ElasticLoadBalancingV2Client(cfg))), ecs, () => environments.map((e) => e.service), options.brokenServices ?? new Set());
      ecs = modelled.ecs;
      const traffic = modelled.traffic;
      slackApi = await startLocalSlack();
      const local = slackApi;
      const log = options.log ?? silentLog;
      const dynamo = sdk(new DynamoDBClient(clientConfig(emulator.dynamodbEndpoint)));
      const ports: LocalPorts = {
        ecs,
        traffic: options.onWeights ? observed(traffic, options.onWeights) : traffic,
        alarms: awsAlarms(sdk(new CloudWatchClient(cfg))),
        analysis: simulatedRequests(awsAnalysisAlarms(sdk(new CloudWatchClient(cfg))), () => runtime?.trafficSimulator),
        registry: withScans(withPushTimes(awsRegistry(sdk(new ECRClient(cfg))), pushedAt), scansPending),
        store: awsStore(environments[0]!.tableName, dynamo),
        requestLedger: awsRequestLedger(environments[0]!.tableName, dynamo),
        executions: undefined as unknown as Executions,
        clock: systemClock,
        log,
        services: environments.map((e) => e.service),
        signingSecret: async () => LOCAL_SIGNING_SECRET,
        executionUrl: (rolloutId) => `local execution ${rolloutId}`,
        sleep: realSleep,
        leaseMs: options.leaseMs ?? 1000,
        notifier:
          options.notifications === false ? undefined : slackNotifier(async () => JSON.stringify({ botToken: 'xoxb-local-bot-token', channel: DEMO_CHAT.channel }), log, { apiUrl: local.apiUrl }),
        deferral: undefined as unknown as CommandDeferral,
        responses: slackResponses(),
        loopbackResponseUrls: true,
        forwardFinder: awsForwardFinder(sdk(new ElasticLoadBalancingV2Client(cfg))),
        invoker: localHookInvoker(options.hooks ?? {}),
      };
      const functions = localFunctions(ports, hooks.invoke, { oneHop: options.oneHop });
      // EventBridge delivers an execution's end asynchronously, to the rule's function.
      let runtime: LocalRuntime | undefined;
      const sfn = new LocalStepFunctions(functions, {
        ...options,
        onExecutionEnded: (event) => {
          const delivery = Promise.resolve().then(() => runtime?.deliver(event));
          runtime?.background.add(delivery);
          void delivery.finally(() => runtime?.background.delete(delivery));
        },
      });
      ports.executions = hooks.executions ? hooks.executions(sfn) : sfn;
      // Lambda queues an `Event` invocation and answers at once: the run is not awaited by the request.
      ports.deferral = {
        async defer(command) {
          const url = new URLSearchParams(command.body).get('response_url') ?? '';
          const run = Promise.resolve()
            .then(() => functions.chat!(JSON.parse(JSON.stringify(command))))
            .catch(() => undefined);
          runtime?.deferredRuns.set(url, run);
          runtime?.background.add(run);
          void run.finally(() => runtime?.background.delete(run));
        },
      };
      runtime = new LocalRuntime(emulator, environments, ports, functions, sfn, scansPending, slackApi, !options.emulator);
      if (options.traffic) {
        const live = runtime;
        live.trafficSimulator = new TrafficSimulator(options.traffic, {
          traffic: ports.traffic,
          ecs: ports.ecs,
          cloudwatch: sdk(new CloudWatchClient(cfg)),
          services: ports.services,
          timeScale: options.timeScale ?? 1,
          deliver: (event) => live.deliver(event),
        });
        live.trafficSimulator.start();
      }
      return runtime;
    } catch (error) {
      await slackApi?.stop();
      if (!options.emulator) await emulator.stop();
      throw error;
    }
  }

  /**
   * Delivers an event as EventBridge would: to the function of the first rule whose pattern matches it
   * (asynchronously invoked on AWS; awaited here). An event no rule matches reaches nothing.
   */
  async deliver(event: unknown): Promise<Delivery> {
    const rule = this.rules.find((r) => matchesPattern(r.pattern, event));
    if (!rule) return {};
    const fn = this.functions[rule.target]!;
    try {
      return { rule: rule.name, target: rule.target, result: await fn(JSON.parse(JSON.stringify(event))) };
    } catch (error) {
      const e = error as Error;
      return { rule: rule.name, target: rule.target, error: { name: e.name, message: e.message } };
    }
  }

  /**
   * Sends `/cutover <text>` as Slack would: a form-encoded body, signed with the local signing secret, to
   * the chat function as a Function URL request, with a `response_url` on the local stand-in for Slack (a
   * deferred command's outcome arrives there: `reply.followUp()`). `signingSecret`, `timestamp` and
   * `responseUrl` can be overridden to try forged, stale or misdirected requests.
   */
  async slack(text: string, options: { user?: string; channel?: string; signingSecret?: string; timestamp?: number; responseUrl?: string } = {}): Promise<SlackReply> {
    const responseUrl = options.responseUrl ?? `${this.slackApi.responseUrl}/${crypto.randomUUID()}`;
    const body = new URLSearchParams({
      token: 'deprecated-verification-token',
      team_id: 'TDEMO0TEAM',
      channel_id: options.channel ?? DEMO_CHAT.channel,
      user_id: options.user ?? DEMO_CHAT.user,
      user_name: 'operator',
      command: '/cutover',
      text,
      response_url: responseUrl,
      // Unique per request, as Slack's: the same command twice is two requests, not a replay.
      trigger_id: `${Date.now()}.${crypto.randomUUID()}.local`,
    }).toString();
    const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
    const signature = signSlackRequest(options.signingSecret ?? LOCAL_SIGNING_SECRET, body, timestamp);
    const reply = await this.slackRaw(body, { 'x-slack-request-timestamp': String(timestamp), 'x-slack-signature': signature });
    return { ...reply, responseUrl, followUp: () => this.followUp(responseUrl) };
  }

  /** The outcome a deferred command posted to `responseUrl` (see {@link SlackReply.followUp}). */
  async followUp(responseUrl: string): Promise<ResponseMessage> {
    const run = this.deferredRuns.get(responseUrl);
    if (!run) throw new Error(`no deferred command was started for ${responseUrl}: it was answered directly`);
    const none = run.then(() => this.slackApi.responses.find((r) => r.url === responseUrl) ?? Promise.reject(new Error(`the deferred command of ${responseUrl} ended without posting its outcome`)));
    return Promise.race([this.slackApi.responseTo(responseUrl), none]);
  }

  /** Delivers a raw Function URL request to the chat function. */
  async slackRaw(body: string, headers: Record<string, string>, method = 'POST'): Promise<UrlResponse> {
    const event = {
      version: '2.0',
      routeKey: '$default',
      rawPath: '/',
      rawQueryString: '',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      requestContext: { http: { method, path: '/', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'Slackbot 1.0' } },
      body,
      isBase64Encoded: false,
    };
    return (await this.functions.chat!(event)) as UrlResponse;
  }

  /**
   * Invokes a custom resource's function as CloudFormation does during a deploy (`release`, `live-state`):
   * a request with `properties` (and the previous ones for an Update) whose `ResponseURL` is served on
   * 127.0.0.1; resolves with the response the function PUT there.
   * @example
   * const { response } = await runtime.customResource('release', 'Update', 'CheckoutRelease', { Service: 'checkout', TaskDefinition: arn }, { Service: 'checkout', TaskDefinition: old });
   */
  async customResource<P>(
    fn: 'release' | 'live-state',
    type: CustomResourceRequest['RequestType'],
    logicalId: string,
    properties: P,
    oldProperties?: P,
  ): Promise<{ request: CustomResourceRequest<P>; response: CustomResourceResponse }> {
    this.cloudFormation ??= startLocalCloudFormation();
    const cloudFormation = await this.cloudFormation;
    const request = customResourceRequest(type, logicalId, cloudFormation.responseUrl(), properties, oldProperties);
    // CloudFormation waits for the PUT, not for the function's result: a function that fails before it
    // responds leaves the deploy hanging until its timeout, which is what this rejection stands for.
    await this.functions[fn]!(JSON.parse(JSON.stringify(request)));
    const arrived = cloudFormation.responses.find((r) => r.url === request.ResponseURL);
    if (!arrived) throw new Error(`${fn} returned without sending its response to ${request.ResponseURL}`);
    return { request, response: arrived.response };
  }

  /** Waits until every execution has ended and every delivery that follows from it is done. */
  async settle(): Promise<void> {
    for (let round = 0; round < 50; round++) {
      await this.sfn.waitAll();
      if (this.background.size === 0) return;
      await Promise.allSettled([...this.background]);
    }
  }

  /** Stops the Slack stand-in, and the emulator if this runtime started it. */
  async stop(): Promise<void> {
    await this.trafficSimulator?.stop();
    await Promise.allSettled([...this.background]);
    await this.slackApi.stop();
    if (this.cloudFormation) await (await this.cloudFormation).stop();
    if (this.ownsEmulator) await this.emulator.stop();
  }
}
