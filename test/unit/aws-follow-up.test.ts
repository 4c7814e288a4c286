/**
 * The chat function's two adapters for deferred commands: its own asynchronous invocation (Lambda `Invoke`,
 * `Event`) and the post to Slack's `response_url`.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { awsSelfInvoke } from '../../functions/aws/self-invoke';
import { slackResponses } from '../../functions/aws/slack-responses';
import { DEFERRED_COMMAND, type DeferredCommand } from '../../functions/core/follow-up';
import { ErrorName } from '../../functions/core/errors';

const COMMAND: DeferredCommand = { kind: DEFERRED_COMMAND, body: 'text=rollback+checkout', timestamp: '1795515600', signature: `v0=${'a'.repeat(64)}` };
const lambda = mockClient(LambdaClient);

describe('awsSelfInvoke', () => {
  beforeEach(() => lambda.reset());

  it('queues the command as an Event invocation of the function, by its name', async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 202 });

    await awsSelfInvoke('cutover-chat', new LambdaClient({ region: 'us-east-1' })).defer(COMMAND);

    const [call] = lambda.commandCalls(InvokeCommand).map((c) => c.args[0].input);
    expect({ ...call, Payload: JSON.parse(new TextDecoder().decode(call!.Payload as Uint8Array)) as unknown }).toEqual({ FunctionName: 'cutover-chat', InvocationType: 'Event', Payload: COMMAND });
  });

  it.each<[string, () => void, object]>([
    ['Lambda answers anything but 202', () => lambda.on(InvokeCommand).resolves({ StatusCode: 200 }), { message: 'lambda:Invoke of cutover-chat answered 200, not 202 (queued)' }],
    [
      'Lambda throttles',
      () => lambda.on(InvokeCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'TooManyRequestsException', $metadata: { httpStatusCode: 429 } })),
      { name: ErrorName.AwsTransient },
    ],
  ])('fails when %s', async (_case, arrange, error) => {
    arrange();

    await expect(awsSelfInvoke('cutover-chat', new LambdaClient({ region: 'us-east-1' })).defer(COMMAND)).rejects.toMatchObject(error);
  });
});

describe('slackResponses', () => {
  const URL_ = 'https://hooks.slack.com/commands/T0SHOP/1/x';

  it('posts the message as JSON, following no redirect', async () => {
    const sent: Array<{ url: string; init: RequestInit }> = [];
    const fetch = (async (url: string, init: RequestInit) => {
      sent.push({ url, init });
      return new Response('ok', { status: 200 });
    }) as unknown as typeof globalThis.fetch;

    await slackResponses({ fetch }).post(URL_, { response_type: 'in_channel', text: 'Restored checkout' });

    expect(sent.map(({ url, init }) => ({ url, method: init.method, redirect: init.redirect, headers: init.headers, body: JSON.parse(String(init.body)) as unknown }))).toEqual([
      { url: URL_, method: 'POST', redirect: 'error', headers: { 'content-type': 'application/json; charset=utf-8' }, body: { response_type: 'in_channel', text: 'Restored checkout' } },
    ]);
  });

  it('fails when the response_url answers an HTTP error', async () => {
    const fetch = (async () => new Response('expired_url', { status: 404 })) as unknown as typeof globalThis.fetch;

    await expect(slackResponses({ fetch }).post(URL_, { response_type: 'ephemeral', text: 'x' })).rejects.toThrow('response_url answered HTTP 404');
  });
});
