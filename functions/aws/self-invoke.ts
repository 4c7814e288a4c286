/**
 * The chat function's {@link CommandDeferral} over Lambda: an asynchronous `Invoke` (`InvocationType: 'Event'`)
 * of the function itself, by its own name (`AWS_LAMBDA_FUNCTION_NAME`, which Lambda sets). Lambda answers
 * 202 once the event is queued; the construct turns Lambda's retries of a failed run off (a command runs
 * once) and the function claims each run in the table, since Lambda may deliver an event twice.
 * @see https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { CommandDeferral } from '../core/follow-up';
import { sdkOptions } from './clients';
import { edge } from './edge';

/**
 * @example
 * const deferral = awsSelfInvoke(requireEnv('AWS_LAMBDA_FUNCTION_NAME'));
 * await deferral.defer({ kind: DEFERRED_COMMAND, body, timestamp, signature });
 */
export function awsSelfInvoke(functionName: string, client: LambdaClient = new LambdaClient(sdkOptions)): CommandDeferral {
  return {
    async defer(command) {
      const out = await edge('lambda:Invoke', () =>
        client.send(new InvokeCommand({ FunctionName: functionName, InvocationType: 'Event', Payload: new TextEncoder().encode(JSON.stringify(command)) })),
      );
      if (out.StatusCode !== 202) throw new Error(`lambda:Invoke of ${functionName} answered ${String(out.StatusCode)}, not 202 (queued)`);
    },
  };
}
