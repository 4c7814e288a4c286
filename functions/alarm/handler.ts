/** Lambda entry point for alarm: middy over the pure `onAlarm`. */
import { requireEnv } from '../aws/clients';
import { awsExecutions } from '../aws/executions';
import { awsStore } from '../aws/store';
import { awsTraffic } from '../aws/traffic';
import { systemClock } from '../core/ports';
import { lambda, once } from '../aws/lambda';
import { powertoolsLog } from '../aws/powertools';
import { watchersFromEnv, WATCHERS_VARIABLE } from '../core/watchers';
import { onAlarm, type AlarmDeps } from './alarm';

/** Builds the handler over the given dependencies (the local runner and tests pass their own). */
export const createHandler = (deps: () => AlarmDeps) => lambda('alarm', onAlarm, deps);

export const handler = createHandler(
  once(
    (): AlarmDeps => ({
      store: awsStore(requireEnv('TABLE_NAME')),
      executions: awsExecutions(requireEnv('STATE_MACHINE_ARN')),
      traffic: awsTraffic(),
      clock: systemClock,
      log: powertoolsLog(),
      // Which services watch which alarm: an alarm is written to their locks at once, with no read first.
      services: watchersFromEnv(requireEnv(WATCHERS_VARIABLE)),
    }),
  ),
);
