import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { beforeEach, describe, expect, it } from 'vitest';
import { servicesFromEnv, type ServiceConfig } from '../../functions/core/config';
import { executionName, type RolloutInput } from '../../functions/core/rollout';
import { createHandler } from '../../functions/start/handler';
import { loadEvent } from '../fixtures/aws-events';
import { ownResources } from '../fixtures/own-resources';
import { DIGEST, serviceInput } from '../fixtures/state';
import { LAMBDA_CONTEXT, STATE_MACHINE_ARN, aws, realDeps, resetAws, totalAwsCalls, type LogLine } from './harness';

const EXECUTION_PREFIX = 'arn:aws:states:us-east-1:123456789012:execution:cutover-rollout';

/** One repository, two services, each with its own slots and listener: releases roll out to `checkout`, main-branch builds to `checkout-staging`. */
const SERVICES = JSON.stringify([serviceInput({ tagFilter: 'v*' }), serviceInput({ name: 'checkout-staging', ...ownResources('checkout-staging'), tagFilter: '/^main-[0-9a-f]{7}$/' })]);

let services: ServiceConfig[];
let lines: LogLine[];
const invoke = (event: unknown) => {
  const { executions, registry, log, requestLedger, clock, store } = realDeps();
  lines = log.lines;
  return createHandler(() => ({ services, executions, registry, log, requestLedger, clock, store }))(event, LAMBDA_CONTEXT);
};

/** A push of the sample digest with this tag (or none). */
function pushOf(tag: string | undefined) {
  const push = loadEvent('ecr-push');
  if (tag === undefined) delete push.detail['image-tag'];
  else push.detail['image-tag'] = tag;
  return push;
}

const started = () =>
  aws.sfn.commandCalls(StartExecutionCommand).map((c) => {
    const { input, ...rest } = c.args[0].input;
    return { ...rest, input: JSON.parse(input ?? 'null') as RolloutInput };
  });

beforeEach(() => {
  resetAws();
  services = servicesFromEnv(SERVICES);
  aws.sfn.on(StartExecutionCommand).callsFake((input: { name: string }) => ({ executionArn: `${EXECUTION_PREFIX}:${input.name}`, startDate: new Date() }));
});

describe('start handler: tag filters', () => {
  it.each([
    ['v1.4.2', 'checkout', 'checkout-staging'],
    ['main-3f2a9c1', 'checkout-staging', 'checkout'],
  ])('starts only the service whose filter matches the tag %s (%s)', async (tag, matching, other) => {
    const result = await invoke(pushOf(tag));

    const name = executionName(matching, DIGEST);
    expect(result).toEqual({ started: [{ service: matching, executionArn: `${EXECUTION_PREFIX}:${name}` }], duplicates: [] });
    expect(started().map((s) => ({ stateMachineArn: s.stateMachineArn, name: s.name, service: s.input.service.name, tag: s.input.image.tag }))).toEqual([
      { stateMachineArn: STATE_MACHINE_ARN, name, service: matching, tag },
    ]);
    const filter = services.find((s) => s.name === other)?.tagFilter;
    expect(lines).toContainEqual({
      level: 'info',
      message: 'push ignored for a service',
      fields: { service: other, reason: `tag ${tag} does not match the tag filter ${filter}`, digest: DIGEST },
    });
  });

  it.each([['latest'], ['main-3f2a9c1-dirty'], ['release-1']])('starts nothing for the tag %s that matches no filter and says why', async (tag) => {
    const result = await invoke(pushOf(tag));

    expect(result).toEqual({
      started: [],
      duplicates: [],
      ignored: `tag ${tag} of checkout matches the tag filter of no service (checkout: v*, checkout-staging: /^main-[0-9a-f]{7}$/)`,
    });
    expect(totalAwsCalls()).toBe(0);
  });

  it.each([
    ['every service has a filter', SERVICES],
    ['one service has no filter', JSON.stringify([serviceInput(), serviceInput({ name: 'checkout-prod', ...ownResources('checkout-prod'), tagFilter: 'v*' })])],
  ])('starts nothing for a push without a tag (a manifest of a multi-architecture push) when %s', async (_name, config) => {
    services = servicesFromEnv(config);

    const result = await invoke(pushOf(undefined));

    expect(result).toEqual({ started: [], duplicates: [], ignored: expect.stringContaining('a manifest pushed without a tag') });
    expect(started()).toEqual([]);
    expect(totalAwsCalls()).toBe(0);
  });
});
