/** Lambda entry point for hook: middy over the pure `hook`. */
import { requireEnv } from '../aws/clients';
import { awsExecutions } from '../aws/executions';
import { awsHookInvoker } from '../aws/hook-invoker';
import { lambda, once } from '../aws/lambda';
import { powertoolsLog } from '../aws/powertools';
import { notifierFromEnv } from '../aws/slack-notifier';
import { awsStore } from '../aws/store';
import { systemClock } from '../core/ports';
import { hook, type HookDeps } from './hook';

/** Builds the handler over the given dependencies (the local runner and tests pass their own). */
export const createHandler = (deps: () => HookDeps) => lambda('hook', hook, deps);

export const handler = createHandler(
  once((): HookDeps => {
    const log = powertoolsLog();
    return {
      store: awsStore(requireEnv('TABLE_NAME')),
      executions: awsExecutions(requireEnv('STATE_MACHINE_ARN')),
      invoker: awsHookInvoker(),
      clock: systemClock,
      log,
      notifier: notifierFromEnv(log),
    };
  }),
);
