/**
 * A stand-in for CloudFormation's side of a custom resource, on 127.0.0.1, for the local runtime: it serves
 * the `ResponseURL`s of the requests it makes (a PUT of the JSON response, as the pre-signed S3 URL takes
 * it), keeps every response and lets a caller wait for one. The functions send their response with the
 * same adapter as on AWS (functions/aws/cfn-response.ts), so the local run covers the PUT too.
 * @see https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-responses.html
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CustomResourceRequest, CustomResourceResponse } from '../../functions/core/custom-resource';
import { DEMO } from './environment';

/** A response received at one of its `ResponseURL`s. */
export interface ReceivedResponse {
  readonly url: string;
  readonly response: CustomResourceResponse;
}

export interface LocalCloudFormation {
  /** A fresh `ResponseURL` (`http://127.0.0.1:<port>/responses/<id>`). */
  responseUrl(): string;
  /** Every response received, in order. */
  readonly responses: ReceivedResponse[];
  /** The response sent to `url`: at once if it has arrived, else when it arrives. */
  responseTo(url: string): Promise<CustomResourceResponse>;
  stop(): Promise<void>;
}

/** The stack the local requests come from (its id's last part becomes the physical ids' suffix). */
export const LOCAL_STACK_ID = `arn:aws:cloudformation:${DEMO.region}:${DEMO.account}:stack/cutover-local-app/00000000-0000-4000-8000-000000000000`;

/**
 * A custom-resource request as CloudFormation sends it: `properties` (and `oldProperties` for an Update) as
 * the template has them, a fresh request id, and `responseUrl` for the answer.
 */
export function customResourceRequest<P>(type: CustomResourceRequest['RequestType'], logicalId: string, responseUrl: string, properties: P, oldProperties?: P): CustomResourceRequest<P> {
  return {
    RequestType: type,
    ResponseURL: responseUrl,
    StackId: LOCAL_STACK_ID,
    RequestId: crypto.randomUUID(),
    LogicalResourceId: logicalId,
    ...(type === 'Create' ? {} : { PhysicalResourceId: `${logicalId}-00000000-0000-4000-8000-000000000000` }),
    ResourceProperties: { ServiceToken: `arn:aws:lambda:${DEMO.region}:${DEMO.account}:function:cutover-custom-resource`, ...properties },
    ...(oldProperties ? { OldResourceProperties: oldProperties } : {}),
  };
}

export async function startLocalCloudFormation(): Promise<LocalCloudFormation> {
  const responses: ReceivedResponse[] = [];
  const waiting = new Map<string, Array<(response: CustomResourceResponse) => void>>();
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString();
      // CloudFormation refuses responses over 4 KB.
      if (body.length > 4096) req.destroy();
    });
    req.on('end', () => {
      if (req.method !== 'PUT' || !/^\/responses\/[\w-]+$/.test(req.url ?? '')) {
        res.writeHead(404, { 'content-type': 'text/plain' });
        return res.end('not a response URL');
      }
      try {
        const response = JSON.parse(body) as CustomResourceResponse;
        if (response.Status !== 'SUCCESS' && response.Status !== 'FAILED') throw new Error('no Status');
        const url = `http://127.0.0.1:${port}${req.url}`;
        responses.push({ url, response });
        for (const resolve of waiting.get(url)?.splice(0) ?? []) resolve(response);
        res.writeHead(200, { 'content-type': 'text/plain' });
        return res.end();
      } catch {
        res.writeHead(400, { 'content-type': 'text/plain' });
        return res.end('the body is not a custom resource response');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    responseUrl: () => `http://127.0.0.1:${port}/responses/${crypto.randomUUID()}`,
    responses,
    responseTo(url) {
      const arrived = responses.find((r) => r.url === url);
      if (arrived) return Promise.resolve(arrived.response);
      return new Promise((resolve) => waiting.set(url, [...(waiting.get(url) ?? []), resolve]));
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
