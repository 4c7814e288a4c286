/** Lambda entry point for deploy: middy over the pure `deploy`. */
import { awsStore } from '../aws/store';
import { requireEnv } from '../aws/clients';
import { systemClock } from '../core/ports';
import { awsEcs } from '../aws/ecs';
import { lambda, once } from '../aws/lambda';
import { powertoolsLog } from '../aws/powertools';
import { deploy, type DeployDeps } from './deploy';

/** Builds the handler over the given dependencies (the local runner and tests pass their own). */
export const createHandler = (deps: () => DeployDeps) => lambda('deploy', deploy, deps);

export const handler = createHandler(once((): DeployDeps => ({ ecs: awsEcs(), store: awsStore(requireEnv('TABLE_NAME')), clock: systemClock, log: powertoolsLog() })));
