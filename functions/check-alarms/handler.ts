/** Lambda entry point for check-alarms: middy over the pure `checkAlarms`. */
import { awsAlarms } from '../aws/alarms';
import { requireEnv } from '../aws/clients';
import { awsEcs } from '../aws/ecs';
import { awsStore } from '../aws/store';
import { lambda, once } from '../aws/lambda';
import { powertoolsLog } from '../aws/powertools';
import { checkAlarms, type CheckAlarmsDeps } from './check-alarms';

/** Builds the handler over the given dependencies (the local runner and tests pass their own). */
export const createHandler = (deps: () => CheckAlarmsDeps) => lambda('check-alarms', checkAlarms, deps);

export const handler = createHandler(
  once((): CheckAlarmsDeps => ({ alarms: awsAlarms(), ecs: awsEcs(), store: awsStore(requireEnv('TABLE_NAME')), log: powertoolsLog() })),
);
