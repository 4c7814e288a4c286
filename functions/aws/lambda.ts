/**
 * The middy wiring every handler shares: a thin adapter from a Lambda invocation to a pure
 * `run(event, deps)`. Dependencies are built once per cold start, on first use.
 */
import middy from '@middy/core';
import type { MiddlewareObj } from '@middy/core';
import { describeError } from '../core/errors';
import type { Log } from '../core/ports';

/** Memoises a factory: dependencies are built on the first invocation and kept for the warm ones. */
export function once<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}

export interface ErrorLogOptions {
  /** Function name for the log line. */
  readonly fn: string;
  /** Where to log. @default JSON lines on stderr */
  readonly log?: () => Log;
}

/**
 * Middleware factory: logs a failure once, with its stable name and the rollout it belongs to, and lets it
 * propagate unchanged (its `name` becomes the Lambda error type the state machine's Catch matches).
 */
export function errorLog(options: ErrorLogOptions): MiddlewareObj<unknown, unknown> {
  return {
    onError: async (request) => {
      const event = request.event as { rolloutId?: string; service?: { name?: string }; state?: { rolloutId?: string } } | null;
      const { name, message } = describeError(request.error);
      const fields = {
        function: options.fn,
        error: name,
        rolloutId: event?.rolloutId ?? event?.state?.rolloutId,
        service: event?.service?.name,
        problems: (request.error as { problems?: unknown } | null)?.problems,
      };
      if (options.log) options.log().error(message, fields);
      else console.error(JSON.stringify({ level: 'ERROR', message, ...fields }));
    },
  };
}

/** Builds a middy handler over `run` with the dependencies `deps()` provides. */
export function lambda<E, R, D extends { readonly log: Log }>(fn: string, run: (event: E, deps: D) => Promise<R>, deps: () => D) {
  return middy<E, R>()
    .use(errorLog({ fn, log: () => deps().log }) as MiddlewareObj<E, R>)
    .handler((event: E) => run(event, deps()));
}
