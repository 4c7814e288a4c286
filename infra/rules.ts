/**
 * The EventBridge event patterns Cutover subscribes to. The construct's rules and the local bus are built
 * from these same functions, so a replayed event reaches locally exactly the function it reaches on AWS.
 * @see https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html
 */
import { SCAN_EVENT_TYPES } from '../functions/core/scan';

/** A value an event pattern allows: exactly this string, or any string starting with `prefix`. */
export type PatternValue = string | { readonly prefix: string };

/** An EventBridge event pattern (the subset Cutover uses: exact values, prefixes, nested objects). */
export interface EventPattern {
  readonly [key: string]: readonly PatternValue[] | EventPattern;
}

/** Successful pushes to the given ECR repositories. */
export function pushEventPattern(repositories: readonly string[]): EventPattern {
  return {
    source: ['aws.ecr'],
    'detail-type': ['ECR Image Action'],
    detail: { 'action-type': ['PUSH'], result: ['SUCCESS'], 'repository-name': [...new Set(repositories)] },
  };
}

/** ECR's basic scan of an image in these repositories completed (the image-scan gate's wake-up). */
export function ecrScanPattern(repositories: readonly string[]): EventPattern {
  return { source: ['aws.ecr'], 'detail-type': [SCAN_EVENT_TYPES.ecr], detail: { 'repository-name': [...new Set(repositories)] } };
}

/** Inspector's first enhanced scan of an image in these repositories (named by ARN) completed. */
export function inspectorScanPattern(repositoryArns: readonly string[]): EventPattern {
  return { source: ['aws.inspector2'], 'detail-type': [SCAN_EVENT_TYPES.inspector], detail: { 'repository-name': [...new Set(repositoryArns)] } };
}

/** The given alarms going into ALARM, and any alarm whose name starts with one of `prefixes` (canary analysis). */
export function alarmEventPattern(alarmNames: readonly string[], prefixes: readonly string[] = []): EventPattern {
  return {
    source: ['aws.cloudwatch'],
    'detail-type': ['CloudWatch Alarm State Change'],
    detail: { alarmName: [...new Set(alarmNames), ...[...new Set(prefixes)].map((prefix) => ({ prefix }))], state: { value: ['ALARM'] } },
  };
}

/** ECS saying a deployment failed or tasks cannot start or be placed (the function matches the service). */
export function ecsFailurePattern(): EventPattern {
  return {
    source: ['aws.ecs'],
    'detail-type': ['ECS Deployment State Change', 'ECS Service Action'],
    detail: { eventName: ['SERVICE_DEPLOYMENT_FAILED', 'SERVICE_TASK_START_IMPAIRED', 'SERVICE_TASK_PLACEMENT_FAILURE', 'SERVICE_TASK_CONFIGURATION_FAILURE'] },
  };
}

/**
 * True if `event` matches `pattern`: every field named in the pattern must be present; an array lists the
 * values allowed (an event array matches if any element is allowed); an object descends.
 */
export function matchesPattern(pattern: EventPattern, event: unknown): boolean {
  if (typeof event !== 'object' || event === null) return false;
  const e = event as Record<string, unknown>;
  return Object.entries(pattern).every(([key, expected]) => {
    const actual = e[key];
    if (Array.isArray(expected)) {
      const values = Array.isArray(actual) ? actual : [actual];
      return values.some((v) => (expected as readonly PatternValue[]).some((allowed) => (typeof allowed === 'string' ? allowed === v : typeof v === 'string' && v.startsWith(allowed.prefix))));
    }
    return matchesPattern(expected as EventPattern, actual);
  });
}

/**
 * Executions of the given state machine that ended: the dead-execution path (functions/reconcile). Every end
 * status, SUCCEEDED too: `Succeeded, old slot left running` ends the execution after a scale-down that may
 * have died holding the lock.
 */
export function executionEndedPattern(stateMachineArn: string): EventPattern {
  return {
    source: ['aws.states'],
    'detail-type': ['Step Functions Execution Status Change'],
    detail: { stateMachineArn: [stateMachineArn], status: ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'] },
  };
}
