/** The {@link Ecs} port over the AWS SDK. */
import {
  DeregisterTaskDefinitionCommand,
  DescribeServicesCommand,
  ListTaskDefinitionsCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
  type RegisterTaskDefinitionCommandInput,
} from '@aws-sdk/client-ecs';
import type { Ecs, ServiceView, TaskDefinitionDoc } from '../core/ports';
import { sdkOptions } from './clients';
import { edge, errorName } from './edge';

export function awsEcs(client: ECSClient = new ECSClient(sdkOptions)): Ecs {
  return {
    async describeService(cluster, service) {
      const out = await edge('ecs:DescribeServices', () => client.send(new DescribeServicesCommand({ cluster, services: [service] })));
      const s = out.services?.find((x) => x.status !== 'INACTIVE');
      if (!s) return undefined;
      const view: ServiceView = {
        serviceName: s.serviceName ?? service,
        status: s.status ?? 'UNKNOWN',
        taskDefinition: s.taskDefinition ?? '',
        desiredCount: s.desiredCount ?? 0,
        runningCount: s.runningCount ?? 0,
        deployments: (s.deployments ?? []).map((d) => ({
          status: d.status ?? 'UNKNOWN',
          rolloutState: d.rolloutState,
          rolloutStateReason: d.rolloutStateReason,
          taskDefinition: d.taskDefinition,
          desiredCount: d.desiredCount ?? 0,
          runningCount: d.runningCount ?? 0,
          failedTasks: d.failedTasks ?? 0,
        })),
        ...(s.deploymentController?.type ? { deploymentController: s.deploymentController.type } : {}),
        ...(s.deploymentConfiguration?.strategy ? { deploymentStrategy: s.deploymentConfiguration.strategy } : {}),
      };
      return view;
    },

    async updateService(cluster, service, change) {
      await edge('ecs:UpdateService', () => client.send(new UpdateServiceCommand({ cluster, service, taskDefinition: change.taskDefinition, desiredCount: change.desiredCount })));
    },

    async describeTaskDefinition(arnOrFamily) {
      try {
        const out = await edge('ecs:DescribeTaskDefinition', () => client.send(new DescribeTaskDefinitionCommand({ taskDefinition: arnOrFamily, include: ['TAGS'] })));
        if (!out.taskDefinition) return undefined;
        const tags = Object.fromEntries((out.tags ?? []).map((t) => [t.key ?? '', t.value ?? '']));
        return { definition: out.taskDefinition as unknown as TaskDefinitionDoc, tags };
      } catch (error) {
        // ECS answers ClientException for an unknown task definition.
        if (errorName(error) === 'ClientException') return undefined;
        throw error;
      }
    },

    async registerTaskDefinition(definition, tags) {
      const input = {
        ...definition,
        tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
      } as unknown as RegisterTaskDefinitionCommandInput;
      const out = await edge('ecs:RegisterTaskDefinition', () => client.send(new RegisterTaskDefinitionCommand(input)));
      const arn = out.taskDefinition?.taskDefinitionArn;
      if (!arn) throw new Error('ecs:RegisterTaskDefinition returned no ARN');
      return arn;
    },

    async listRevisions(family) {
      const arns: string[] = [];
      let nextToken: string | undefined;
      do {
        const out = await edge('ecs:ListTaskDefinitions', () => client.send(new ListTaskDefinitionsCommand({ familyPrefix: family, status: 'ACTIVE', sort: 'DESC', nextToken })));
        // familyPrefix matches other families that start the same way: keep this family only.
        arns.push(...(out.taskDefinitionArns ?? []).filter((arn) => arn.split('/').pop()?.replace(/:\d+$/, '') === family));
        nextToken = out.nextToken;
      } while (nextToken);
      // Newest first by revision number, whatever order the service answered in.
      const revision = (arn: string) => Number(arn.split(':').pop());
      return arns.sort((a, b) => revision(b) - revision(a));
    },

    async deregisterTaskDefinition(arn) {
      await edge('ecs:DeregisterTaskDefinition', () => client.send(new DeregisterTaskDefinitionCommand({ taskDefinition: arn })));
    },
  };
}
