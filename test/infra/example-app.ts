/**
 * The example app the infra tests synthesize: the same stack as `bin/app.ts`. The functions' code is the
 * prebuilt bundles in dist/assets (`npm run build`), the very files a deployment uploads.
 */
import { App, Stack, type CfnResource } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import type { CutoverServiceProps } from '../../infra/cutover';
import { CutoverExampleStack, type ExampleEnvironment } from '../../infra/example-environment';

/**
 * The App the infra tests synthesize in (nothing to bundle: the construct takes prebuilt assets), with
 * CloudFormation's own template validation failing synth on an error, as in an app made by `cdk init` today.
 */
export const testApp = (options: { cfnValidation?: boolean } = {}) => new App({ context: { '@aws-cdk/core:validateAgainstDefaultRules': options.cfnValidation ?? true } });

export interface ExampleApp {
  readonly app: App;
  readonly stack: CutoverExampleStack;
  readonly template: Template;
  /** The logical id of a construct's CloudFormation resource. */
  readonly logicalId: (construct: IConstruct) => string;
}

/** Builds and synthesizes the example app once. */
export function synthExampleApp(): ExampleApp {
  const app = testApp();
  const stack = new CutoverExampleStack(app, 'CutoverExample');
  const template = Template.fromStack(stack);
  const logicalId = (construct: IConstruct) => {
    const resource = (construct.node.defaultChild ?? construct) as CfnResource;
    return Stack.of(construct).getLogicalId(resource);
  };
  return { app, stack, template, logicalId };
}

/** `{ Ref }` / `{ Fn::GetAtt }` / `{ Fn::Join }` rendered to text, references as `<LogicalId>` / `<LogicalId.Attr>`. */
export function render(value: unknown): string {
  if (typeof value === 'string') return value;
  const v = value as Record<string, unknown>;
  if (v.Ref !== undefined) return `<${String(v.Ref)}>`;
  if (v['Fn::GetAtt'] !== undefined) return `<${(v['Fn::GetAtt'] as string[]).join('.')}>`;
  if (v['Fn::Join'] !== undefined) {
    const [delimiter, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map(render).join(delimiter);
  }
  throw new Error(`cannot render ${JSON.stringify(value)}`);
}

/** JSON as it appears in a template. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** One IAM policy statement of a template. */
export interface Statement {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: Json;
  readonly Condition?: Json;
}

/** The statements of the `AWS::IAM::Policy` resources attached to a role. */
export function policyStatementsOf(template: Template, roleLogicalId: string): Statement[] {
  const policies = template.findResources('AWS::IAM::Policy');
  return Object.values(policies)
    .filter((p) => (p.Properties.Roles as Array<{ Ref: string }>).some((r) => r.Ref === roleLogicalId))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}

/** Every statement's actions as a list. */
export const actionsOf = (s: Statement): string[] => [s.Action].flat();

/** A service on an example environment's resources (the same as the example app's), with `overrides`. */
export function exampleService(env: ExampleEnvironment, overrides: Partial<CutoverServiceProps> = {}): CutoverServiceProps {
  return { name: 'checkout', cluster: env.cluster, blue: env.blue, green: env.green, listener: env.listener, containerName: 'app', repository: env.repository, alarms: [env.errorAlarm], ...overrides };
}
