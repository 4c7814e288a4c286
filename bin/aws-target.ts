/**
 * Finds a deployed Cutover from its CloudFormation stack's outputs (`TableName`, `StateMachineArn`,
 * `StartFunctionName`, as the construct writes them) and builds the command ports over AWS with the
 * standard credential chain.
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { awsAlarms } from '../functions/aws/alarms';
import { awsEcs } from '../functions/aws/ecs';
import { awsExecutions, executionArnOf } from '../functions/aws/executions';
import { awsStore } from '../functions/aws/store';
import { awsTraffic } from '../functions/aws/traffic';
import type { CommandDeps } from '../functions/chat/commands';
import { consoleUrl } from '../functions/chat/handler';
import { servicesFromEnv } from '../functions/core/config';
import { silentLog, systemClock } from '../functions/core/ports';

export interface AwsTarget {
  readonly tableName: string;
  readonly stateMachineArn: string;
  readonly startFunctionName: string;
}

/** Reads the construct's outputs from a stack. Output keys are `<construct id><Name><8 hex>`. */
export async function findTarget(stackName: string, cfn = new CloudFormationClient({})): Promise<AwsTarget> {
  const out = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
  const outputs = out.Stacks?.[0]?.Outputs ?? [];
  const get = (name: string) => {
    const found = outputs.filter((o) => new RegExp(`${name}[0-9A-F]{8}$`).test(o.OutputKey ?? ''));
    if (found.length !== 1) throw new Error(`stack ${stackName} has ${found.length === 0 ? 'no' : 'several'} Cutover output ${name}; pass --stack with the stack that holds one Cutover`);
    return found[0]!.OutputValue!;
  };
  return { tableName: get('TableName'), stateMachineArn: get('StateMachineArn'), startFunctionName: get('StartFunctionName') };
}

/** The command ports over AWS for a deployed Cutover. */
export async function awsCommandDeps(target: AwsTarget, lambda = new LambdaClient({})): Promise<CommandDeps> {
  const config = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: target.startFunctionName }));
  const services = servicesFromEnv(config.Environment?.Variables?.CUTOVER_SERVICES ?? '[]');
  return {
    services,
    store: awsStore(target.tableName),
    executions: awsExecutions(target.stateMachineArn),
    alarms: awsAlarms(),
    traffic: awsTraffic(),
    ecs: awsEcs(),
    clock: systemClock,
    log: silentLog,
    executionUrl: (rolloutId) => consoleUrl(executionArnOf(target.stateMachineArn, rolloutId)),
  };
}
