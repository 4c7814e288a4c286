/** Lambda entry point for finalize: middy over the pure `finalize`. */
import { requireEnv } from '../aws/clients';
import { awsEcs } from '../aws/ecs';
import { awsExecutions } from '../aws/executions';
import { awsStore } from '../aws/store';
import { awsTraffic } from '../aws/traffic';
import { awsAnalysisAlarms } from '../aws/analysis-alarms';
import { systemClock } from '../core/ports';
import { lambda, once } from '../aws/lambda';
import { powertoolsLog } from '../aws/powertools';
import { finalizeMetrics } from '../core/metrics';
import { notifierFromEnv } from '../aws/slack-notifier';
import { finalize, type FinalizeDeps } from './finalize';

/** Builds the handler over the given dependencies (the local runner and tests pass their own). */
export const createHandler = (deps: () => FinalizeDeps) => lambda('finalize', finalize, deps, { metrics: (state) => finalizeMetrics(state) });

export const handler = createHandler(
  once((): FinalizeDeps => {
    const log = powertoolsLog();
    return {
      store: awsStore(requireEnv('TABLE_NAME')),
      ecs: awsEcs(),
      executions: awsExecutions(requireEnv('STATE_MACHINE_ARN')),
      clock: systemClock,
      log,
      notifier: notifierFromEnv(log),
      traffic: awsTraffic(),
      analysis: awsAnalysisAlarms(),
    };
  }),
);
