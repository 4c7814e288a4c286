/** Lambda entry point for shift: middy over the pure `shift`. */
import { requireEnv } from '../aws/clients';
import { awsStore } from '../aws/store';
import { awsTraffic } from '../aws/traffic';
import { jsonLog } from '../core/ports';
import { lambda, once } from '../aws/lambda';
import { notifierFromEnv } from '../aws/slack-notifier';
import { shift, type ShiftDeps } from './shift';

/** Builds the handler over the given dependencies (the local runner and tests pass their own). */
export const createHandler = (deps: () => ShiftDeps) => lambda('shift', shift, deps);

export const handler = createHandler(
  once((): ShiftDeps => {
    const log = jsonLog({ function: 'shift' });
    return { traffic: awsTraffic(), store: awsStore(requireEnv('TABLE_NAME')), log, notifier: notifierFromEnv(log) };
  }),
);
