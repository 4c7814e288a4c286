/**
 * The EventBridge rules that drive rollouts, over the patterns the local bus also uses (infra/rules.ts): an
 * ECR push starts one, a completed image scan wakes the push waiting for it, a watched alarm or an ECS
 * failure aborts, and an execution that ended owning a service has it recovered. Each target retries and
 * sends what it cannot deliver to the dead-letter queue.
 */
import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { alarmEventPattern, ecrScanPattern, ecsFailurePattern, executionEndedPattern, inspectorScanPattern, pushEventPattern, type EventPattern } from './rules';
import type { ServiceRefs } from './service-wiring';
import { analysisAlarmPrefix } from '../functions/core/analysis';

/** The shared pattern (the local bus uses the same one) in CDK's shape: `detail-type` is `detailType` there. */
export function cdkPattern(pattern: EventPattern): events.EventPattern {
  const { source, 'detail-type': detailType, detail } = pattern as Record<string, unknown>;
  return { source: source as string[], detailType: detailType as string[], detail: detail as Record<string, unknown> };
}

/** The rules {@link eventRules} made (the construct's public handles). */
export interface CutoverRules {
  readonly pushRule: events.Rule;
  readonly scanRules: readonly events.Rule[];
  readonly alarmRule: events.Rule;
  readonly ecsFailureRule: events.Rule;
  readonly recoveryRule: events.Rule;
}

/** The rules of the services' repositories and alarms, each targeting its function. */
export function eventRules(
  scope: Construct,
  options: {
    readonly services: readonly ServiceRefs[];
    readonly functions: { readonly start: lambda.IFunction; readonly alarm: lambda.IFunction; readonly reconcile: lambda.IFunction };
    readonly deadLetterQueue: sqs.IQueue;
    /** The state machine's ARN, fixed (the recovery rule matches its executions). */
    readonly stateMachineArn: string;
  },
): CutoverRules {
  const { services, functions } = options;
  const target = (fn: lambda.IFunction) => new targets.LambdaFunction(fn, { deadLetterQueue: options.deadLetterQueue, retryAttempts: 8, maxEventAge: Duration.hours(1) });

  const pushRule = new events.Rule(scope, 'PushRule', {
    description: 'Cutover: an image pushed to a configured ECR repository starts a rollout',
    eventPattern: cdkPattern(pushEventPattern(services.map((s) => s.props.repository.repositoryName))),
    targets: [target(functions.start)],
  });
  // The image-scan gate: a completed scan (basic or enhanced) ends the wait of the push of that image.
  const scanned = services.filter((s) => s.props.imageScan);
  let scanRules: events.Rule[] = [];
  if (scanned.length) {
    scanRules = [
      new events.Rule(scope, 'ScanRule', {
        description: "Cutover: ECR's scan of a pushed image completed; the push waiting for it goes on",
        eventPattern: cdkPattern(ecrScanPattern(scanned.map((s) => s.props.repository.repositoryName))),
        targets: [target(functions.start)],
      }),
      new events.Rule(scope, 'InspectorScanRule', {
        description: "Cutover: Inspector's enhanced scan of a pushed image completed; the push waiting for it goes on",
        eventPattern: cdkPattern(inspectorScanPattern(scanned.map((s) => s.props.repository.repositoryArn))),
        targets: [target(functions.start)],
      }),
    ];
  }
  const alarmRule = new events.Rule(scope, 'AlarmRule', {
    description: 'Cutover: a watched alarm going to ALARM aborts the rollouts that watch it',
    eventPattern: cdkPattern(
      alarmEventPattern(
        services.flatMap((s) => (s.props.alarms ?? []).map((a) => a.alarmName)),
        // Each analysed service's comparison alarms: created and deleted per rollout, so matched by prefix.
        services.flatMap((s) => (s.config.analysis ? [analysisAlarmPrefix(s.config.name)] : [])),
      ),
    ),
    targets: [target(functions.alarm)],
  });
  const ecsFailureRule = new events.Rule(scope, 'EcsFailureRule', {
    description: 'Cutover: ECS failing a deployment or unable to start tasks aborts the rollout deploying to that service',
    eventPattern: cdkPattern(ecsFailurePattern()),
    targets: [target(functions.alarm)],
  });

  const recoveryRule = new events.Rule(scope, 'RecoveryRule', {
    description: 'Cutover: an execution that ended while it still owned a service (stopped, timed out, failed, or a scale-down that died) has the service put back in a safe state',
    eventPattern: cdkPattern(executionEndedPattern(options.stateMachineArn)),
    targets: [target(functions.reconcile)],
  });
  return { pushRule, scanRules, alarmRule, ecsFailureRule, recoveryRule };
}
