/**
 * Your IaC and Cutover never fight. CloudFormation owns the slot services, the listener and the user's task
 * definition, except three things Cutover owns once the stack exists: each slot service's `TaskDefinition`
 * and `DesiredCount`, and the forward weights of the listener (or rule). In the template those are
 * `Fn::GetAtt` of a *live state* custom resource (functions/live-state) whose properties are the owned
 * resources' other properties: it runs exactly when CloudFormation would update one of them and answers
 * what is live (refusing while a rollout holds the service), so an update rewrites the live values.
 *
 * A change to the user's task definition is a release (functions/release): a custom resource whose property
 * is the user's revision starts a rollout of it through the canary, with the live image. The user's task
 * definition is kept when CloudFormation replaces it (`UpdateReplacePolicy: Retain`): a slot may still run it.
 */
import { Annotations, CfnDeletionPolicy, CustomResource, Lazy, Stack, Validations, type CfnResource } from 'aws-cdk-lib';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';

/** One service as this wiring needs it. */
export interface OwnedService {
  readonly name: string;
  readonly cluster: string;
  readonly blue: { readonly service: ecs.BaseService; readonly targetGroupArn: string };
  readonly green: { readonly service: ecs.BaseService; readonly targetGroupArn: string };
  /** The listener built in this app whose default action holds the weights (undefined: not owned here). */
  readonly listener?: elbv2.ApplicationListener;
  readonly trafficArn: string;
}

/** The template's properties of a resource, with its overrides, as CloudFormation will get them. */
const propertiesOf = (resource: CfnResource): Record<string, unknown> => {
  // The entry is a token (properties merged with overrides when resolved): resolve it as synthesis would.
  const entries = (resource as unknown as { _toCloudFormation(): { Resources: Record<string, unknown> } })._toCloudFormation().Resources;
  const resolved = Stack.of(resource).resolve(Object.values(entries)[0]) as { Properties?: Record<string, unknown> } | undefined;
  return structuredClone(resolved?.Properties ?? {});
};

/** The forward action's target groups in a listener's default actions (index of the action, of each group). */
function forwardTargets(actions: unknown, stack: Stack): Array<{ action: number; index: number; arn: string; weight?: number }> {
  const resolved = stack.resolve(actions) as Array<{ Type?: string; ForwardConfig?: { TargetGroups?: Array<{ TargetGroupArn: unknown; Weight?: number }> } }> | undefined;
  return (resolved ?? []).flatMap((a, action) =>
    a.Type === 'forward' ? (a.ForwardConfig?.TargetGroups ?? []).map((g, index) => ({ action, index, arn: JSON.stringify(g.TargetGroupArn), weight: g.Weight })) : [],
  );
}

/**
 * Hands what Cutover owns in `service`'s resources to it. Returns the two custom resources (live state and
 * release), or undefined when the slots' services were not built in this app (nothing of theirs is in this
 * template: whoever owns them keeps the same rule, see the README).
 */
