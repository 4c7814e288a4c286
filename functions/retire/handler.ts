/** Lambda entry point for retire: middy over the pure `retire`. */
import { requireEnv } from '../aws/clients';
import { awsEcs } from '../aws/ecs';
import { awsExecutions } from '../aws/executions';
import { awsStore } from '../aws/store';
import { awsTraffic } from '../aws/traffic';
import { systemClock } from '../core/ports';
import { lambda, once } from '../aws/lambda';
import { powertoolsLog } from '../aws/powertools';
import { notifierFromEnv } from '../aws/slack-notifier';
import { retire, type RetireDeps } from './retire';

/** Builds the handler over the given dependencies (the local runner and tests pass their own). */
export const createHandler = (deps: () => RetireDeps) => lambda('retire', retire, deps);

export const handler = createHandler(
  once((): RetireDeps => {
    const log = powertoolsLog();
    return {
      ecs: awsEcs(),
      traffic: awsTraffic(),
      store: awsStore(requireEnv('TABLE_NAME')),
      executions: awsExecutions(requireEnv('STATE_MACHINE_ARN')),
      clock: systemClock,
      log,
      notifier: notifierFromEnv(log),
    };
  }),
);
