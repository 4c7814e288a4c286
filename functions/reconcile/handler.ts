/** Lambda entry point for reconcile: middy over the pure `reconcile`. */
import { requireEnv } from '../aws/clients';
import { awsEcs } from '../aws/ecs';
import { awsExecutions } from '../aws/executions';
import { lambda, once } from '../aws/lambda';
import { powertoolsLog } from '../aws/powertools';
import { notifierFromEnv } from '../aws/slack-notifier';
import { awsStore } from '../aws/store';
import { awsTraffic } from '../aws/traffic';
import { awsAnalysisAlarms } from '../aws/analysis-alarms';
import { servicesFromEnv } from '../core/config';
import { realSleep, systemClock } from '../core/ports';
import { RECONCILE_TIMEOUT_MS } from '../core/ownership';
import { reconcile, type ReconcileDeps } from './reconcile';

/** Builds the handler over the given dependencies (the local runner and tests pass their own). */
export const createHandler = (deps: () => ReconcileDeps) => lambda('reconcile', reconcile, deps);

export const handler = createHandler(
  once((): ReconcileDeps => {
    const log = powertoolsLog();
    return {
      services: servicesFromEnv(requireEnv('CUTOVER_SERVICES')),
      ecs: awsEcs(),
      traffic: awsTraffic(),
      analysis: awsAnalysisAlarms(),
      store: awsStore(requireEnv('TABLE_NAME')),
      executions: awsExecutions(requireEnv('STATE_MACHINE_ARN')),
      clock: systemClock,
      sleep: realSleep,
      leaseMs: RECONCILE_TIMEOUT_MS,
      log,
      notifier: notifierFromEnv(log),
    };
  }),
);
