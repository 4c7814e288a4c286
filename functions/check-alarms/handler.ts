/** Lambda entry point for check-alarms: middy over the pure `checkAlarms`. */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { awsAlarms } from '../aws/alarms';
import { requireEnv, sdkOptions } from '../aws/clients';
import { awsEcs } from '../aws/ecs';
import { awsStore } from '../aws/store';
import { awsTraffic } from '../aws/traffic';
import { awsAnalysisAlarms } from '../aws/analysis-alarms';
import { lambda, once } from '../aws/lambda';
import { powertoolsLog } from '../aws/powertools';
import { notifierFromEnv } from '../aws/slack-notifier';
import { systemClock } from '../core/ports';
import { checkAlarms, type CheckAlarmsDeps } from './check-alarms';

/** Builds the handler over the given dependencies (the local runner and tests pass their own). */
export const createHandler = (deps: () => CheckAlarmsDeps) => lambda('check-alarms', checkAlarms, deps);

export const handler = createHandler(
  once((): CheckAlarmsDeps => {
    const log = powertoolsLog();
    // One CloudWatch client for the alarm checks and the canary analysis.
    const cloudwatch = new CloudWatchClient(sdkOptions);
    return {
      alarms: awsAlarms(cloudwatch),
      ecs: awsEcs(),
      traffic: awsTraffic(),
      store: awsStore(requireEnv('TABLE_NAME')),
      clock: systemClock,
      log,
      notifier: notifierFromEnv(log),
      analysis: awsAnalysisAlarms(cloudwatch),
    };
  }),
);
