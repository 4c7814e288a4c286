/** Lambda entry point for prepare: middy over the pure `prepare`. */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { awsAlarms } from '../aws/alarms';
import { requireEnv, sdkOptions } from '../aws/clients';
import { awsEcs } from '../aws/ecs';
import { awsExecutions } from '../aws/executions';
import { awsRegistry } from '../aws/registry';
import { awsStore } from '../aws/store';
import { awsTraffic } from '../aws/traffic';
import { awsAnalysisAlarms } from '../aws/analysis-alarms';
import { systemClock } from '../core/ports';
import { lambda, once } from '../aws/lambda';
import { powertoolsLog } from '../aws/powertools';
import { notifierFromEnv } from '../aws/slack-notifier';
import { prepare, type PrepareDeps } from './prepare';

/** Builds the handler over the given dependencies (the local runner and tests pass their own). */
export const createHandler = (deps: () => PrepareDeps) => lambda('prepare', prepare, deps);

export const handler = createHandler(
  once((): PrepareDeps => {
    const log = powertoolsLog();
    // One CloudWatch client for the alarm checks and the canary analysis.
    const cloudwatch = new CloudWatchClient(sdkOptions);
    return {
      ecs: awsEcs(),
      traffic: awsTraffic(),
      analysis: awsAnalysisAlarms(cloudwatch),
      alarms: awsAlarms(cloudwatch),
      store: awsStore(requireEnv('TABLE_NAME')),
      registry: awsRegistry(),
      executions: awsExecutions(requireEnv('STATE_MACHINE_ARN')),
      clock: systemClock,
      log,
      notifier: notifierFromEnv(log),
    };
  }),
);
