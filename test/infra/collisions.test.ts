/**
 * The construct refuses, at synth, two services that would manage the same AWS resource: it runs
 * validateServices, the validator the start function runs on CUTOVER_SERVICES at run time.
 */
import { Stack } from 'aws-cdk-lib';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigMessage } from '../../functions/core/config';
import { Cutover, type CutoverProps, type CutoverServiceProps } from '../../infra/cutover';
import { ExampleEnvironment } from '../../infra/example-environment';
import { testApp } from './example-app';

describe('Cutover props: no resource managed by two services', () => {
  let stack: Stack;
  let env: ExampleEnvironment;
  let other: ExampleEnvironment;
  let count = 0;
  const build = (props: CutoverProps) => new Cutover(stack, `Cutover${++count}`, props);
  /** A service on `on` (the first environment unless told), with the given props replaced. */
  const service = (overrides: Partial<CutoverServiceProps> = {}, on: ExampleEnvironment = env): CutoverServiceProps => ({
    name: 'checkout',
    cluster: on.cluster,
    blue: on.blue,
    green: on.green,
    listener: on.listener,
    containerName: 'app',
    repository: on.repository,
    alarms: [on.errorAlarm],
    ...overrides,
  });

  beforeAll(() => {
    stack = new Stack(testApp(), 'Collisions');
    env = new ExampleEnvironment(stack, 'Environment');
    other = new ExampleEnvironment(stack, 'Other');
  });

  it('accepts two services on their own clusters, target groups and listeners', () => {
    const act = () => build({ services: [service(), service({ name: 'checkout-eu' }, other)] });

    expect(act).not.toThrow();
  });

  it.each<[string, () => CutoverServiceProps, string]>([
    [
      'a target group',
      () => service({ name: 'checkout-eu', green: { service: other.green.service, targetGroup: env.green.targetGroup } }, other),
      `services[1].green.targetGroup: ${ConfigMessage.SHARED} services[0].slots.green.targetGroupArn`,
    ],
    [
      'an ECS service',
      () => service({ name: 'checkout-eu', cluster: env.cluster, blue: { service: env.blue.service, targetGroup: other.blue.targetGroup } }, other),
      `services[1].blue.service: ${ConfigMessage.SHARED} services[0].slots.blue.serviceName`,
    ],
    ['a listener', () => service({ name: 'checkout-eu', listener: env.listener }, other), `services[1].listener: ${ConfigMessage.SHARED} services[0].listenerArn`],
  ])('refuses two services sharing %s, naming the prop', (_name, second, error) => {
    const act = () => build({ services: [service(), second()] });

    expect(act).toThrow(error);
  });
});
