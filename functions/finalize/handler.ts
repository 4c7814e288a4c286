/** Lambda entry point for finalize: middy over the pure `finalize`. */
import { requireEnv } from '../aws/clients';
import { awsStore } from '../aws/store';
import { jsonLog, systemClock } from '../core/ports';
import { lambda, once } from '../aws/lambda';
import { notifierFromEnv } from '../aws/slack-notifier';
import { finalize, type FinalizeDeps } from './finalize';

/** Builds the handler over the given dependencies (the local runner and tests pass their own). */
export const createHandler = (deps: () => FinalizeDeps) => lambda('finalize', finalize, deps);

export const handler = createHandler(
  once((): FinalizeDeps => {
    const log = jsonLog({ function: 'finalize' });
    return { store: awsStore(requireEnv('TABLE_NAME')), clock: systemClock, log, notifier: notifierFromEnv(log) };
  }),
);
