/** The defaults of the construct's optional props (infra/cutover.ts re-exports them). */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { DEFAULT_TIMINGS } from '../functions/core/config';
import { CanaryPlan } from '../functions/core/plan';

/** Defaults of the optional props, in one place (the README's "Default settings" table reads the same). */
export const CutoverDefaults = {
  plan: CanaryPlan.TEN_TWENTYFIVE_FIFTY_5M,
  rollbackWindow: Duration.seconds(DEFAULT_TIMINGS.rollbackWindowSeconds),
  steadyPollInterval: Duration.seconds(DEFAULT_TIMINGS.steadyPollSeconds),
  steadyMaxChecks: DEFAULT_TIMINGS.steadyMaxChecks,
  logRetention: logs.RetentionDays.ONE_MONTH,
  memorySize: 256,
  reactionMemorySize: 1769,
  timeout: Duration.seconds(30),
  tracing: lambda.Tracing.ACTIVE,
  removalPolicy: RemovalPolicy.RETAIN,
  sourceMaps: false,
  dashboard: true,
  reservedConcurrency: { reaction: 5, chat: 10 },
} as const;
