/**
 * Structured logs and EMF metrics with Powertools for AWS Lambda (TypeScript): one Logger and one Metrics
 * per bundle (each function is its own bundle), the {@link Log} port over the Logger, and the switch that
 * keeps EMF output to Lambda, where CloudWatch Logs turns it into metrics.
 *
 * The pure functions never see these: they log through the `Log` port and return data; `lambda.ts` turns
 * their results into metric points (`functions/core/metrics.ts`) and publishes them here.
 * @see https://docs.powertools.aws.dev/lambda/typescript/latest/core/logger/
 * @see https://docs.powertools.aws.dev/lambda/typescript/latest/core/metrics/
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE, TELEMETRY_SERVICE } from '../core/metrics';
import type { Log } from '../core/ports';

/**
 * The log key that carries the name of the service being rolled out. Powertools reserves `service` for
 * its own service name (`cutover`) and drops any field of that name, so the ports' `service` field is
 * written under this key instead.
 */
export const ROLLOUT_SERVICE_KEY = 'rolloutService';

/** Keys Powertools keeps for itself; a field of that name is renamed, never dropped. */
const RESERVED: Readonly<Record<string, string>> = {
  service: ROLLOUT_SERVICE_KEY,
  level: 'fieldLevel',
  message: 'fieldMessage',
  timestamp: 'fieldTimestamp',
  sampling_rate: 'fieldSamplingRate',
};

/** The fields of a log call with reserved keys renamed. */
export function logFields(fields: Record<string, unknown> | undefined): Record<string, unknown> {
  if (!fields) return {};
  return Object.fromEntries(
    Object.entries(fields)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [RESERVED[k] ?? k, v]),
  );
}

/** The Logger of this bundle: JSON lines, with the Lambda context added by `injectLambdaContext`. */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME || TELEMETRY_SERVICE });

/**
 * Notices of Metrics that describe what Cutover does on purpose, logged at debug level instead of as a
 * warning on every invocation: an invocation that recorded no metric (most shifts), and the `service`
 * dimension set to the service rolled out in place of Powertools' own service name.
 */
const EXPECTED_NOTICES = [/^No application metrics to publish/, /^Dimension "service" has already been added/];

/** The Metrics of this bundle, flushed by the `logMetrics` middleware; its own notices go to the Logger. */
export const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE || METRICS_NAMESPACE,
  serviceName: process.env.POWERTOOLS_SERVICE_NAME || TELEMETRY_SERVICE,
  logger: {
    debug: (...content: unknown[]) => logger.debug(String(content[0])),
    info: (...content: unknown[]) => logger.info(String(content[0])),
    warn: (...content: unknown[]) => {
      const text = String(content[0]);
      if (EXPECTED_NOTICES.some((notice) => notice.test(text))) logger.debug(text);
      else logger.warn(text);
    },
    error: (...content: unknown[]) => logger.error(String(content[0])),
  },
});

/**
 * Whether this invocation publishes EMF metrics. Powertools' own switch `POWERTOOLS_METRICS_DISABLED`
 * decides when it is set; otherwise only inside Lambda (`AWS_LAMBDA_FUNCTION_NAME` is set), where
 * CloudWatch Logs reads the EMF lines. The local runtime and the CLI run the same handlers and keep their
 * stdout for people.
 */
export function metricsEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  const disabled = env.POWERTOOLS_METRICS_DISABLED;
  if (disabled !== undefined && disabled !== '') return !['1', 'true', 'on', 'yes', 'y'].includes(disabled.trim().toLowerCase());
  return Boolean(env.AWS_LAMBDA_FUNCTION_NAME);
}

/**
 * The {@link Log} port over a Powertools Logger: the message, the fields (reserved keys renamed), and
 * whatever keys the middleware appended for this invocation (rollout id, service).
 * @example
 * const log = powertoolsLog();
 * log.info('weights set', { rolloutId, service: 'checkout', weights });
 */
export function powertoolsLog(target: Logger = logger): Log {
  return {
    info: (message, fields) => target.info(message, logFields(fields)),
    warn: (message, fields) => target.warn(message, logFields(fields)),
    error: (message, fields) => target.error(message, logFields(fields)),
  };
}
