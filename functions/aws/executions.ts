/** The {@link Executions} port over Step Functions. */
import { DescribeExecutionCommand, SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { Executions } from '../core/ports';
import { sdkOptions } from './clients';
import { edge, errorName } from './edge';

/** Token errors that mean "that wait is over already": not a failure of the caller. */
const GONE = new Set(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken']);

/** Step Functions caps `cause` at 32,768 characters and `error` at 256. */
const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** `arn:...:stateMachine:NAME` + execution name → `arn:...:execution:NAME:EXEC`. */
export const executionArnOf = (stateMachineArn: string, name: string) => `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;

export function awsExecutions(stateMachineArn: string, client: SFNClient = new SFNClient(sdkOptions)): Executions {
  return {
    async start(name, input) {
      try {
        const out = await edge('states:StartExecution', () => client.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) })));
        return { executionArn: out.executionArn ?? executionArnOf(stateMachineArn, name), alreadyStarted: false };
      } catch (error) {
        // Same name already used: a duplicate delivery of the same push. Nothing new starts.
        if (errorName(error) === 'ExecutionAlreadyExists') return { executionArn: executionArnOf(stateMachineArn, name), alreadyStarted: true };
        throw error;
      }
    },
    async succeedTask(taskToken, output) {
      try {
        await edge('states:SendTaskSuccess', () => client.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) })));
        return true;
      } catch (error) {
        if (GONE.has(errorName(error) ?? '')) return false;
        throw error;
      }
    },
    async status(rolloutId) {
      try {
        const out = await edge('states:DescribeExecution', () => client.send(new DescribeExecutionCommand({ executionArn: executionArnOf(stateMachineArn, rolloutId) })));
        return out.status ?? 'UNKNOWN';
      } catch (error) {
        if (errorName(error) === 'ExecutionDoesNotExist') return 'UNKNOWN';
        throw error;
      }
    },
    async failTask(taskToken, error, cause) {
      try {
        await edge('states:SendTaskFailure', () => client.send(new SendTaskFailureCommand({ taskToken, error: clip(error, 256), cause: clip(cause, 32_768) })));
        return true;
      } catch (e) {
        if (GONE.has(errorName(e) ?? '')) return false;
        throw e;
      }
    },
  };
}
