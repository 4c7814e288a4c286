/** Lambda entry point for live-state: the custom resource over the pure `liveState`. */
import { DescribeListenersCommand, DescribeTargetGroupsCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { requireEnv, sdkOptions } from '../aws/clients';
import { awsEcs } from '../aws/ecs';
import { awsStore } from '../aws/store';
import { forwardWeights } from '../aws/traffic';
import { customResource, type sendResponse } from '../aws/cfn-response';
import { lambda, once } from '../aws/lambda';
import { powertoolsLog } from '../aws/powertools';
import { liveState, type ForwardFinder, type LiveStateDeps, type LiveStateProperties } from './live-state';

export type LiveStateHandlerDeps = LiveStateDeps & { readonly send?: typeof sendResponse };

/** The listener default action forwarding to both target groups, found through their load balancer. */
export function awsForwardFinder(client = new ElasticLoadBalancingV2Client(sdkOptions)): ForwardFinder {
  return {
    async forwardTo([blue, green]) {
      const groups = await client.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [blue] }));
      for (const loadBalancerArn of groups.TargetGroups?.[0]?.LoadBalancerArns ?? []) {
        const listeners = await client.send(new DescribeListenersCommand({ LoadBalancerArn: loadBalancerArn }));
        for (const listener of listeners.Listeners ?? []) {
          const forward = listener.DefaultActions?.find((a) => a.Type === 'forward');
          const weights = forward ? forwardWeights(forward) : {};
          if (blue in weights && green in weights) return { weights };
        }
      }
      return undefined;
    },
  };
}

/** Builds the handler over the given dependencies (the local runner and tests pass their own). */
export const createHandler = (deps: () => LiveStateHandlerDeps) => lambda('live-state', customResource<LiveStateProperties, LiveStateHandlerDeps>(liveState), deps);

export const handler = createHandler(once((): LiveStateHandlerDeps => ({ ecs: awsEcs(), traffic: awsForwardFinder(), store: awsStore(requireEnv('TABLE_NAME')), log: powertoolsLog() })));
