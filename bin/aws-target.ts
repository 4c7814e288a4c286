/**
 * Finds a deployed Cutover from its CloudFormation stack's outputs (`TableName`, `StateMachineArn`,
 * `StartFunctionName`, as the construct writes them) and builds the command ports over AWS with the
 * standard credential chain. A stack may hold several Cutovers: `--cutover <construct id or path>` picks one.
 */
import { CloudFormationClient, DescribeStacksCommand, type DescribeStacksCommandOutput } from '@aws-sdk/client-cloudformation';
import { GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetExecutionHistoryCommand, SFNClient } from '@aws-sdk/client-sfn';
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
import { progressFromHistory } from '../functions/read/progress';
import { resultKeys, type ExecutionReader } from '../functions/read/status';
import { CliError, ExitCode } from './exit';

export interface AwsTarget {
  readonly tableName: string;
  readonly stateMachineArn: string;
  readonly startFunctionName: string;
}

/** Where to find a deployed Cutover: the stack, and which of its Cutovers when it holds several. */
export interface TargetChoice {
  readonly stack: string;
  /** The construct's id or path (`Cutover`, `Orders/Cutover`). @default the only one in the stack */
  readonly cutover?: string;
}

const OUTPUTS = ['TableName', 'StateMachineArn', 'StartFunctionName'] as const;

/** A construct path as CloudFormation logical IDs spell it: its parts joined, only letters and digits. */
const logicalPrefix = (path: string) =>
  path
    .split('/')
    .filter((p) => p && p !== 'Default')
    .join('')
    .replace(/[^A-Za-z0-9]/g, '');

/**
 * The Cutovers in a stack's outputs, by the prefix of their output keys (`<construct path><Name><8 hex>`,
 * e.g. `CutoverTableName0A1B2C3D`, `OrdersCutoverTableNameDEADBEEF`). Pure.
 */
export function cutoversInOutputs(outputs: ReadonlyArray<{ OutputKey?: string; OutputValue?: string }>): Map<string, Partial<Record<(typeof OUTPUTS)[number], string>>> {
  const found = new Map<string, Partial<Record<(typeof OUTPUTS)[number], string>>>();
  for (const o of outputs) {
    for (const name of OUTPUTS) {
      const m = new RegExp(`^([A-Za-z0-9]*)${name}[0-9A-F]{8}$`).exec(o.OutputKey ?? '');
      if (m && o.OutputValue) found.set(m[1]!, { ...found.get(m[1]!), [name]: o.OutputValue });
    }
  }
  return found;
}

/** Picks one Cutover of a stack's outputs, by `choice.cutover` or as the only one. Pure. */
export function pickTarget(stack: string, outputs: ReadonlyArray<{ OutputKey?: string; OutputValue?: string }>, cutover?: string): AwsTarget {
  const all = cutoversInOutputs(outputs);
  const names = [...all.keys()];
  const listed = names.map((n) => n || '(root)').join(', ');
  let prefix: string | undefined;
  if (cutover !== undefined) {
    const wanted = logicalPrefix(cutover);
    prefix = names.find((n) => n === wanted) ?? (names.filter((n) => n.endsWith(wanted)).length === 1 ? names.find((n) => n.endsWith(wanted)) : undefined);
    if (prefix === undefined) throw new CliError(`stack ${stack} has no Cutover "${cutover}"; it has: ${listed || 'none'} (pass one with --cutover)`, ExitCode.UNREACHABLE);
  } else if (names.length === 1) {
    prefix = names[0];
  } else if (names.length === 0) {
    throw new CliError(`stack ${stack} has no Cutover output TableName; pass --stack with the stack that holds a Cutover`, ExitCode.UNREACHABLE);
  } else {
    throw new CliError(`stack ${stack} holds ${names.length} Cutovers: ${listed}; pick one with --cutover <construct id or path>`, ExitCode.REFUSED);
  }
  const outs = all.get(prefix!)!;
  const missing = OUTPUTS.filter((n) => !outs[n]);
  if (missing.length)
    throw new CliError(`stack ${stack} has no Cutover output ${missing.join(', ')} for ${prefix || 'its Cutover'}; deploy the stack with this version of Cutover`, ExitCode.UNREACHABLE);
  return { tableName: outs.TableName!, stateMachineArn: outs.StateMachineArn!, startFunctionName: outs.StartFunctionName! };
}

/** Reads the construct's outputs from a stack and picks the Cutover to talk to. */
export async function findTarget(choice: TargetChoice | string, cfn = new CloudFormationClient({})): Promise<AwsTarget> {
  const { stack, cutover } = typeof choice === 'string' ? { stack: choice, cutover: undefined } : choice;
  let out: DescribeStacksCommandOutput;
  try {
    out = await cfn.send(new DescribeStacksCommand({ StackName: stack }));
  } catch (error) {
    if ((error as { name?: string }).name === 'ValidationError')
      throw new CliError(`no stack ${stack}: ${(error as Error).message} (pass --stack, or set CUTOVER_STACK)`, ExitCode.UNREACHABLE, { cause: error });
    throw error;
  }
  return pickTarget(stack, out.Stacks?.[0]?.Outputs ?? [], cutover);
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

/**
 * The executions' progress over Step Functions (`states:GetExecutionHistory`, newest events first). An
 * execution that does not exist (yet) has no progress.
 */
export function awsExecutionReader(stateMachineArn: string, client = new SFNClient({})): ExecutionReader {
  const keys = resultKeys(JSON.parse(readRolloutDefinition()));
  return {
    async progress(rolloutId) {
      try {
        const out = await client.send(new GetExecutionHistoryCommand({ executionArn: executionArnOf(stateMachineArn, rolloutId), reverseOrder: true, maxResults: 60, includeExecutionData: true }));
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
