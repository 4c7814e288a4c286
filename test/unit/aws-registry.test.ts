/**
 * The ECR adapter against ECR's documented answers, where moto is lenient: moto ignores BatchGetImage's
 * acceptedMediaTypes (ECR may answer an index with one platform's manifest without them), never returns
 * DescribeImages' artifactMediaType, and names a missing image's failure by a made-up tag.
 * @see https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_BatchGetImage.html
 * @see https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_ImageFailure.html
 */
import { BatchGetImageCommand, DescribeImagesCommand, ECRClient, RepositoryNotFoundException } from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { awsRegistry } from '../../functions/aws/registry';
import { ErrorName } from '../../functions/core/errors';
import { MediaType } from '../../functions/core/manifests';

const ecr = mockClient(ECRClient);
afterEach(() => ecr.reset());

const DIGEST = `sha256:${'4b'.repeat(32)}`;
const INDEX = JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OCI_INDEX, manifests: [] });
const registry = () => awsRegistry(new ECRClient({ region: 'us-east-1' }));

describe('awsRegistry.readManifest', () => {
  it('asks for every image and index type, so ECR answers the index itself', async () => {
    ecr.on(BatchGetImageCommand).resolves({
      images: [{ registryId: '123456789012', repositoryName: 'checkout', imageId: { imageDigest: DIGEST, imageTag: 'v2' }, imageManifest: INDEX, imageManifestMediaType: MediaType.OCI_INDEX }],
      failures: [],
    });

    const read = await registry().readManifest('checkout', DIGEST);

    expect(read).toEqual({ mediaType: MediaType.OCI_INDEX, document: INDEX });
    expect(ecr.commandCalls(BatchGetImageCommand)[0]!.args[0].input).toEqual({
      repositoryName: 'checkout',
      imageIds: [{ imageDigest: DIGEST }],
      acceptedMediaTypes: [MediaType.DOCKER_MANIFEST, MediaType.OCI_MANIFEST, MediaType.DOCKER_MANIFEST_LIST, MediaType.OCI_INDEX],
    });
  });

  it("answers undefined for ECR's ImageNotFound failure entry (not an exception) and for a missing repository", async () => {
    ecr.on(BatchGetImageCommand).resolvesOnce({ images: [], failures: [{ imageId: { imageDigest: DIGEST }, failureCode: 'ImageNotFound', failureReason: 'Requested image not found' }] });
    ecr.on(BatchGetImageCommand).rejectsOnce(new RepositoryNotFoundException({ message: 'The repository with name checkout does not exist', $metadata: { httpStatusCode: 400 } }));

    expect(await registry().readManifest('checkout', DIGEST)).toBeUndefined();
    expect(await registry().readManifest('checkout', DIGEST)).toBeUndefined();
  });

  it('says why ECR would not give the manifest for a failure that a retry does not mend', async () => {
    ecr.on(BatchGetImageCommand).resolves({ images: [], failures: [{ imageId: { imageDigest: DIGEST }, failureCode: 'KmsError', failureReason: 'The KMS key is disabled' }] });

    expect(await registry().readManifest('checkout', DIGEST)).toEqual({ unreadable: 'ECR cannot give the manifest: KmsError (The KMS key is disabled)' });
  });

  it('refuses a manifest other than the one asked for (ECR converted it) rather than judging it', async () => {
    const other = `sha256:${'9c'.repeat(32)}`;
    ecr.on(BatchGetImageCommand).resolves({ images: [{ imageId: { imageDigest: other }, imageManifest: '{}', imageManifestMediaType: MediaType.OCI_MANIFEST }], failures: [] });

    expect(await registry().readManifest('checkout', DIGEST)).toEqual({ unreadable: `ECR answered another manifest (${other}) for it` });
  });

  it.each(['UpstreamTooManyRequests', 'UpstreamUnavailable'] as const)('makes the upstream failure %s a transient error the state machine retries', async (failureCode) => {
    ecr.on(BatchGetImageCommand).resolves({ images: [], failures: [{ imageId: { imageDigest: DIGEST }, failureCode, failureReason: 'upstream registry' }] });

    await expect(registry().readManifest('checkout', DIGEST)).rejects.toMatchObject({ name: ErrorName.AwsTransient });
  });
});

describe('awsRegistry.describeImage', () => {
  it('gives the manifest and artifact media types ECR reports with the push time', async () => {
    ecr.on(DescribeImagesCommand).resolves({
      imageDetails: [
        { imageDigest: DIGEST, imagePushedAt: new Date('2026-11-24T10:14:59.123Z'), imageManifestMediaType: MediaType.OCI_MANIFEST, artifactMediaType: 'application/vnd.cncf.notary.signature' },
      ],
    });

    expect(await registry().describeImage('checkout', DIGEST)).toEqual({
      pushedAt: '2026-11-24T10:14:59.123Z',
      manifestMediaType: MediaType.OCI_MANIFEST,
      artifactMediaType: 'application/vnd.cncf.notary.signature',
    });
  });
});
