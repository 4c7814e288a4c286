/**
 * The Region check at synth: a feature AWS documents as missing in the stack's Region fails synthesis,
 * naming the Region and the prop that turns it off; an environment-agnostic stack gets a warning instead.
 */
import { Stack, Validations, type Environment } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import { Cutover, type CutoverProps } from '../../infra/cutover';
import { CutoverExampleStack, ExampleEnvironment } from '../../infra/example-environment';
import { REGION_AVAILABILITY_WARNING } from '../../infra/region-availability';
import { testApp } from './example-app';

/** A stack in `env` with one Cutover over the example environment, without Slack unless told. */
function stackWith(env: Environment | undefined, props: Partial<CutoverProps> = {}): Stack {
  const stack = new Stack(testApp(), 'Region', { env });
  const target = new ExampleEnvironment(stack, 'Environment');
  new Cutover(stack, 'Cutover', {
    services: [
      {
        name: 'checkout',
        cluster: target.cluster,
        blue: target.blue,
        green: target.green,
        listener: target.listener,
        containerName: 'app',
        repository: target.repository,
        alarms: [target.errorAlarm],
      },
    ],
    ...props,
  });
  return stack;
}

const regionWarnings = (stack: Stack) => Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp(REGION_AVAILABILITY_WARNING));

describe('the Region check', () => {
  it('fails synthesis of the Slack endpoint in a Region without Function URLs, naming the Region and the prop', () => {
    const stack = new CutoverExampleStack(testApp(), 'CutoverExample', { env: { region: 'ap-south-2' } });

    expect(() => Template.fromStack(stack)).toThrow(/Cutover: ap-south-2 does not offer Lambda function URLs .*leave out the `slack` prop/);
  });

  it('synthesizes in that Region without Slack', () => {
    const stack = stackWith({ region: 'ap-south-2' });

    expect(() => Template.fromStack(stack)).not.toThrow();
    expect(regionWarnings(stack)).toEqual([]);
  });

  it("fails synthesis of the functions' X-Ray tracing in China, and synthesizes with tracing off", () => {
    expect(() => Template.fromStack(stackWith({ region: 'cn-north-1' }))).toThrow(/Cutover: cn-north-1 does not offer Lambda's X-Ray tracing .*set `tracing: lambda\.Tracing\.DISABLED`/);

    const off = stackWith({ region: 'cn-north-1' }, { tracing: lambda.Tracing.DISABLED });
    // The state machine keeps logging and tracing: Step Functions in China lists no difference for either.
    Template.fromStack(off).hasResourceProperties('AWS::StepFunctions::StateMachine', { TracingConfiguration: { Enabled: true }, LoggingConfiguration: Match.anyValue() });
  });

  it('synthesizes the example app in a Region that offers everything, without a warning', () => {
    const stack = new CutoverExampleStack(testApp(), 'CutoverExample', { env: { region: 'eu-west-1' } });

    Template.fromStack(stack).resourceCountIs('AWS::Lambda::Url', 1);
    expect(regionWarnings(stack)).toEqual([]);
  });

  it('warns on an environment-agnostic stack that it could not check, and how to make it check', () => {
    const stack = new CutoverExampleStack(testApp(), 'CutoverExample');

    const warnings = regionWarnings(stack);

    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.entry.data).toMatch(/^Cutover could not check that the Region offers .*Lambda function URLs: the stack is environment-agnostic .*set `env\.region`/);
  });

  it('lets that warning be acknowledged by its id', () => {
    const stack = new CutoverExampleStack(testApp(), 'CutoverExample');

    Validations.of(stack).acknowledge({ id: REGION_AVAILABILITY_WARNING, reason: 'deployed to eu-west-1 only' });

    expect(regionWarnings(stack)).toEqual([]);
  });

  it('warns, and does not fail, in a partition whose differences AWS does not publish', () => {
    const stack = stackWith({ region: 'us-iso-east-1' });

    expect(() => Template.fromStack(stack)).not.toThrow();
    expect(regionWarnings(stack)).toHaveLength(1);
  });
});
