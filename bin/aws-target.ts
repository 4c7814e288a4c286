/**
 * Finds a deployed Cutover from its CloudFormation stack's outputs (`TableName`, `StateMachineArn`,
 * `StartFunctionName`, as the construct writes them) and builds the command ports over AWS with the
 * standard credential chain.
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetExecutionHistoryCommand, SFNClient, type HistoryEvent } from '@aws-sdk/client-sfn';
import { awsAlarms } from '../functions/aws/alarms';
import { awsEcs } from '../functions/aws/ecs';
import { awsExecutions, executionArnOf } from '../functions/aws/executions';
import { awsRegistry } from '../functions/aws/registry';
import { awsStore } from '../functions/aws/store';
import { awsTraffic } from '../functions/aws/traffic';
import type { CommandDeps } from '../functions/chat/commands';
import { consoleUrl } from '../functions/chat/handler';
import { servicesFromEnv } from '../functions/core/config';
import { silentLog, systemClock } from '../functions/core/ports';
import { readRolloutDefinition } from '../state-machines/definition';
import type { PlanDeps } from '../functions/read/plan';
import { decisionOf, resultKeys, type ExecutionProgress, type ExecutionReader } from '../functions/read/status';

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

const ENDED: Record<string, string> = {
  ExecutionSucceeded: 'SUCCEEDED',
  ExecutionFailed: 'FAILED',
  ExecutionTimedOut: 'TIMED_OUT',
  ExecutionAborted: 'ABORTED',
};

/**
 * An execution's progress from its newest history events (newest first): the state it entered last and
 * the newest decision a state wrote. Pure, for the events `GetExecutionHistory` returns.
 */
export function progressFromHistory(events: readonly HistoryEvent[], keys: Readonly<Record<string, string>>): ExecutionProgress {
  let status = 'RUNNING';
  let state: string | undefined;
  let decision: ExecutionProgress['decision'];
  for (const e of events) {
    if (e.type && ENDED[e.type] && status === 'RUNNING' && !state) status = ENDED[e.type]!;
    if (!state && e.stateEnteredEventDetails?.name) state = e.stateEnteredEventDetails.name;
    const exited = e.stateExitedEventDetails;
    if (!decision && exited?.name && exited.output) {
      let output: unknown;
      try {
        output = JSON.parse(exited.output);
      } catch {
        output = undefined;
      }
      const text = decisionOf(exited.name, output, keys);
      if (text) decision = { state: exited.name, text };
    }
    if (state && decision) break;
  }
  return { status, state, decision };
}

/**
 * The executions' progress over Step Functions (`states:GetExecutionHistory`, newest events first). An
 * execution that does not exist (yet) has no progress.
 */
export function awsExecutionReader(stateMachineArn: string, client = new SFNClient({})): ExecutionReader {
  const keys = resultKeys(JSON.parse(readRolloutDefinition()));
  return {
    async progress(rolloutId) {
      try {
        const out = await client.send(
          new GetExecutionHistoryCommand({ executionArn: executionArnOf(stateMachineArn, rolloutId), reverseOrder: true, maxResults: 60, includeExecutionData: true }),
        );
        return progressFromHistory(out.events ?? [], keys);
      } catch (error) {
        if ((error as { name?: string }).name === 'ExecutionDoesNotExist') return undefined;
        throw error;
      }
    },
  };
}

/** What `plan` reads through against AWS: prepare's ports (it only reads). */
export function awsPlanDeps(target: AwsTarget): PlanDeps {
  return {
    ecs: awsEcs(),
    traffic: awsTraffic(),
    alarms: awsAlarms(),
    store: awsStore(target.tableName),
    registry: awsRegistry(),
    executions: awsExecutions(target.stateMachineArn),
    clock: systemClock,
    log: silentLog,
  };
}
