/**
 * Your IaC and Cutover never fight, read from the synthesized templates: what Cutover owns (each slot
 * service's revision and desired count, the listener's forward weights) is `Fn::GetAtt` of the live-state
 * custom resource, and does not change when the user changes the task definition; the release trigger does.
 */
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { CutoverExampleStack } from '../../infra/example-environment';
import { testApp } from './example-app';

/** The example app, with the user's task definition changed (`change`) or not. */
function synth(change?: (stack: CutoverExampleStack) => void) {
  const app = testApp();
  const stack = new CutoverExampleStack(app, 'CutoverExample');
  change?.(stack);
  const template = Template.fromStack(stack);
  const id = (c: { node: { defaultChild?: unknown } }) => stack.getLogicalId(c.node.defaultChild as never);
  const resource = (c: { node: { defaultChild?: unknown } }) => template.toJSON().Resources[id(c)] as { Properties: Record<string, unknown>; UpdateReplacePolicy?: string };
  return { stack, template, id, resource };
}

const withEnvironment = (stack: CutoverExampleStack) => stack.target.taskDefinition.defaultContainer!.addEnvironment('FEATURE_FLAG', 'on');

describe('what Cutover owns is read from what is live', () => {
  const { stack, id, resource } = synth();
  const liveState = stack.cutover.liveState[0]!;
  const liveStateId = Stack.of(liveState.liveState).getLogicalId(liveState.liveState.node.defaultChild as never);

  it.each(['blue', 'green'] as const)("points the %s slot's revision and desired count at the live state", (slot) => {
    const props = resource(stack.target[slot].service).Properties;
    const attr = slot === 'blue' ? 'Blue' : 'Green';
    expect(props.TaskDefinition).toEqual({ 'Fn::GetAtt': [liveStateId, `${attr}TaskDefinition`] });
    expect(props.DesiredCount).toEqual({ 'Fn::GetAtt': [liveStateId, `${attr}DesiredCount`] });
  });

  it("points the listener's forward weights at the live state", () => {
    const actions = resource(stack.target.listener).Properties.DefaultActions as Array<{ ForwardConfig: { TargetGroups: Array<{ Weight: unknown }> } }>;
    expect(actions[0]!.ForwardConfig.TargetGroups.map((g) => g.Weight)).toEqual([{ 'Fn::GetAtt': [liveStateId, 'BlueWeight'] }, { 'Fn::GetAtt': [liveStateId, 'GreenWeight'] }]);
  });

  it("starts a first deploy from the template's own values (blue 2 tasks at 100, green 0 at 0)", () => {
    const props = (stack.cutover.liveState[0]!.liveState.node.defaultChild as { _cfnProperties?: unknown }) && Template.fromStack(stack).toJSON().Resources[liveStateId].Properties;
    expect(props.Initial).toEqual({ BlueDesiredCount: '2', GreenDesiredCount: '0', BlueWeight: '100', GreenWeight: '0' });
    expect(props.Family).toBe('checkout');
  });

  it('keeps the replaced revision of the task definition registered (a slot may run it)', () => {
    expect(resource(stack.target.taskDefinition).UpdateReplacePolicy).toBe('Retain');
  });

  it("releases the user's revision: the release trigger's property is the task definition", () => {
    const release = Template.fromStack(stack).toJSON().Resources[Stack.of(liveState.release).getLogicalId(liveState.release.node.defaultChild as never)];
    expect(release.Properties.TaskDefinition).toEqual({ Ref: id(stack.target.taskDefinition) });
  });
});

describe("a change to the task definition in the user's code", () => {
  const before = synth();
  const after = synth(withEnvironment);

  it('changes the task definition (CloudFormation registers a new revision)', () => {
    expect(after.resource(after.stack.target.taskDefinition).Properties).not.toEqual(before.resource(before.stack.target.taskDefinition).Properties);
  });

  it.each(['blue', 'green'] as const)('leaves the %s slot service exactly as it was (no update of revision or desired count)', (slot) => {
    expect(after.resource(after.stack.target[slot].service)).toEqual(before.resource(before.stack.target[slot].service));
  });

  it('leaves the listener and its weights exactly as they were', () => {
    expect(after.resource(after.stack.target.listener)).toEqual(before.resource(before.stack.target.listener));
  });

  it('does not run the live state (its properties are unchanged)', () => {
    expect(after.resource(after.stack.cutover.liveState[0]!.liveState)).toEqual(before.resource(before.stack.cutover.liveState[0]!.liveState));
  });

  it('runs the release: its property refers to the replaced task definition', () => {
    const ref = after.resource(after.stack.cutover.liveState[0]!.release).Properties.TaskDefinition;
    expect(ref).toEqual({ Ref: after.id(after.stack.target.taskDefinition) });
  });
});

describe("a change to a slot service or the listener in the user's code", () => {
  const before = synth();
  const after = synth((stack) => ((stack.target.blue.service.node.defaultChild as { healthCheckGracePeriodSeconds?: number }).healthCheckGracePeriodSeconds = 120));

  it('runs the live state (its properties change), so the update writes back what is live', () => {
    expect(after.resource(after.stack.cutover.liveState[0]!.liveState).Properties.Shape).not.toEqual(before.resource(before.stack.cutover.liveState[0]!.liveState).Properties.Shape);
  });
});
