/** Lambda entry point for release: the custom resource over the pure `release`. */
import { requireEnv } from '../aws/clients';
import { awsEcs } from '../aws/ecs';
import { awsExecutions } from '../aws/executions';
import { awsRegistry } from '../aws/registry';
import { awsTraffic } from '../aws/traffic';
import { customResource, type sendResponse } from '../aws/cfn-response';
import { lambda, once } from '../aws/lambda';
import { powertoolsLog } from '../aws/powertools';
import { servicesFromEnv } from '../core/config';
import { systemClock } from '../core/ports';
import { release, type ReleaseDeps, type ReleaseProperties } from './release';

export type ReleaseHandlerDeps = ReleaseDeps & { readonly send?: typeof sendResponse };

/** Builds the handler over the given dependencies (the local runner and tests pass their own). */
export const createHandler = (deps: () => ReleaseHandlerDeps) => lambda('release', customResource<ReleaseProperties, ReleaseHandlerDeps>(release), deps);

export const handler = createHandler(
  once(
    (): ReleaseHandlerDeps => ({
      services: servicesFromEnv(requireEnv('CUTOVER_SERVICES')),
      ecs: awsEcs(),
      traffic: awsTraffic(),
      registry: awsRegistry(),
      executions: awsExecutions(requireEnv('STATE_MACHINE_ARN')),
      clock: systemClock,
      log: powertoolsLog(),
    }),
  ),
);
