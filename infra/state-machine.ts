/**
 * The rollout state machine: the definition in `state-machines/rollout.asl.json` (the single source, read the
 * same way by the local runner), its `${XxxFunctionArn}` placeholders substituted with the functions' ARNs,
 * logged and traced, allowed to invoke exactly the functions it names.
 */
import { Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { placeholderOfFunction, placeholders as aslPlaceholders, readRolloutDefinition, ROLLOUT_DEFINITION_PATH } from '../state-machines/definition';
import { CUTOVER_FUNCTIONS, type CutoverFunctionName } from './functions';

/**
 * The definition file and how its placeholders are found: shared with the local runner
 * (state-machines/definition.ts), so what CDK deploys and what runs locally is one file read one way.
 */
export { aslPlaceholders, ROLLOUT_DEFINITION_PATH };

/** The ASL placeholder a function's ARN substitutes: `check-steady` → `CheckSteadyFunctionArn`. */
export const placeholderOf = (name: CutoverFunctionName): string => placeholderOfFunction(name);

/**
 * The `definitionSubstitutions` for the placeholders of a definition.
 * @throws Error naming every placeholder that has no value: a state machine with a literal `${...}` in a
 * `Resource` would fail only at deploy time.
 */
export function substitutionsFor(placeholders: readonly string[], values: Readonly<Record<string, string>>): Record<string, string> {
  const missing = placeholders.filter((p) => !(p in values));
  if (missing.length) {
    throw new Error(`Cutover: ${ROLLOUT_DEFINITION_PATH} has placeholders without a substitution: ${missing.map((p) => `\${${p}}`).join(', ')}`);
  }
  return Object.fromEntries(placeholders.map((p) => [p, values[p]!]));
}

/**
 * The Standard state machine of `stateMachineName` (fixed, so the functions know its ARN without a reference
 * to it) over `functions`, with its log group.
 */
export function rolloutStateMachine(
  scope: Construct,
  options: { readonly functions: Partial<Record<CutoverFunctionName, lambda.IFunction>>; readonly stateMachineName: string; readonly logRetention: logs.RetentionDays },
): sfn.StateMachine {
  const { functions, stateMachineName, logRetention } = options;
  const definition = readRolloutDefinition();
  const arns = Object.fromEntries(CUTOVER_FUNCTIONS.flatMap((name) => (functions[name] ? [[placeholderOf(name), functions[name].functionArn]] : [])));
  const placeholders = aslPlaceholders(definition);
  const definitionSubstitutions = substitutionsFor(placeholders, arns);
  // Under /aws/vendedlogs/: CloudWatch Logs then needs no resource policy per log group for Step Functions'
  // log delivery, whose size limit (5,120 characters per account and Region) deployments otherwise hit.
  const stateMachineLogs = new logs.LogGroup(scope, 'StateMachineLogs', { logGroupName: `/aws/vendedlogs/states/${stateMachineName}`, retention: logRetention });
  const stateMachine = new sfn.StateMachine(scope, 'StateMachine', {
    stateMachineName,
    stateMachineType: sfn.StateMachineType.STANDARD,
    definitionBody: sfn.DefinitionBody.fromString(definition),
    definitionSubstitutions,
    logs: { destination: stateMachineLogs, level: sfn.LogLevel.ALL, includeExecutionData: true },
    tracingEnabled: true,
  });
  // Only the unqualified ARNs the definition names (grantInvoke would add `<arn>:*` for every version).
  const invoked = CUTOVER_FUNCTIONS.filter((name) => placeholders.includes(placeholderOf(name)));
  stateMachine.addToRolePolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: invoked.map((name) => functions[name]!.functionArn) }));
  Validations.of(stateMachine.role).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      'Step Functions logging to CloudWatch Logs needs logs:CreateLogDelivery, GetLogDelivery, UpdateLogDelivery, DeleteLogDelivery, ' +
      'ListLogDeliveries, PutResourcePolicy, DescribeResourcePolicies and DescribeLogGroups, and X-Ray tracing needs xray:PutTraceSegments, ' +
      'PutTelemetryRecords, GetSamplingRules and GetSamplingTargets; none of these actions supports resource-level permissions.',
  });
  return stateMachine;
}
