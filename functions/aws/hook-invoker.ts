/**
 * The {@link HookInvoker} over Lambda: a synchronous `Invoke` (RequestResponse) of the user's hook function.
 * A function error (`FunctionError` set) is thrown with the function's own message, so the hook fails with
 * it; throttling and 5xx go through `edge` (AwsTransient, retried by the state machine).
 * @see https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { HookInvoker } from '../core/ports';
import { sdkOptions } from './clients';
import { edge } from './edge';

export function awsHookInvoker(client: LambdaClient = new LambdaClient(sdkOptions)): HookInvoker {
  return {
    async invoke(fn, event) {
      const out = await edge('lambda:Invoke', () => client.send(new InvokeCommand({ FunctionName: fn, InvocationType: 'RequestResponse', Payload: new TextEncoder().encode(JSON.stringify(event)) })));
      const text = out.Payload ? new TextDecoder().decode(out.Payload) : '';
      let value: unknown;
      try {
        value = text ? JSON.parse(text) : undefined;
      } catch {
        value = text;
      }
      if (out.FunctionError) {
        const message = (value as { errorMessage?: unknown } | undefined)?.errorMessage;
        throw new Error(`${fn} failed (${out.FunctionError}): ${typeof message === 'string' ? message : text.slice(0, 500)}`);
      }
      return value;
    },
  };
}
