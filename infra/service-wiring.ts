/**
 * The managed services as the construct wires them: each service's props resolved to CDK references and to
 * the configuration its functions read (`CUTOVER_SERVICES`), checked at synth with the same validators the
 * functions run, each problem named by the prop that sets it.
 */
import { Annotations, type CustomResource, Duration, Token } from 'aws-cdk-lib';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { DEFAULT_SCAN_TIMEOUT_SECONDS, validateServices, type ServiceConfig } from '../functions/core/config';
import { normalizePlan } from '../functions/core/plan';
import { DEFAULT_HOOK_TIMEOUT_SECONDS, type HooksConfig } from '../functions/core/hooks';
import type { CutoverAnalysisProps, CutoverHooksProps, CutoverProps, CutoverServiceProps } from './cutover';
import type { AnalysisConfig } from '../functions/core/analysis';
import { CutoverDefaults } from './defaults';
import { pascal } from './functions';
import { handOverLiveState } from './iac-ownership';
import { resolveSlot, taskDefinitionAccess, type ResolvedSlot, type TaskDefinitionAccess } from './slots';

/** The rollout ingredients of one service, as CDK references. */
export interface ServiceRefs {
  readonly props: CutoverServiceProps;
  readonly config: ServiceConfig;
  /** What the functions modify: the listener, or the listener rule. */
  readonly trafficArn: string;
  readonly usesRule: boolean;
  readonly blue: ResolvedSlot;
  readonly green: ResolvedSlot;
  /** The family and roles of the slots' revisions (undefined only when the props are invalid). */
  readonly taskDefinition?: TaskDefinitionAccess;
}

/** Tokens as distinct placeholder ARNs, so the run-time validators can check everything else. */
function forValidation(value: unknown): unknown {
  if (typeof value === 'string') return Token.isUnresolved(value) ? `arn:aws:cdk-token:::${value}` : value;
  if (typeof value === 'number') return Token.isUnresolved(value) ? 1 : value;
  if (Array.isArray(value)) return value.map(forValidation);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, forValidation(v)]));
  return value;
}

/**
 * Lambda's limit on a function's environment variables, all together.
 * @see https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
 */
export const LAMBDA_ENVIRONMENT_LIMIT = 4096;

/**
 * The length of the services' JSON once deployed, estimated: an ARN not known at synth counts 140
 * characters (a listener ARN is about 130), a name 64.
 */
function deployedLength(configs: readonly ServiceConfig[]): number {
  return JSON.stringify(configs, (key, value: unknown) => (typeof value === 'string' && Token.isUnresolved(value) ? 'x'.repeat(/Arn$/.test(key) ? 140 : 64) : value)).length;
}

/** Maps a validator path (`services[0].slots.blue.serviceName`) to the prop that sets it (`services[0].blue.service`). */
function propPath(problem: string, services: readonly CutoverServiceProps[]): string {
  return problem
    .replace(/^(services\[\d+\])\.slots\.(blue|green)\.serviceName/, '$1.$2.service')
    .replace(/^(services\[\d+\])\.slots\.(blue|green)\.targetGroupArn/, '$1.$2.targetGroup')
    .replace(/^(services\[\d+\])\.slots:/, '$1.blue/green:')
    .replace(/^(services\[(\d+)\])\.listenerArn/, (_m, at: string, i: string) => `${at}.${services[Number(i)]?.listenerRuleArn !== undefined ? 'listenerRuleArn' : 'listener'}`)
    .replace(/^(services\[\d+\])\.timings\.rollbackWindowSeconds/, '$1.rollbackWindow')
    .replace(/^(services\[\d+\])\.timings\.steadyPollSeconds/, '$1.steadyPollInterval')
    .replace(/^(services\[\d+\])\.timings\.steadyMaxChecks/, '$1.steadyMaxChecks')
    .replace(/^(services\[\d+\])\.imageScan\.timeoutSeconds/, '$1.imageScan.timeout')
    .replace(/^(services\[\d+\]\.hooks\.[A-Za-z]+)\.timeoutSeconds/, '$1.timeout');
}

