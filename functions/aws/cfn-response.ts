/**
 * Sends a custom resource's response to CloudFormation: a PUT of the JSON body to the pre-signed S3 URL of
 * the request, with an empty content type (the URL was signed without one).
 * @see https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-responses.html
 */
import { respond, type CustomResourceRequest, type CustomResourceResponse } from '../core/custom-resource';

export async function sendResponse(responseUrl: string, response: CustomResourceResponse): Promise<void> {
  const body = JSON.stringify(response);
  const out = await fetch(responseUrl, { method: 'PUT', body, headers: { 'content-type': '', 'content-length': String(Buffer.byteLength(body)) } });
  if (!out.ok) throw new Error(`CloudFormation's response URL answered ${out.status} ${out.statusText}`);
}

/**
 * A custom resource's run: the core's outcome becomes the response, which is sent before the function
 * returns (CloudFormation waits for it, not for the function's result). A deps dependency named `send`
 * stands in for the PUT in tests and on the local runtime.
 */
export function customResource<P, D extends { readonly send?: typeof sendResponse }>(
  core: (request: CustomResourceRequest<P>, deps: D) => Promise<Record<string, string> | undefined>,
): (request: CustomResourceRequest<P>, deps: D) => Promise<CustomResourceResponse> {
  return async (request, deps) => {
    const response = await respond(request, () => core(request, deps));
    await (deps.send ?? sendResponse)(request.ResponseURL, response);
    return response;
  };
}
