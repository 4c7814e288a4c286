/**
 * The middy wiring every handler shares: a thin adapter from a Lambda invocation to a pure
 * `run(event, deps)`. Dependencies are built once per cold start, on first use.
 *
 * Every handler gets Powertools' `injectLambdaContext` (JSON log lines with the function and request) and
 * the rollout's id and service appended to every line of the invocation; handlers that measure something
 * also get `logMetrics`, which flushes the EMF metrics their result maps to (`functions/core/metrics.ts`).
 */
import middy from '@middy/core';
import type { MiddlewareObj } from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { describeError } from '../core/errors';
import type { MetricPoint } from '../core/metrics';
import type { LockStore, Log } from '../core/ports';
import { closeLeases, Writer } from '../core/ownership';
import { randomUUID } from 'node:crypto';
import { logger as defaultLogger, metrics as defaultMetrics, metricsEnabled, ROLLOUT_SERVICE_KEY } from './powertools';

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

/** The rollout an event belongs to: a state machine Task's state, or the bake's `{ taskToken, state }`. */
export function rolloutKeys(event: unknown): Record<string, string> {
  const e = event as { rolloutId?: unknown; service?: { name?: unknown }; state?: { rolloutId?: unknown; service?: { name?: unknown } } } | null;
  const rolloutId = e?.rolloutId ?? e?.state?.rolloutId;
  const service = e?.service?.name ?? e?.state?.service?.name;
  return {
    ...(typeof rolloutId === 'string' ? { rolloutId } : {}),
    ...(typeof service === 'string' ? { [ROLLOUT_SERVICE_KEY]: service } : {}),
  };
}

export interface RolloutLogKeysOptions {
  /** The logger whose lines get the keys. */
  readonly logger: Logger;
}

/**
 * Middleware factory: appends the rollout id and service of the event to every log line of the
 * invocation (`injectLambdaContext` with `resetKeys` removes them again afterwards).
 */
export function rolloutLogKeys(options: RolloutLogKeysOptions): MiddlewareObj<unknown, unknown> {
  return {
    before: async (request) => {
      const keys = rolloutKeys(request.event);
      if (Object.keys(keys).length) options.logger.appendKeys(keys);
    },
  };
}

export interface RecordMetricsOptions<E, R> {
  readonly metrics: Metrics;
  /** The metric points an invocation's event and result stand for. */
  readonly of: (event: E, result: R) => readonly MetricPoint[];
  /** Whether to record at all (checked per invocation). @default {@link metricsEnabled} */
  readonly enabled?: () => boolean;
}

/**
 * Middleware factory: after a successful invocation, adds the metric points of its result to `metrics`,
 * for `logMetrics` to flush (middy runs `after` in reverse order, so this one is used after `logMetrics`).
 * Each point's `service` becomes the `service` dimension; points of several services (one push, several
 * services) are flushed one service at a time, so each EMF line carries one value of the dimension.
 */
export function recordMetrics<E, R>(options: RecordMetricsOptions<E, R>): MiddlewareObj<E, R> {
  const enabled = options.enabled ?? (() => metricsEnabled());
  return {
    after: async (request) => {
      if (!enabled()) return;
      const points = options.of(request.event, request.response as R);
      const services = [...new Set(points.map((p) => p.service))];
      services.forEach((service, i) => {
        options.metrics.setDefaultDimensions({ service });
        for (const p of points.filter((q) => q.service === service)) {
          options.metrics.addMetric(p.name, p.unit === 'Count' ? MetricUnit.Count : MetricUnit.Milliseconds, p.value);
        }
        // The last service's metrics are flushed by logMetrics.
        if (i < services.length - 1) options.metrics.publishStoredMetrics();
      });
    },
  };
}

export interface LambdaOptions<E, R> {
  /** The metric points of an invocation; without it the function publishes no metrics. @default none */
  readonly metrics?: (event: E, result: R) => readonly MetricPoint[];
  /** The Powertools Logger and Metrics. @default this bundle's (./powertools) */
  readonly powertools?: { readonly logger: Logger; readonly metrics: Metrics };
}

/** Makes sure there is a context object: Powertools reads the function's name and request id from it. */
const withContext: MiddlewareObj<unknown, unknown> = {
  before: async (request) => {
    request.context ??= {} as typeof request.context;
  },
};

/**
 * Builds a middy handler over `run` with the dependencies `deps()` provides.
 * @example
 * export const createHandler = (deps: () => FinalizeDeps) => lambda('finalize', finalize, deps, { metrics: finalizeMetrics });
 */
export function lambda<E, R, D extends { readonly log: Log }>(fn: string, run: (event: E, deps: D) => Promise<R>, deps: () => D, options: LambdaOptions<E, R> = {}) {
  const { logger, metrics } = options.powertools ?? { logger: defaultLogger, metrics: defaultMetrics };
  const handler = middy<E, R>()
    .use(withContext as MiddlewareObj<E, R>)
    .use(injectLambdaContext(logger, { resetKeys: true }) as MiddlewareObj<E, R>)
    .use(rolloutLogKeys({ logger }) as MiddlewareObj<E, R>);
  if (options.metrics) handler.use(logMetrics(metrics) as MiddlewareObj<E, R>).use(recordMetrics({ metrics, of: options.metrics }));
  return handler.use(errorLog({ fn, log: () => deps().log }) as MiddlewareObj<E, R>).handler(async (event: E, context) => {
    const shared = deps();
    const store = (shared as { store?: Partial<Pick<LockStore, 'closeLeases'>> }).store;
    if (typeof store?.closeLeases !== 'function') return run(event, shared);
    // This invocation as a writer: the leases its fences open are closed once it has ended cleanly. A
    // failure leaves them open (a call that failed may still land): the next owner waits them out.
    const writer = new Writer(context.awsRequestId || randomUUID());
    const result = await run(event, { ...shared, writer });
    await closeLeases(writer, store as Pick<LockStore, 'closeLeases'>);
    return result;
  });
}
