/** Lambda entry point for bake: middy over the pure `bake`. */
import { requireEnv } from '../aws/clients';
import { awsRegistry } from '../aws/registry';
import { awsStore } from '../aws/store';
import { systemClock } from '../core/ports';
import { lambda, once } from '../aws/lambda';
import { powertoolsLog } from '../aws/powertools';
import { bake, type BakeDeps } from './bake';

/** Builds the handler over the given dependencies (the local runner and tests pass their own). */
export const createHandler = (deps: () => BakeDeps) => lambda('bake', bake, deps);

export const handler = createHandler(once((): BakeDeps => ({ store: awsStore(requireEnv('TABLE_NAME')), registry: awsRegistry(), clock: systemClock, log: powertoolsLog() })));