/** The hook function ARN of a function or an ARN/name as given. */
export const hookFunctionArn = (fn: lambda.IFunction | string): string => (typeof fn === 'string' ? fn : fn.functionArn);

/** The `analysis` prop as the functions read it: the period in seconds. */
function analysisConfigOf({ period, ...rest }: CutoverAnalysisProps): AnalysisConfig {
  return { ...rest, ...(period ? { periodSeconds: period.toSeconds() } : {}) };
}

/** The `hooks` prop as the functions read it: ARNs, seconds, defaults applied. */
function hooksConfigOf(hooks: CutoverHooksProps): HooksConfig {
  return Object.fromEntries(
    Object.entries(hooks).map(([stage, h]) => [
      stage,
      {
        functions: (h?.functions ?? []).map(hookFunctionArn),
        timeoutSeconds: h?.timeout ? h.timeout.toSeconds({ integral: false }) : DEFAULT_HOOK_TIMEOUT_SECONDS,
        onTimeout: h?.onTimeout ?? 'rollback',
      },
    ]),
  ) as HooksConfig;
}

/** Checks the props with the run-time validators and returns what the rest of the construct needs. */
export function resolveServices(scope: Construct, props: CutoverProps): ServiceRefs[] {
  const problems: string[] = [];
  if (!Array.isArray(props.services) || props.services.length === 0) problems.push('services: must list at least one service');
  for (const [name, memorySize] of [
    ['memorySize', props.memorySize],
    ['reactionMemorySize', props.reactionMemorySize],
  ] as const) {
    if (memorySize !== undefined && !Token.isUnresolved(memorySize) && (!Number.isInteger(memorySize) || memorySize < 128 || memorySize > 10_240)) {
      problems.push(`${name}: must be an integer from 128 to 10240 (MiB)`);
    }
  }
  const services = (props.services ?? []).map((s, i): ServiceRefs => {
    const usesRule = s.listenerRuleArn !== undefined;
    if (s.listener !== undefined && s.listenerArn !== undefined) problems.push(`services[${i}].listenerArn: give either listener or listenerArn, not both`);
    const listenerArn = s.listener?.listenerArn ?? s.listenerArn;
    if (listenerArn === undefined && !usesRule)
      problems.push(`services[${i}].listener: required: the listener, its ARN (listenerArn) or the ARN of the listener rule (listenerRuleArn) that forwards to both target groups`);
    const trafficArn = s.listenerRuleArn ?? listenerArn ?? '';
    const seconds = (d: Duration) => d.toSeconds({ integral: false });
    const blue = resolveSlot(scope, s.cluster, s.blue);
    const green = resolveSlot(scope, s.cluster, s.green);
    const td = taskDefinitionAccess(`services[${i}]`, [blue, green], s.taskDefinition);
    problems.push(...td.problems);
    const config: ServiceConfig = {
      name: s.name,
      cluster: s.cluster.clusterName,
      slots: {
        blue: { serviceName: blue.serviceName, targetGroupArn: blue.targetGroupArn },
        green: { serviceName: green.serviceName, targetGroupArn: green.targetGroupArn },
      },
      listenerArn: trafficArn,
      containerName: s.containerName,
      repository: s.repository.repositoryName,
      plan: normalizePlan(s.plan ?? CutoverDefaults.plan),
      alarms: (s.alarms ?? []).map((a) => a.alarmName),
      timings: {
        rollbackWindowSeconds: seconds(s.rollbackWindow ?? CutoverDefaults.rollbackWindow),
        steadyPollSeconds: seconds(s.steadyPollInterval ?? CutoverDefaults.steadyPollInterval),
        steadyMaxChecks: s.steadyMaxChecks ?? CutoverDefaults.steadyMaxChecks,
      },
      ...(s.chat ? { chat: s.chat } : {}),
      ...(s.concurrency ? { concurrency: s.concurrency } : {}),
      ...(s.tagFilter !== undefined ? { tagFilter: s.tagFilter } : {}),
      ...(s.imageScan
        ? { imageScan: { failOn: s.imageScan.failOn, timeoutSeconds: seconds(s.imageScan.timeout ?? Duration.seconds(DEFAULT_SCAN_TIMEOUT_SECONDS)), onTimeout: s.imageScan.onTimeout ?? 'refuse' } }
        : {}),
      ...(s.keepRevisions !== undefined ? { keepRevisions: s.keepRevisions } : {}),
      ...(s.adoptDrift !== undefined ? { adoptDrift: s.adoptDrift } : {}),
      ...(s.hooks ? { hooks: hooksConfigOf(s.hooks) } : {}),
      ...(s.analysis ? { analysis: analysisConfigOf(s.analysis) } : {}),
      ...(s.testTraffic ? { testTraffic: s.testTraffic } : {}),
    };
    return { props: s, config, trafficArn, usesRule, blue, green, taskDefinition: td.access };
  });
  // The validators the start function runs on CUTOVER_SERVICES at run time (validateServices runs
  // validatePlan on each plan), so a config that synthesizes is one the functions accept.
  const configs = services.map((s) => forValidation(s.config));
  problems.push(...validateServices(configs).map((p) => propPath(p, props.services ?? [])));
  services.forEach((s, i) => {
    const rule = s.props.listenerRuleArn;
    if (rule !== undefined && !Token.isUnresolved(rule) && !rule.includes(':listener-rule/app/')) {
      problems.push(`services[${i}].listenerRuleArn: must be the ARN of an Application Load Balancer listener rule (…:listener-rule/app/…)`);
    }
  });
  if (problems.length) throw new Error(`Cutover: invalid props:\n  ${problems.join('\n  ')}`);
  // The start function reads every service from one environment variable; a deploy that outgrows the
  // limit fails late, so say it at synth. Deployed values are not known yet: estimate them.
  const estimate = deployedLength(services.map((s) => s.config));
  if (estimate > LAMBDA_ENVIRONMENT_LIMIT - 512) {
    Annotations.of(scope).addWarningV2(
      '@cutover/services-environment-size',
      `CUTOVER_SERVICES may not fit in the start function's environment: about ${estimate} bytes for ${services.length} services, ` +
        `and Lambda allows ${LAMBDA_ENVIRONMENT_LIMIT} bytes for all variables together. Split the services over two Cutover constructs.`,
    );
  }
  return services;
}

/**
 * What CloudFormation owns and what Cutover owns in the slots built in this app (infra/iac-ownership.ts): per
 * service with concrete slots, its live-state and release custom resources.
 */
export function handOverServices(
  scope: Construct,
  services: readonly ServiceRefs[],
  functions: { readonly 'live-state': lambda.IFunction; readonly release: lambda.IFunction },
): Array<{ readonly service: string; readonly liveState: CustomResource; readonly release: CustomResource }> {
  return services.flatMap((s) => {
    if (!s.blue.concrete || !s.green.concrete) return [];
    const out = handOverLiveState(
      scope,
      `${pascal(s.props.name.replace(/_/g, '-'))}Ownership`,
      {
        name: s.props.name,
        cluster: s.config.cluster,
        blue: { service: s.blue.concrete, targetGroupArn: s.blue.targetGroupArn },
        green: { service: s.green.concrete, targetGroupArn: s.green.targetGroupArn },
        listener: s.usesRule ? undefined : (s.props.listener as elbv2.ApplicationListener | undefined),
        trafficArn: s.trafficArn,
      },
      { liveState: functions['live-state'], release: functions.release },
    );
    return out ? [{ service: s.props.name, ...out }] : [];
  });
}
