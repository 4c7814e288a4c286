/** The {@link Registry} port over ECR. */
import { BatchGetImageCommand, DescribeImageScanFindingsCommand, DescribeImagesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { AwsTransientError } from '../core/errors';
import { READABLE_MANIFEST_TYPES } from '../core/manifests';
import type { Registry, ScanFinding } from '../core/ports';
import { sdkOptions } from './clients';
import { edge, errorName } from './edge';

/**
 * BatchGetImage failure codes that a later retry may not meet (the upstream registry of a pull-through cache).
 * @see https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_ImageFailure.html
 */
const TRANSIENT_FAILURES = new Set(['UpstreamTooManyRequests', 'UpstreamUnavailable']);

export function awsRegistry(client: ECRClient = new ECRClient(sdkOptions)): Registry {
  return {
    async describeImage(repository, digest) {
      try {
        const out = await edge('ecr:DescribeImages', () => client.send(new DescribeImagesCommand({ repositoryName: repository, imageIds: [{ imageDigest: digest }] })));
        const image = (out.imageDetails ?? []).find((d) => d.imageDigest === digest);
        if (!image) return undefined;
        return {
          pushedAt: image.imagePushedAt ? image.imagePushedAt.toISOString() : undefined,
          manifestMediaType: image.imageManifestMediaType,
          artifactMediaType: image.artifactMediaType,
        };
      } catch (error) {
        if (errorName(error) === 'ImageNotFoundException' || errorName(error) === 'RepositoryNotFoundException') return undefined;
        throw error;
      }
    },
    // ECR answers a missing image as a failure entry, not an exception. Without acceptedMediaTypes it may
    // answer an index with one platform's manifest (or a failure): every manifest type is accepted.
    // @see https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_BatchGetImage.html
    async readManifest(repository, digest) {
      try {
        const out = await edge('ecr:BatchGetImage', () =>
          client.send(new BatchGetImageCommand({ repositoryName: repository, imageIds: [{ imageDigest: digest }], acceptedMediaTypes: [...READABLE_MANIFEST_TYPES] })),
        );
        const image = (out?.images ?? []).find((i) => i.imageId?.imageDigest === digest && i.imageManifest !== undefined);
        if (image) return { mediaType: image.imageManifestMediaType, document: image.imageManifest! };
        const other = (out?.images ?? [])[0]?.imageId?.imageDigest;
        if (other) return { unreadable: `ECR answered another manifest (${other}) for it` };
        const failure = (out?.failures ?? [])[0];
        if (!failure || failure.failureCode === 'ImageNotFound') return undefined;
        const why = `${failure.failureCode ?? 'failure'}${failure.failureReason ? ` (${failure.failureReason})` : ''}`;
        if (TRANSIENT_FAILURES.has(failure.failureCode ?? '')) throw new AwsTransientError(`ecr:BatchGetImage failed transiently (${why}); safe to retry`);
        return { unreadable: `ECR cannot give the manifest: ${why}` };
      } catch (error) {
        if (errorName(error) === 'RepositoryNotFoundException') return undefined;
        throw error;
      }
    },
    async scanFindings(repository, digest) {
      try {
        const findings: ScanFinding[] = [];
        let status = 'NONE';
        let nextToken: string | undefined;
        do {
          const out = await edge('ecr:DescribeImageScanFindings', () => client.send(new DescribeImageScanFindingsCommand({ repositoryName: repository, imageId: { imageDigest: digest }, nextToken })));
          status = out.imageScanStatus?.status ?? status;
          for (const f of out.imageScanFindings?.findings ?? []) findings.push({ name: f.name ?? 'unnamed', severity: f.severity ?? 'UNDEFINED' });
          for (const f of out.imageScanFindings?.enhancedFindings ?? [])
            findings.push({ name: f.packageVulnerabilityDetails?.vulnerabilityId ?? f.title ?? 'unnamed', severity: f.severity ?? 'UNDEFINED' });
          nextToken = out.nextToken;
        } while (nextToken);
        return { status, findings };
      } catch (error) {
        if (errorName(error) === 'ScanNotFoundException') return { status: 'NONE', findings: [] };
        throw error;
      }
    },
  };
}
