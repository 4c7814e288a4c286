import { ClientException, ServerException } from '@aws-sdk/client-ecs';
import { ConditionalCheckFailedException, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { edge, errorName, isTransient } from '../../functions/aws/edge';
import { AwsTransientError, ErrorName } from '../../functions/core/errors';

const named = (name: string, extra: Record<string, unknown> = {}) => Object.assign(new Error(name), { name, ...extra });

describe('isTransient', () => {
  it.each<[string, unknown]>([
    ['ThrottlingException', named('ThrottlingException', { $metadata: { httpStatusCode: 400 } })],
    ['Throttling (query protocols)', named('Throttling')],
    ['TooManyRequestsException', named('TooManyRequestsException')],
    ['RequestLimitExceeded', named('RequestLimitExceeded')],
    ['a DynamoDB ProvisionedThroughputExceededException', new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: { httpStatusCode: 400 } })],
    ['an ECS ServerException with a 500', new ServerException({ message: 'internal', $metadata: { httpStatusCode: 500 } })],
    ['a 503 Service Unavailable', named('ServiceUnavailable', { $metadata: { httpStatusCode: 503 } })],
    ['a 429', named('Unknown', { $metadata: { httpStatusCode: 429 } })],
    ['a connection reset (code)', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })],
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4566'), { code: 'ECONNREFUSED' })],
    ["a bandwidth limit (only in the SDK's list)", named('BandwidthLimitExceeded')],
    ['HTTP 429', named('Whatever', { $metadata: { httpStatusCode: 429 } })],
    ['a DNS failure', Object.assign(new Error('getaddrinfo'), { code: 'EAI_AGAIN' })],
    ['a client time-out', named('TimeoutError')],
    ['an error the SDK marks retryable', named('SomethingNew', { $retryable: { throttling: false } })],
  ])('counts %s as transient', (_name, error) => {
    expect(isTransient(error)).toBe(true);
  });

  it.each<[string, unknown]>([
    ['an ECS ClientException', new ClientException({ message: 'Unable to describe task definition.', $metadata: { httpStatusCode: 400 } })],
    ['a ConditionalCheckFailedException', new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: { httpStatusCode: 400 } })],
    ['an AccessDeniedException', named('AccessDeniedException', { $metadata: { httpStatusCode: 403 } })],
    ['a 404', named('ListenerNotFoundException', { $metadata: { httpStatusCode: 404 } })],
    ['a plain Error', new Error('boom')],
    ['null', null],
    ['undefined', undefined],
    ['a string', 'ThrottlingException'],
  ])('does not count %s as transient', (_name, error) => {
    expect(isTransient(error)).toBe(false);
  });
});

describe('edge', () => {
  it('returns what the call returns', async () => {
    await expect(edge('ecs:DescribeServices', async () => ({ services: [] }))).resolves.toEqual({ services: [] });
  });

  it('rethrows a throttling failure as AwsTransient naming the operation, with the SDK error as cause', async () => {
    const throttled = named('ThrottlingException', { $metadata: { httpStatusCode: 400 } });

    const error = await edge('elasticloadbalancing:ModifyListener', () => Promise.reject(throttled)).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(AwsTransientError);
    expect(error).toMatchObject({
      name: ErrorName.AwsTransient,
      message: 'elasticloadbalancing:ModifyListener failed transiently (ThrottlingException); safe to retry',
      cause: throttled,
    });
  });

  it('rethrows a 503 as AwsTransient', async () => {
    const unavailable = named('ServiceUnavailable', { $metadata: { httpStatusCode: 503 } });

    await expect(edge('ecs:UpdateService', () => Promise.reject(unavailable))).rejects.toMatchObject({ name: ErrorName.AwsTransient, cause: unavailable });
  });

  it('lets other failures through untouched', async () => {
    const denied = named('AccessDeniedException', { $metadata: { httpStatusCode: 403 } });

    await expect(edge('ecs:UpdateService', () => Promise.reject(denied))).rejects.toBe(denied);
  });
});

describe('errorName', () => {
  it.each<[unknown, string | undefined]>([
    [named('ExecutionAlreadyExists'), 'ExecutionAlreadyExists'],
    [null, undefined],
    [{}, undefined],
  ])('reads the name of %j as %s', (error, expected) => {
    expect(errorName(error)).toBe(expected);
  });
});
