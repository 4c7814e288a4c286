/** Lambda entry point for shift: middy over the pure `shift`. */
import { requireEnv } from '../aws/clients';
import { awsStore } from '../aws/store';
import { awsTraffic } from '../aws/traffic';
import { awsAnalysisAlarms } from '../aws/analysis-alarms';
import { lambda, once } from '../aws/lambda';
import { systemClock } from '../core/ports';
import { powertoolsLog } from '../aws/powertools';
import { shiftMetrics } from '../core/metrics';
import { notifierFromEnv } from '../aws/slack-notifier';
import { shift, type ShiftDeps } from './shift';

/** Builds the handler over the given dependencies (the local runner and tests pass their own). */
export const createHandler = (deps: () => ShiftDeps) => lambda('shift', shift, deps, { metrics: shiftMetrics });

export const handler = createHandler(
  once((): ShiftDeps => {
    const log = powertoolsLog();
    return { traffic: awsTraffic(), store: awsStore(requireEnv('TABLE_NAME')), clock: systemClock, log, notifier: notifierFromEnv(log), analysis: awsAnalysisAlarms() };
  }),
);
