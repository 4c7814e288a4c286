/** Lambda entry point for prepare: middy over the pure `prepare`. */
import { awsAlarms } from '../aws/alarms';
import { requireEnv } from '../aws/clients';
import { awsEcs } from '../aws/ecs';
import { awsStore } from '../aws/store';
import { awsTraffic } from '../aws/traffic';
import { jsonLog, systemClock } from '../core/ports';
import { lambda, once } from '../aws/lambda';
import { notifierFromEnv } from '../aws/slack-notifier';
import { prepare, type PrepareDeps } from './prepare';

/** Builds the handler over the given dependencies (the local runner and tests pass their own). */
export const createHandler = (deps: () => PrepareDeps) => lambda('prepare', prepare, deps);

export const handler = createHandler(
  once((): PrepareDeps => {
    const log = jsonLog({ function: 'prepare' });
    return { ecs: awsEcs(), traffic: awsTraffic(), alarms: awsAlarms(), store: awsStore(requireEnv('TABLE_NAME')), clock: systemClock, log, notifier: notifierFromEnv(log) };
  }),
);
