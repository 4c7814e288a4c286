/** Lambda entry point for rollback: middy over the pure `rollback`. */
import { requireEnv } from '../aws/clients';
import { awsEcs } from '../aws/ecs';
import { awsExecutions } from '../aws/executions';
import { awsStore } from '../aws/store';
import { awsTraffic } from '../aws/traffic';
import { awsAnalysisAlarms } from '../aws/analysis-alarms';
import { systemClock } from '../core/ports';
import { lambda, once } from '../aws/lambda';
import { powertoolsLog } from '../aws/powertools';
import { rollbackMetrics } from '../core/metrics';
import { notifierFromEnv } from '../aws/slack-notifier';
import { rollback, type RollbackDeps } from './rollback';

/** Builds the handler over the given dependencies (the local runner and tests pass their own). */
export const createHandler = (deps: () => RollbackDeps) => lambda('rollback', rollback, deps, { metrics: rollbackMetrics });

export const handler = createHandler(
  once((): RollbackDeps => {
    const log = powertoolsLog();
    return {
      ecs: awsEcs(),
      traffic: awsTraffic(),
      store: awsStore(requireEnv('TABLE_NAME')),
      executions: awsExecutions(requireEnv('STATE_MACHINE_ARN')),
      clock: systemClock,
      log,
      notifier: notifierFromEnv(log),
      analysis: awsAnalysisAlarms(),
    };
  }),
);
