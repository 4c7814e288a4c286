/** Lambda entry point for start: middy over the pure `start`. */
import { requireEnv } from '../aws/clients';
import { awsExecutions } from '../aws/executions';
import { servicesFromEnv } from '../core/config';
import { jsonLog } from '../core/ports';
import { lambda, once } from '../aws/lambda';
import { start, type StartDeps } from './start';

/** Builds the handler over the given dependencies (the local runner and tests pass their own). */
export const createHandler = (deps: () => StartDeps) => lambda('start', start, deps);

export const handler = createHandler(
  once((): StartDeps => ({ services: servicesFromEnv(requireEnv('CUTOVER_SERVICES')), executions: awsExecutions(requireEnv('STATE_MACHINE_ARN')), log: jsonLog({ function: 'start' }) })),
);
