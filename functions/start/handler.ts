/** Lambda entry point for start: middy over the pure `start`. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { requireEnv, sdkOptions } from '../aws/clients';
import { awsExecutions } from '../aws/executions';
import { servicesFromEnv } from '../core/config';
import { awsRegistry } from '../aws/registry';
import { awsRequestLedger } from '../aws/request-ledger';
import { awsStore } from '../aws/store';
import { systemClock } from '../core/ports';
import { lambda, once } from '../aws/lambda';
import { powertoolsLog } from '../aws/powertools';
import { startMetrics } from '../core/metrics';
import { start, type StartDeps } from './start';

/** Builds the handler over the given dependencies (the local runner and tests pass their own). */
export const createHandler = (deps: () => StartDeps) => lambda('start', start, deps, { metrics: (_event, result) => startMetrics(result) });

export const handler = createHandler(
  once((): StartDeps => {
    const dynamo = new DynamoDBClient(sdkOptions);
    return {
      services: servicesFromEnv(requireEnv('CUTOVER_SERVICES')),
      executions: awsExecutions(requireEnv('STATE_MACHINE_ARN')),
      registry: awsRegistry(),
      requestLedger: awsRequestLedger(requireEnv('TABLE_NAME'), dynamo),
      store: awsStore(requireEnv('TABLE_NAME'), dynamo),
      clock: systemClock,
      log: powertoolsLog(),
    };
  }),
);
