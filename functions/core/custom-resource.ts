/**
 * CloudFormation custom resources, the shape Cutover's two use (functions/live-state, functions/release):
 * the request CloudFormation sends, the response it waits for, and the one place that turns a core's
 * outcome (data, or a typed error) into that response. No AWS imports: the adapter PUTs the response.
 * @see https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-requests.html
 * @see https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-responses.html
 */

/** What CloudFormation sends (properties arrive as strings, whatever their type in the template). */
export interface CustomResourceRequest<P = Record<string, unknown>> {
  readonly RequestType: 'Create' | 'Update' | 'Delete';
  readonly ResponseURL: string;
  readonly StackId: string;
  readonly RequestId: string;
  readonly LogicalResourceId: string;
  readonly PhysicalResourceId?: string;
  readonly ResourceProperties: P & { readonly ServiceToken?: string };
  readonly OldResourceProperties?: P;
}

/** What CloudFormation waits for at `ResponseURL`. */
export interface CustomResourceResponse {
  readonly Status: 'SUCCESS' | 'FAILED';
  readonly Reason?: string;
  readonly PhysicalResourceId: string;
  readonly StackId: string;
  readonly RequestId: string;
  readonly LogicalResourceId: string;
  readonly Data?: Readonly<Record<string, string>>;
}

/**
 * Runs a core and builds the response: its data on success; FAILED with the error's message otherwise (the
 * message is what the user sees in the stack's events, so it must say what to do). The physical id is
 * stable per logical resource, so an update never looks like a replacement to CloudFormation.
 */
export async function respond<P>(request: CustomResourceRequest<P>, run: () => Promise<Record<string, string> | undefined>): Promise<CustomResourceResponse> {
  const base = {
    PhysicalResourceId: request.PhysicalResourceId ?? `${request.LogicalResourceId}-${request.StackId.split('/').at(-1) ?? 'stack'}`.slice(0, 200),
    StackId: request.StackId,
    RequestId: request.RequestId,
    LogicalResourceId: request.LogicalResourceId,
  };
  try {
    const data = await run();
    return { ...base, Status: 'SUCCESS', ...(data ? { Data: data } : {}) };
  } catch (error) {
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    // CloudFormation shows the reason in the stack's events; its response body is limited to 4 KB.
    return { ...base, Status: 'FAILED', Reason: reason.slice(0, 2000) };
  }
}
