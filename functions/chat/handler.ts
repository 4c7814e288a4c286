/** Lambda entry point of the chat function: middy over `handleChatEvent` (Slack's Function URL requests and the deferred commands). */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { awsAlarms } from '../aws/alarms';
import { requireEnv, sdkOptions } from '../aws/clients';
import { awsEcs } from '../aws/ecs';
import { awsExecutions, executionArnOf } from '../aws/executions';
import { lambda, once } from '../aws/lambda';
import { powertoolsLog } from '../aws/powertools';
import { awsRequestLedger } from '../aws/request-ledger';
import { cachedSecret } from '../aws/secrets';
import { awsStore } from '../aws/store';
import { awsTraffic } from '../aws/traffic';
import { awsAnalysisAlarms } from '../aws/analysis-alarms';
import { servicesFromEnv } from '../core/config';
import { systemClock } from '../core/ports';
import { awsSelfInvoke } from '../aws/self-invoke';
import { slackResponses } from '../aws/slack-responses';
import { handleChatEvent, type ChatDeps } from './chat';

/** Console link of an execution. */
export const consoleUrl = (executionArn: string) => {
  const region = executionArn.split(':')[3] ?? 'us-east-1';
  return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${executionArn}`;
};

/**
 * Builds the handler over the given dependencies (the local runner and tests pass their own): Slack's
 * requests through the Function URL, and the function's own asynchronous runs of deferred commands.
 */
export const createHandler = (deps: () => ChatDeps) => lambda('chat', handleChatEvent, deps);

export const handler = createHandler(
  once((): ChatDeps => {
    // One DynamoDB client for the store and the request ledger: the same table.
    const table = requireEnv('TABLE_NAME');
    const dynamo = new DynamoDBClient(sdkOptions);
    // One CloudWatch client for the alarm checks and the canary analysis.
    const cloudwatch = new CloudWatchClient(sdkOptions);
    return {
      services: servicesFromEnv(requireEnv('CUTOVER_SERVICES')),
      store: awsStore(table, dynamo),
      requestLedger: awsRequestLedger(table, dynamo),
      executions: awsExecutions(requireEnv('STATE_MACHINE_ARN')),
      alarms: awsAlarms(cloudwatch),
      traffic: awsTraffic(),
      analysis: awsAnalysisAlarms(cloudwatch),
      ecs: awsEcs(),
      clock: systemClock,
      log: powertoolsLog(),
      executionUrl: (rolloutId) => consoleUrl(executionArnOf(requireEnv('STATE_MACHINE_ARN'), rolloutId)),
      signingSecret: cachedSecret(requireEnv('SLACK_SIGNING_SECRET_ARN')),
      // Lambda sets the function's own name: no reference to itself in its configuration.
      deferral: awsSelfInvoke(requireEnv('AWS_LAMBDA_FUNCTION_NAME')),
      responses: slackResponses(),
    };
  }),
);
