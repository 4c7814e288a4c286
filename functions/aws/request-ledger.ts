/**
 * The {@link RequestLedger} port over the store's DynamoDB table (the same `pk` / `sk` strings).
 *
 * Item: pk `request#<id>` (`slack:<signature>` for a Slack request, `push:<execution name>` for a push), sk `request`, `expiresAt` (Unix seconds, the table's TTL attribute).
 * A claim is one conditional PutItem (`attribute_not_exists(pk)`): DynamoDB lets exactly one of two
 * concurrent claims of an id through. TTL removes the item some time after `expiresAt` (not at the
 * second; an expired item still refuses its signature, which is stale by then anyway).
 * @see https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/howitworks-ttl.html
 */
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { RequestLedger } from '../core/ports';
import { sdkOptions } from './clients';
import { edge, errorName } from './edge';
import { EXPIRES_AT_ATTRIBUTE } from '../core/table';

/** The table's TTL attribute (infra/cutover.ts sets `timeToLiveAttribute` to it). */
export { EXPIRES_AT_ATTRIBUTE };

/** The key of a claimed request. */
export const requestKey = (id: string) => ({ pk: `request#${id}`, sk: 'request' });

const conditionFailed = (error: unknown) => error instanceof ConditionalCheckFailedException || errorName(error) === 'ConditionalCheckFailedException';

/**
 * @example
 * const ledger = awsRequestLedger(requireEnv('TABLE_NAME'));
 * if (!(await ledger.claim(`slack:${signature}`, expiresAt))) return text(409, 'request already handled');
 */
export function awsRequestLedger(tableName: string, client: DynamoDBClient = new DynamoDBClient(sdkOptions)): RequestLedger {
  const doc = DynamoDBDocumentClient.from(client);
  return {
    async claim(id, expiresAt) {
      try {
        await edge('dynamodb:PutItem', () =>
          doc.send(
            new PutCommand({
              TableName: tableName,
              Item: { ...requestKey(id), [EXPIRES_AT_ATTRIBUTE]: Math.ceil(expiresAt.getTime() / 1000) },
              ConditionExpression: 'attribute_not_exists(pk)',
            }),
          ),
        );
        return true;
      } catch (error) {
        if (conditionFailed(error)) return false;
        throw error;
      }
    },
  };
}
