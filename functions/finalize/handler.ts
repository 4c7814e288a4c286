/** Lambda entry point for finalize: middy over the pure `finalize`. */
import { requireEnv } from '../aws/clients';
import { awsStore } from '../aws/store';
import { jsonLog, systemClock } from '../core/ports';
import { lambda, once } from '../aws/lambda';
import { finalize, type FinalizeDeps } from './finalize';

/** Builds the handler over the given dependencies (the local runner and tests pass their own). */
export const createHandler = (deps: () => FinalizeDeps) => lambda('finalize', finalize, deps);

export const handler = createHandler(
  once((): FinalizeDeps => ({ store: awsStore(requireEnv('TABLE_NAME')), clock: systemClock, log: jsonLog({ function: 'finalize' }) })),
);
