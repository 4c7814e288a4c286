/**
 * The `hooks` prop: what the functions receive (ARNs, seconds, defaults), who may invoke the hooks and who may
 * answer their tokens, and the validation that names the prop.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { HookMessage } from '../../functions/core/hooks';
import { Cutover } from '../../infra/cutover';
import { ExampleEnvironment } from '../../infra/example-environment';
import { actionsOf, exampleService, policyStatementsOf, render, testApp } from './example-app';

const EXTERNAL = 'arn:aws:lambda:eu-west-1:123456789012:function:shared-smoke-test';

describe('the hooks prop', () => {
  let stack: Stack;
  let template: Template;
  let cutover: Cutover;
  let smoke: lambda.Function;

  beforeAll(() => {
    stack = new Stack(testApp(), 'Hooks');
    const env = new ExampleEnvironment(stack, 'Environment');
    smoke = new lambda.Function(stack, 'Smoke', {
      runtime: lambda.Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => ({ status: "SUCCEEDED" })'),
    });
    const service = exampleService(env, {
      hooks: { afterSteady: { functions: [smoke], timeout: Duration.minutes(2) }, onRollback: { functions: [EXTERNAL], onTimeout: 'continue' } },
    });
    cutover = new Cutover(stack, 'Cutover', { services: [service] });
    template = Template.fromStack(stack);
  });

  const logicalId = (fn: lambda.IFunction) => stack.getLogicalId((fn.node.defaultChild ?? fn) as never);
  const roleOf = (fn: lambda.IFunction) => stack.getLogicalId(fn.role!.node.defaultChild as never);

  it('reaches the functions as ARNs and seconds, with the defaults applied', () => {
    const start = template.toJSON().Resources[logicalId(cutover.functions.start)];
    const services = render(start.Properties.Environment.Variables.CUTOVER_SERVICES);

    expect(services).toContain(`"hooks":{"afterSteady":{"functions":["<${logicalId(smoke)}.Arn>"],"timeoutSeconds":120,"onTimeout":"rollback"}`);
    expect(services).toContain(`"onRollback":{"functions":["${EXTERNAL}"],"timeoutSeconds":600,"onTimeout":"continue"}`);
  });

  it('lets the hook function invoke exactly the configured hooks', () => {
    const invoke = policyStatementsOf(template, roleOf(cutover.functions.hook)).filter((s) => actionsOf(s).includes('lambda:InvokeFunction'));

    expect(invoke.map((s) => [actionsOf(s), [s.Resource].flat().map((r) => render(r))])).toEqual([[['lambda:InvokeFunction'], [`<${logicalId(smoke)}.Arn>`, EXTERNAL]]]);
  });

  it('lets a hook given as a function answer its token on this state machine only', () => {
    const answer = policyStatementsOf(template, roleOf(smoke)).filter((s) => actionsOf(s).some((a) => a.startsWith('states:')));

    expect(answer.map((s) => [actionsOf(s), render(s.Resource as never)])).toEqual([
      [['states:SendTaskSuccess', 'states:SendTaskFailure'], `arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:stateMachine:${cutover.stateMachineName}`],
    ]);
  });

  it('refuses a bad stage configuration, naming the prop', () => {
    const env = new ExampleEnvironment(stack, 'Other');
    const bad = () =>
      new Cutover(stack, 'Bad', {
        services: [exampleService(env, { name: 'other', hooks: { afterSteady: { functions: [smoke], timeout: Duration.days(2) } } })],
      });

    expect(bad).toThrow(`services[0].hooks.afterSteady.timeout: ${HookMessage.TIMEOUT}`);
  });
});
