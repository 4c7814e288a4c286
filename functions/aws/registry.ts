/** The {@link Registry} port over ECR. */
import { DescribeImageScanFindingsCommand, DescribeImagesCommand, ECRClient } from '@aws-sdk/client-ecr';
import type { Registry, ScanFinding } from '../core/ports';
import { sdkOptions } from './clients';
import { edge, errorName } from './edge';

export function awsRegistry(client: ECRClient = new ECRClient(sdkOptions)): Registry {
  return {
    async describeImage(repository, digest) {
      try {
        const out = await edge('ecr:DescribeImages', () => client.send(new DescribeImagesCommand({ repositoryName: repository, imageIds: [{ imageDigest: digest }] })));
        const image = (out.imageDetails ?? []).find((d) => d.imageDigest === digest);
        if (!image) return undefined;
        return { pushedAt: image.imagePushedAt ? image.imagePushedAt.toISOString() : undefined };
      } catch (error) {
        if (errorName(error) === 'ImageNotFoundException' || errorName(error) === 'RepositoryNotFoundException') return undefined;
        throw error;
      }
    },
    async scanFindings(repository, digest) {
      try {
        const findings: ScanFinding[] = [];
        let status = 'NONE';
        let nextToken: string | undefined;
        do {
          const out = await edge('ecr:DescribeImageScanFindings', () =>
            client.send(new DescribeImageScanFindingsCommand({ repositoryName: repository, imageId: { imageDigest: digest }, nextToken })),
          );
          status = out.imageScanStatus?.status ?? status;
          for (const f of out.imageScanFindings?.findings ?? []) findings.push({ name: f.name ?? 'unnamed', severity: f.severity ?? 'UNDEFINED' });
          for (const f of out.imageScanFindings?.enhancedFindings ?? []) findings.push({ name: f.packageVulnerabilityDetails?.vulnerabilityId ?? f.title ?? 'unnamed', severity: f.severity ?? 'UNDEFINED' });
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
