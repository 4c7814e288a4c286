/**
 * What the construct needs of a managed service's slots, whether the user built them in this app or brought
 * them (imported from another stack, another tool, or made by hand).
 *
 * A service built in this app (an `ecs.BaseService`) tells Cutover its task definition: the family whose
 * revisions Cutover registers and tags, and the roles it may pass to ECS. An imported one does not: those
 * come from the service's `taskDefinition` prop, and synth says so, naming the prop, when it is missing.
 */
import { Fn, Stack, Token } from 'aws-cdk-lib';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';

/**
 * The task definition of an imported service's slots: what Cutover cannot read from an `IBaseService`.
 * @example
 * taskDefinition: {
 *   family: 'checkout',
 *   roles: [iam.Role.fromRoleArn(stack, 'TaskRole', taskRoleArn), iam.Role.fromRoleArn(stack, 'ExecutionRole', executionRoleArn)],
 * }
 */
export interface CutoverTaskDefinitionProps {
  /** The family both slots' revisions belong to: Cutover registers its revisions in it and tags them. */
  readonly family: string;
  /**
   * The task role and the execution role of the family's revisions: the only roles Cutover may pass to ECS
   * (`iam:PassRole`, to `ecs-tasks.amazonaws.com` only) when it registers a revision. An empty list for a
   * task definition that has neither.
   */
  readonly roles: readonly iam.IRole[];
}

/** A slot resolved to what the functions and the policies name. */
export interface ResolvedSlot {
  /** The ECS service's name (the functions address it in its cluster). */
  readonly serviceName: string;
  /** The ECS service's ARN (the policies are scoped to it). */
  readonly serviceArn: string;
  readonly targetGroupArn: string;
  /** The service built in this app, when it is one. */
  readonly concrete?: ecs.BaseService;
}

/** A concrete service built in this app: it has a task definition (an imported `IBaseService` has none). */
export function concreteService(service: ecs.IBaseService | string): ecs.BaseService | undefined {
  if (typeof service === 'string') return undefined;
  return (service as Partial<ecs.BaseService>).taskDefinition ? (service as ecs.BaseService) : undefined;
}

/**
 * The name of a service given by ARN. ECS ARNs have the long format (`service/<cluster>/<name>`) for every
 * service created since 2021; an old short ARN (`service/<name>`) works when it is a literal.
 * @see https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-account-settings.html#ecs-resource-ids
 */
export function serviceNameFromArn(arn: string): string {
  if (Token.isUnresolved(arn)) return Fn.select(2, Fn.split('/', Fn.select(5, Fn.split(':', arn))));
  return arn.split('/').at(-1) ?? arn;
}

/** True for an ARN (a literal `arn:…`, or any token: a name from elsewhere would be a literal in the code). */
const isArn = (value: string): boolean => Token.isUnresolved(value) || value.startsWith('arn:');

/**
 * The slot's service and target group as names and ARNs. A service given as a string is its name or ARN in
 * the service's cluster; a token counts as an ARN (long format).
 */
export function resolveSlot(scope: Construct, cluster: ecs.ICluster, slot: { readonly service: ecs.IBaseService | string; readonly targetGroup: elbv2.ITargetGroup | string }): ResolvedSlot {
  const targetGroupArn = typeof slot.targetGroup === 'string' ? slot.targetGroup : slot.targetGroup.targetGroupArn;
  if (typeof slot.service !== 'string') {
    return { serviceName: slot.service.serviceName, serviceArn: slot.service.serviceArn, targetGroupArn, concrete: concreteService(slot.service) };
  }
  if (isArn(slot.service)) return { serviceName: serviceNameFromArn(slot.service), serviceArn: slot.service, targetGroupArn };
  const serviceArn = Stack.of(scope).formatArn({ service: 'ecs', resource: 'service', resourceName: `${cluster.clusterName}/${slot.service}` });
  return { serviceName: slot.service, serviceArn, targetGroupArn };
}

/** ECS's rule for a family name. */
const FAMILY = /^[A-Za-z0-9_-]{1,255}$/;

/** What Cutover passes and tags: the families of the slots' revisions and the roles their tasks use. */
export interface TaskDefinitionAccess {
  readonly families: readonly string[];
  readonly roleArns: readonly string[];
}

/**
 * The families and roles of one service: from its `taskDefinition` prop when given, else from its concrete
 * services' task definitions. Every problem is returned with the prop's path.
 */
export function taskDefinitionAccess(path: string, slots: readonly ResolvedSlot[], explicit: CutoverTaskDefinitionProps | undefined): { access?: TaskDefinitionAccess; problems: string[] } {
  if (explicit) {
    const problems: string[] = [];
    if (typeof explicit.family !== 'string' || (!Token.isUnresolved(explicit.family) && !FAMILY.test(explicit.family))) {
      problems.push(`${path}.taskDefinition.family: must be a task-definition family name (1-255 letters, digits, - or _)`);
    }
    if (!Array.isArray(explicit.roles)) problems.push(`${path}.taskDefinition.roles: must list the task and execution roles of the family's revisions (an empty list if it has neither)`);
    if (problems.length) return { problems };
    return { access: { families: [explicit.family], roleArns: explicit.roles.map((r) => r.roleArn) }, problems };
  }
  const imported = (['blue', 'green'] as const).filter((_slot, i) => !slots[i]?.concrete);
  if (imported.length) {
    return {
      problems: [
        `${path}.taskDefinition: required when a slot's service is imported (${imported.map((s) => `${s}.service`).join(', ')} is not an ecs.BaseService built in this app): ` +
          'give the task-definition family and the task and execution roles (Cutover registers revisions in that family and passes those roles to ECS)',
      ],
    };
  }
  const definitions = [...new Set(slots.map((s) => s.concrete!.taskDefinition))];
  return {
    access: {
      families: definitions.map((td) => td.family),
      roleArns: definitions.flatMap((td) => [td.taskRole.roleArn, ...(td.executionRole ? [td.executionRole.roleArn] : [])]),
    },
    problems: [],
  };
}
