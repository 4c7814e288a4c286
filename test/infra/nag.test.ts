/**
 * cdk-nag's AWS Solutions pack on the whole example app: no finding left, and every acknowledgement is
 * one we know and explain.
 */
import { Stack, Validations, type App } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { CutoverExampleStack } from '../../infra/example-environment';
import { testApp } from './example-app';

/** Every cdk-nag acknowledgement in a tree: construct path (relative to the stack), rule id, reason. */
function acknowledgements(root: IConstruct): Array<{ path: string; id: string; reason: string }> {
  return root.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) =>
        Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({
          path: c.node.path.split('/').slice(1).join('/'),
          id: id.replace(/^annotation::/i, ''),
          reason,
        })),
      )
      // aws-cdk-lib acknowledges a few of its own template checks (CloudFormation-Validate::...).
      .filter((ack) => ack.id.startsWith('AwsSolutions-')),
  );
}

/** The example's state machine name, as the construct derives it. */
const STATE_MACHINE_NAME = new CutoverExampleStack(testApp(), 'CutoverExample').cutover.stateMachineName;

const CUTOVER_FUNCTION_ROLES = [
  'Start',
  'Prepare',
  'Register',
  'Deploy',
  'CheckSteady',
  'CheckAlarms',
  'Shift',
  'Bake',
  'Alarm',
  'Finalize',
  'Retire',
  'Rollback',
  'Reconcile',
  'Chat',
  'LiveState',
  'Release',
  'Hook',
];

/** The acknowledgements the example app is expected to carry, and no others. */
const EXPECTED = [
  ...CUTOVER_FUNCTION_ROLES.map((fn) => ({ path: `Cutover/${fn}Role`, id: 'AwsSolutions-IAM5[Resource::*]' })),
  { path: 'Cutover/RegisterRole', id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task-definition/checkout:*]' },
  { path: 'Cutover/PrepareRole', id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${STATE_MACHINE_NAME}:*]` },
  // Chat's rollback tells a dead lock holder (an ended execution) from a live one, as prepare does.
  { path: 'Cutover/ChatRole', id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${STATE_MACHINE_NAME}:*]` },
  { path: 'Cutover/StateMachine/Role', id: 'AwsSolutions-IAM5[Resource::*]' },
  { path: 'Cutover/DeadLetterQueue', id: 'AwsSolutions-SQS3' },
  { path: 'Environment/TaskDefinition/ExecutionRole', id: 'AwsSolutions-IAM5[Resource::*]' },
  { path: 'Environment/LoadBalancerSecurityGroup', id: 'AwsSolutions-EC23' },
  { path: 'Environment/LoadBalancer', id: 'AwsSolutions-ELB2' },
  { path: 'Environment/SlackSigningSecret', id: 'AwsSolutions-SMG4' },
];

describe('cdk-nag AwsSolutionsChecks on the example app', () => {
  let example: { app: App; stack: CutoverExampleStack };

  beforeAll(() => {
    // Checked as built, before synthesis, as the validation plugin sees it (no template needed).
    const app = testApp();
    example = { app, stack: new CutoverExampleStack(app, 'CutoverExample') };
  });

  it('leaves no unacknowledged finding', () => {
    // Act
    const report = new AwsSolutionsChecks().validateScope(example.app);

    // Assert
    expect(report.violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('acknowledges exactly the known findings, each with its own reason', () => {
    // Act
    const acks = acknowledgements(example.stack);

    // Assert
    expect(acks.map(({ path, id }) => ({ path, id })).sort(byPathAndId)).toEqual([...EXPECTED].sort(byPathAndId));
    for (const ack of acks) {
      expect(ack.reason.length, `${ack.path} ${ack.id}`).toBeGreaterThan(80);
    }
  });

  it('names in each function role acknowledgement the actions that need "*"', () => {
    // Arrange
    const acks = acknowledgements(example.stack).filter((a) => a.path.startsWith('Cutover/') && a.path.endsWith('Role') && a.id === 'AwsSolutions-IAM5[Resource::*]');

    // Assert
    const reason = (fn: string) => acks.find((a) => a.path === `Cutover/${fn}Role`)!.reason;
    expect(reason('Deploy')).toContain('xray:PutTraceSegments');
    expect(reason('Deploy')).not.toContain('ecs:');
    expect(reason('Register')).toContain('ecs:RegisterTaskDefinition');
    expect(reason('Prepare')).toContain('elasticloadbalancing:DescribeTargetGroups');
    expect(reason('Reconcile')).toContain('elasticloadbalancing:DescribeListeners');
    expect(reason('Reconcile')).not.toContain('ecs:');
  });

  it('reports a wildcard that nobody acknowledged (the check can fail)', () => {
    // Arrange
    const app = testApp();
    const stack = new CutoverExampleStack(app, 'CutoverExample');
    stack.cutover.functions.deploy.addToRolePolicy(new iam.PolicyStatement({ actions: ['ecs:*'], resources: [Stack.of(stack).formatArn({ service: 'ecs', resource: 'service', resourceName: '*' })] }));

    // Act
    const report = new AwsSolutionsChecks().validateScope(app);

    // Assert
    expect(report.violations.map((v) => v.ruleName)).toEqual(['AwsSolutions-IAM5[Action::ecs:*]', 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:service/*]']);
  });
});

const byPathAndId = (a: { path: string; id: string }, b: { path: string; id: string }) => `${a.path} ${a.id}`.localeCompare(`${b.path} ${b.id}`);
