/** Lambda entry point for rollback: middy over the pure `rollback`. */
import { requireEnv } from '../aws/clients';
import { awsEcs } from '../aws/ecs';
import { awsStore } from '../aws/store';
import { awsTraffic } from '../aws/traffic';
import { jsonLog, systemClock } from '../core/ports';
import { lambda, once } from '../aws/lambda';
import { notifierFromEnv } from '../aws/slack-notifier';
import { rollback, type RollbackDeps } from './rollback';

/** Builds the handler over the given dependencies (the local runner and tests pass their own). */
export const createHandler = (deps: () => RollbackDeps) => lambda('rollback', rollback, deps);

export const handler = createHandler(
  once((): RollbackDeps => {
    const log = jsonLog({ function: 'rollback' });
    return { ecs: awsEcs(), traffic: awsTraffic(), store: awsStore(requireEnv('TABLE_NAME')), clock: systemClock, log, notifier: notifierFromEnv(log) };
  }),
);