export function handOverLiveState(
  scope: Construct,
  id: string,
  service: OwnedService,
  functions: { liveState: lambda.IFunction; release: lambda.IFunction },
): { liveState: CustomResource; release: CustomResource } | undefined {
  const stack = Stack.of(scope);
  const blue = service.blue.service;
  const green = service.green.service;
  if (Stack.of(blue) !== stack || Stack.of(green) !== stack) return undefined;
  const cfnBlue = blue.node.defaultChild as ecs.CfnService;
  const cfnGreen = green.node.defaultChild as ecs.CfnService;
  const cfnListener = service.listener && Stack.of(service.listener) === stack ? (service.listener.node.defaultChild as elbv2.CfnListener) : undefined;
  // The slot services read this resource, so it must name them without a reference to them: their names.
  const blueName = cfnBlue.serviceName;
  const greenName = cfnGreen.serviceName;
  if (blueName === undefined || greenName === undefined) {
    Annotations.of(scope).addWarningV2(
      '@cutover/live-state-needs-service-names',
      `Cutover: the slots of ${service.name} have no serviceName, so CloudFormation keeps owning their revision, desired count and the listener's ` +
        'weights (a deploy may undo a rollout). Give both services a serviceName to hand these to Cutover.',
    );
    return undefined;
  }
  const group = new Construct(scope, id);

  const targets = cfnListener ? forwardTargets(propertiesOf(cfnListener).DefaultActions, stack) : [];
  const at = (arn: string) => targets.find((t) => t.arn === JSON.stringify(stack.resolve(arn)));
  const blueTarget = at(service.blue.targetGroupArn);
  const greenTarget = at(service.green.targetGroupArn);
  const ownsWeights = cfnListener !== undefined && blueTarget !== undefined && greenTarget !== undefined;

  // The other properties of what it owns: a change to any of them (a resolved reference too) runs it.
  const shape = Lazy.any({
    produce: () => {
      const strip = (props: Record<string, unknown>) => {
        delete props.TaskDefinition;
        delete props.DesiredCount;
        return props;
      };
      const listener = ownsWeights ? propertiesOf(cfnListener!) : undefined;
      for (const t of ownsWeights ? [blueTarget!, greenTarget!] : []) {
        delete (listener!.DefaultActions as Array<{ ForwardConfig: { TargetGroups: Array<Record<string, unknown>> } }>)[t.action]!.ForwardConfig.TargetGroups[t.index]!.Weight;
      }
      return { blue: strip(propertiesOf(cfnBlue)), green: strip(propertiesOf(cfnGreen)), ...(listener ? { listener } : {}) };
    },
  });
  const family = blue.taskDefinition.family;
  const liveState = new CustomResource(group, 'LiveState', {
    serviceToken: functions.liveState.functionArn,
    resourceType: 'Custom::CutoverLiveState',
    properties: {
      Service: service.name,
      Cluster: service.cluster,
      BlueService: blueName,
      GreenService: greenName,
      BlueTargetGroup: service.blue.targetGroupArn,
      GreenTargetGroup: service.green.targetGroupArn,
      OwnsWeights: String(ownsWeights),
      Family: family,
      Initial: {
        BlueDesiredCount: String(cfnBlue.desiredCount ?? 1),
        GreenDesiredCount: String(cfnGreen.desiredCount ?? 1),
        BlueWeight: String(blueTarget?.weight ?? 100),
        GreenWeight: String(greenTarget?.weight ?? 0),
      },
      Shape: shape,
    },
  });
  // On a first deploy it reads the newest revision of the family: the user's, registered before it.
  liveState.node.addDependency(blue.taskDefinition);
  // CloudFormation's own validation (on in new CDK apps) cannot see through the attribute to the revision.
  Validations.of(liveState).acknowledge({
    id: 'CloudFormation-Validate::E3054',
    reason: "The slot services' TaskDefinition is the live revision this resource answers at deploy time: the user's task definition (or a Cutover clone of it), with the same compatibilities.",
  });
  for (const [cfn, slot] of [
    [cfnBlue, 'Blue'],
    [cfnGreen, 'Green'],
  ] as const) {
    cfn.addPropertyOverride('TaskDefinition', liveState.getAtt(`${slot}TaskDefinition`));
    cfn.addPropertyOverride('DesiredCount', liveState.getAtt(`${slot}DesiredCount`));
  }
  if (ownsWeights) {
    for (const [t, slot] of [
      [blueTarget!, 'Blue'],
      [greenTarget!, 'Green'],
    ] as const) {
      cfnListener!.addPropertyOverride(`DefaultActions.${t.action}.ForwardConfig.TargetGroups.${t.index}.Weight`, liveState.getAtt(`${slot}Weight`));
    }
  }
  // CloudFormation replaces a task definition on every change: the old revision may still run in a slot.
  for (const td of new Set([blue.taskDefinition, green.taskDefinition])) {
    (td.node.defaultChild as CfnResource).cfnOptions.updateReplacePolicy = CfnDeletionPolicy.RETAIN;
    // Kept on replacement only: deleting the stack deletes the services that could run it, so it may go too.
    Validations.of(td).acknowledge({ id: 'CloudFormation-Validate::W3011', reason: 'Retained when replaced (a slot may still run it), not when the stack is deleted with its services.' });
  }
  const release = new CustomResource(group, 'Release', {
    serviceToken: functions.release.functionArn,
    resourceType: 'Custom::CutoverRelease',
    properties: { Service: service.name, TaskDefinition: blue.taskDefinition.taskDefinitionArn },
  });
  release.node.addDependency(liveState);
  return { liveState, release };
}
