/** Lambda entry point for check-steady: middy over the pure `checkSteady`. */
import { awsEcs } from '../aws/ecs';
import { awsTraffic } from '../aws/traffic';
import { systemClock } from '../core/ports';
import { requireEnv } from '../aws/clients';
import { awsStore } from '../aws/store';
import { lambda, once } from '../aws/lambda';
import { powertoolsLog } from '../aws/powertools';
import { checkSteady, type CheckSteadyDeps } from './check-steady';

/** Builds the handler over the given dependencies (the local runner and tests pass their own). */
export const createHandler = (deps: () => CheckSteadyDeps) => lambda('check-steady', checkSteady, deps);

export const handler = createHandler(once((): CheckSteadyDeps => ({ ecs: awsEcs(), store: awsStore(requireEnv('TABLE_NAME')), log: powertoolsLog(), traffic: awsTraffic(), clock: systemClock })));
