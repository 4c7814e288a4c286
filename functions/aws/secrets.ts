/**
 * Secrets from Secrets Manager, cached across warm invocations (5 minutes), so a rotated secret is picked
 * up without a deploy and a busy function does not call Secrets Manager on every request.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { sdkOptions } from './clients';
import { edge } from './edge';

export const SECRET_TTL_MS = 5 * 60 * 1000;

/** A function returning the secret's string value, fetched at most once per TTL. */
export function cachedSecret(secretId: string, client: SecretsManagerClient = new SecretsManagerClient(sdkOptions), now: () => number = Date.now): () => Promise<string> {
  let value: string | undefined;
  let fetchedAt = 0;
  return async () => {
    if (value !== undefined && now() - fetchedAt < SECRET_TTL_MS) return value;
    const out = await edge('secretsmanager:GetSecretValue', () => client.send(new GetSecretValueCommand({ SecretId: secretId })));
    if (!out.SecretString) throw new Error(`secret ${secretId} has no string value`);
    value = out.SecretString;
    fetchedAt = now();
    return value;
  };
}
