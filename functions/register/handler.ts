/** Lambda entry point for register: middy over the pure `register`. */
import { awsStore } from '../aws/store';
import { requireEnv } from '../aws/clients';
import { systemClock } from '../core/ports';
import { awsEcs } from '../aws/ecs';
import { lambda, once } from '../aws/lambda';
import { powertoolsLog } from '../aws/powertools';
import { register, type RegisterDeps } from './register';

/** Builds the handler over the given dependencies (the local runner and tests pass their own). */
export const createHandler = (deps: () => RegisterDeps) => lambda('register', register, deps);

export const handler = createHandler(once((): RegisterDeps => ({ ecs: awsEcs(), store: awsStore(requireEnv('TABLE_NAME')), clock: systemClock, log: powertoolsLog() })));
