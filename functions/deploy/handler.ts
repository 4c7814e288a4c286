/** Lambda entry point for deploy: middy over the pure `deploy`. */
import { awsEcs } from '../aws/ecs';
import { jsonLog } from '../core/ports';
import { lambda, once } from '../aws/lambda';
import { deploy, type DeployDeps } from './deploy';

/** Builds the handler over the given dependencies (the local runner and tests pass their own). */
export const createHandler = (deps: () => DeployDeps) => lambda('deploy', deploy, deps);

export const handler = createHandler(
  once((): DeployDeps => ({ ecs: awsEcs(), log: jsonLog({ function: 'deploy' }) })),
);
