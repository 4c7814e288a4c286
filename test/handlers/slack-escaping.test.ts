/**
 * Outside text on its way to Slack: an alarm's or an ECS event's reason goes from the alarm function (the
 * abort on the lock, the task's failure cause) through the state machine to the rollback function, whose
 * notification must show it escaped, while the records keep it as it was sent.
 */
import { UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { ModifyListenerCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { SendTaskFailureCommand } from '@aws-sdk/client-sfn';
import { DeleteCommand, QueryCommand, UpdateCommand, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { createHandler as alarmHandler } from '../../functions/alarm/handler';
import type { Notifier } from '../../functions/core/ports';
import { createHandler as rollbackHandler } from '../../functions/rollback/handler';
import { deploymentEvent, loadEvent } from '../fixtures/aws-events';
import { CLUSTER, stepState } from '../fixtures/state';
import { LAMBDA_CONTEXT, aws, givenListener, historyWrites, lockItem, realDeps, resetAws, weightedForward } from './harness';

const TOKEN = 'AQCEAAAAKgAAAAMAAAAAAAAAAd2Wl7YvM0Y3bake-token';
const LOCK_KEY = { pk: 'service#checkout', sk: 'lock' };
/** Everything an outsider could try in a reason: a channel alert, a user mention, a link, an entity. */
const OUTSIDE = 'Threshold Crossed <!channel> ping <@U999> at <https://evil.example|the runbook> &amp; more';
const ESCAPED = 'Threshold Crossed &lt;!channel&gt; ping &lt;@U999&gt; at &lt;https://evil.example|the runbook&gt; &amp;amp; more';

/** A CloudWatch alarm going into ALARM on checkout-5xx, with `reason` as its state reason. */
function alarmEvent(reason: string): unknown {
  const event = loadEvent('alarm-alarm');
  (event.detail.state as { reason: string }).reason = reason;
  return event;
}

/** ECS reporting that checkout's new slot failed to deploy, with `reason`. */
const ecsEvent = (reason: string) => deploymentEvent('SERVICE_DEPLOYMENT_FAILED', 'ERROR', reason);

/** A notifier that keeps what it was asked to post. */
function capturingNotifier(): Notifier & { readonly posts: string[] } {
  const posts: string[] = [];
  return {
    posts,
    post: async (text, thread) => {
      posts.push(text);
      return { thread };
    },
  };
}

/** The alarm function's run: checkout mid-bake, its lock in the active index; returns the task failure it sent. */
async function abortedBy(event: unknown): Promise<{ Error: string; Cause: string }> {
  const lock = lockItem({ taskToken: TOKEN, idleService: { cluster: CLUSTER, serviceName: 'checkout-green' } });
  aws.dynamo.on(QueryCommand).resolves({ Items: [lock] });
  aws.dynamo.on(UpdateCommand).callsFake((input: UpdateCommandInput) => ({ Attributes: { ...lock, abort: input.ExpressionAttributeValues?.[':abort'] } }));
  aws.sfn.on(SendTaskFailureCommand).resolves({});
  await alarmHandler(realDeps)(event, LAMBDA_CONTEXT);
  const [failure] = aws.sfn.commandCalls(SendTaskFailureCommand).map((c) => c.args[0].input);
  return { Error: String(failure?.error), Cause: String(failure?.cause) };
}

/** The rollback function's run on the state the execution fails into, with `error`. */
async function rolledBack(error: { Error: string; Cause: string }, notifier: Notifier): Promise<void> {
  resetAws();
  givenListener([weightedForward(75, 25)]);
  aws.elb.on(ModifyListenerCommand).resolves({});
  aws.ecs.on(UpdateServiceCommand).resolves({});
  aws.dynamo.on(UpdateCommand).resolves({});
  aws.dynamo.on(UpdateCommand, { Key: LOCK_KEY }).resolves({ Attributes: lockItem({ generation: 1 }) }); // the fence proves ownership
  aws.dynamo.on(DeleteCommand).resolves({});
  await rollbackHandler(() => ({ ...realDeps(), notifier }))(stepState(2, { error }), LAMBDA_CONTEXT);
}

beforeEach(() => {
  resetAws();
});

describe('outside reasons in rollout notifications', () => {
  it.each([
    ['an alarm', alarmEvent(OUTSIDE), `AlarmFired: alarm checkout-5xx in ALARM: ${OUTSIDE}`, `AlarmFired: alarm checkout-5xx in ALARM: ${ESCAPED}`],
    [
      'an ECS deployment failure',
      ecsEvent(OUTSIDE),
      `DeploymentFailed: ECS SERVICE_DEPLOYMENT_FAILED on checkout-green: ${OUTSIDE}`,
      `DeploymentFailed: ECS SERVICE_DEPLOYMENT_FAILED on checkout-green: ${ESCAPED}`,
    ],
  ])('the reason of %s reaches the rollback notification escaped, and the history keeps it as sent', async (_case, event, recorded, shown) => {
    const notifier = capturingNotifier();

    const error = await abortedBy(event);
    await rolledBack(error, notifier);

    expect(notifier.posts).toEqual([`Rollout of *checkout* rolled back: rolled back: blue 100% on checkout:7; green back on checkout:7 at 0 tasks. Reason: ${shown}`]);
    expect(historyWrites().map((h) => h.fields.reason)).toEqual([recorded]);
  });
});
