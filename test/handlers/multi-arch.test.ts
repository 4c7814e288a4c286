/**
 * Multi-architecture pushes and artifacts over the real ECR adapter, with ECR's answers as AWS documents
 * them (aws-sdk-client-mock): what moto leaves out (DescribeImages' artifactMediaType, the acceptedMediaTypes
 * BatchGetImage needs for an index) is given here. One push per manifest reaches start; only the tagged
 * index starts a rollout, and pre-flight refuses an index without the live task definition's platform
 * before it takes the lock, changing nothing.
 * @see https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-eventbridge.html
 */
import { BatchGetImageCommand, DescribeImagesCommand } from '@aws-sdk/client-ecr';
import { DescribeTaskDefinitionCommand, RegisterTaskDefinitionCommand, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { ModifyListenerCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { servicesFromEnv, type ServiceConfig } from '../../functions/core/config';
import { ErrorName } from '../../functions/core/errors';
import { MediaType } from '../../functions/core/manifests';
import { executionName } from '../../functions/core/rollout';
import { createHandler as createPrepare } from '../../functions/prepare/handler';
import { createHandler as createStart } from '../../functions/start/handler';
import { loadEvent, type MutableEvent } from '../fixtures/aws-events';
import { describedTaskDefinition } from '../fixtures/ecs';
import { DIGEST, PUSHED_AT, RETAINED_TD, ROLLOUT_ID, rolloutInput, serviceInput } from '../fixtures/state';
import { LAMBDA_CONTEXT, aws, givenHealthyEnvironment, givenLockTable, historyWrites, lockAcquires, realDeps, resetAws, totalAwsCalls, type LockTable } from './harness';

const EXECUTION_PREFIX = 'arn:aws:states:us-east-1:123456789012:execution:cutover-rollout';
const child = (n: number) => `sha256:${String(n).repeat(64)}`;

let services: ServiceConfig[];
let lock: LockTable;

beforeEach(() => {
  resetAws();
  services = servicesFromEnv(JSON.stringify([serviceInput()]));
  aws.sfn.on(StartExecutionCommand).callsFake((input: { name: string }) => ({ executionArn: `${EXECUTION_PREFIX}:${input.name}`, startDate: new Date() }));
});

/** ECR's push event for one manifest of a push (the sample repository). */
function pushOf(detail: { digest: string; tag?: string; manifest: string; artifact?: string }): MutableEvent {
  const event = loadEvent('ecr-push');
  event.detail['image-digest'] = detail.digest;
  if (detail.tag === undefined) delete event.detail['image-tag'];
  else event.detail['image-tag'] = detail.tag;
  event.detail['manifest-media-type'] = detail.manifest;
  if (detail.artifact === undefined) delete event.detail['artifact-media-type'];
  else event.detail['artifact-media-type'] = detail.artifact;
  return event;
}

const start = (event: unknown) => {
  const { executions, registry, log, requestLedger, clock, store } = realDeps();
  return createStart(() => ({ services, executions, registry, log, requestLedger, clock, store }))(event, LAMBDA_CONTEXT);
};

describe('start: one push per manifest, one rollout per multi-architecture image', () => {
  it('starts nothing for the platform images and attestations buildx pushes by digest, and one rollout for the tagged index', async () => {
    // The order buildx pushes in: each platform's image and attestation (no tag), then the index under its tag.
    const children = [child(1), child(2), child(5), child(6)].map((digest) => pushOf({ digest, manifest: MediaType.OCI_MANIFEST, artifact: MediaType.OCI_IMAGE_CONFIG }));

    const ignored = [];
    for (const event of children) ignored.push(await start(event));
    const callsForChildren = totalAwsCalls();
    const index = await start(pushOf({ digest: DIGEST, tag: 'v1.4.2', manifest: MediaType.OCI_INDEX }));

    expect(ignored.map((r) => r.started)).toEqual([[], [], [], []]);
    expect(ignored.map((r) => r.ignored)).toEqual(Array(4).fill(expect.stringContaining('a manifest pushed without a tag')));
    expect(callsForChildren).toBe(0);
    expect(index.started).toEqual([{ service: 'checkout', executionArn: `${EXECUTION_PREFIX}:${executionName('checkout', DIGEST)}` }]);
    expect(aws.sfn.commandCalls(StartExecutionCommand).map((c) => c.args[0].input.name)).toEqual([ROLLOUT_ID]);
  });

  it.each([
    [
      'a Notation signature',
      { digest: DIGEST, tag: 'v1.4.2-signature', manifest: MediaType.OCI_MANIFEST, artifact: 'application/vnd.cncf.notary.signature' },
      'artifact of type application/vnd.cncf.notary.signature',
    ],
    [
      'a cosign signature under its sha256- tag',
      { digest: DIGEST, tag: `sha256-${child(3).slice(7)}.sig`, manifest: MediaType.OCI_MANIFEST, artifact: MediaType.OCI_IMAGE_CONFIG },
      'is a signature, attestation or SBOM',
    ],
    [
      'a Helm chart',
      { digest: DIGEST, tag: '1.4.2', manifest: MediaType.OCI_MANIFEST, artifact: 'application/vnd.cncf.helm.config.v1+json' },
      'artifact of type application/vnd.cncf.helm.config.v1+json',
    ],
  ])('starts nothing for %s, saying why, without an AWS call', async (_name, detail, reason) => {
    const result = await start(pushOf(detail));

    expect(result).toEqual({ started: [], duplicates: [], ignored: expect.stringContaining(reason) });
    expect(totalAwsCalls()).toBe(0);
  });
});

describe('prepare: what ECR holds under the pushed digest', () => {
  const prepare = (input: unknown) => createPrepare(() => realDeps())(input, LAMBDA_CONTEXT);

  /** A buildx index: an image per platform, each with its provenance attestation (platform unknown/unknown). */
  function givenIndex(platforms: readonly string[]): void {
    aws.ecr.on(DescribeImagesCommand).resolves({ imageDetails: [{ imageDigest: DIGEST, imagePushedAt: new Date(PUSHED_AT), imageManifestMediaType: MediaType.OCI_INDEX }] });
    const images = platforms.map((p, i) => ({ mediaType: MediaType.OCI_MANIFEST, digest: child(i + 1), size: 673, platform: { os: p.split('/')[0], architecture: p.split('/')[1] } }));
    const attestations = images.map((image, i) => ({
      mediaType: MediaType.OCI_MANIFEST,
      digest: child(i + 5),
      size: 566,
      annotations: { 'vnd.docker.reference.digest': image.digest, 'vnd.docker.reference.type': 'attestation-manifest' },
      platform: { os: 'unknown', architecture: 'unknown' },
    }));
    const document = JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OCI_INDEX, manifests: [...images, ...attestations] });
    // ECR answers an index only to a request that accepts index types.
    aws.ecr
      .on(BatchGetImageCommand)
      .callsFake((input: { acceptedMediaTypes?: string[] }) =>
        input.acceptedMediaTypes?.includes(MediaType.OCI_INDEX)
          ? { images: [{ imageId: { imageDigest: DIGEST, imageTag: 'v1.4.2' }, imageManifest: document, imageManifestMediaType: MediaType.OCI_INDEX }], failures: [] }
          : { images: [], failures: [{ imageId: { imageDigest: DIGEST }, failureCode: 'ImageNotFound', failureReason: 'Requested image not found' }] },
      );
  }

  beforeEach(() => {
    aws.dynamo.on(UpdateCommand).resolves({});
    lock = givenLockTable(undefined);
    givenHealthyEnvironment(); // blue is live on checkout:7, whose runtimePlatform is ARM64
  });

  it("rolls out an index that has an image for the live task definition's platform (arm64), ignoring its attestations", async () => {
    givenIndex(['linux/amd64', 'linux/arm64']);

    const live = await prepare(rolloutInput());

    expect(live).toMatchObject({ liveSlot: 'blue', idleSlot: 'green', retainedTaskDefinitionArn: RETAINED_TD });
    expect(lock.item).toMatchObject({ rolloutId: ROLLOUT_ID, generation: 1 });
  });

  it('refuses an index without the platform before it takes the lock, and changes nothing', async () => {
    givenIndex(['linux/amd64', 'linux/s390x']);

    const attempt = prepare(rolloutInput());

    const problems = [
      `image index ${DIGEST.slice(0, 19)}… has no image for linux/arm64, the platform the service's task definition runs (it has: linux/amd64, linux/s390x; attestations are not images)`,
    ];
    await expect(attempt).rejects.toMatchObject({ name: ErrorName.PreflightFailed, problems });
    expect(historyWrites()).toEqual([expect.objectContaining({ fields: expect.objectContaining({ outcome: 'REFUSED', reason: `pre-flight failed: ${problems[0]}` }) })]);
    expect(lockAcquires()).toEqual([]);
    expect(lock.item).toBeUndefined();
    expect(aws.elb).toHaveReceivedCommandTimes(ModifyListenerCommand, 0);
    expect(aws.ecs).toHaveReceivedCommandTimes(UpdateServiceCommand, 0);
    expect(aws.ecs).toHaveReceivedCommandTimes(RegisterTaskDefinitionCommand, 0);
  });

  it('reads the platform of an X86_64 task definition as amd64', async () => {
    givenIndex(['linux/amd64']);
    const x86 = { ...describedTaskDefinition(7), runtimePlatform: { cpuArchitecture: 'X86_64' as const, operatingSystemFamily: 'LINUX' as const } };
    aws.ecs.on(DescribeTaskDefinitionCommand, { taskDefinition: RETAINED_TD }).resolves({ taskDefinition: x86, tags: [] });

    await expect(prepare(rolloutInput())).resolves.toMatchObject({ liveSlot: 'blue' });
  });

  it("refuses an artifact ECR describes (DescribeImages' artifactMediaType) before it takes the lock or reads the service", async () => {
    aws.ecr.on(DescribeImagesCommand).resolves({
      imageDetails: [{ imageDigest: DIGEST, imagePushedAt: new Date(PUSHED_AT), imageManifestMediaType: MediaType.OCI_MANIFEST, artifactMediaType: 'application/spdx+json' }],
    });

    await expect(prepare(rolloutInput())).rejects.toMatchObject({
      name: ErrorName.PreflightFailed,
      problems: [`image ${DIGEST.slice(0, 19)}… is not rolled out: it is an artifact of type application/spdx+json (a signature, SBOM, attestation or chart), not a container image`],
    });
    expect(lock.item).toBeUndefined();
    expect(aws.ecs.calls()).toHaveLength(0);
    expect(aws.elb.calls()).toHaveLength(0);
    expect(aws.ecr).toHaveReceivedCommandTimes(BatchGetImageCommand, 0);
  });

  it('reads no manifest for a single image: its platform is left to ECS', async () => {
    aws.ecr.on(DescribeImagesCommand).resolves({
      imageDetails: [{ imageDigest: DIGEST, imagePushedAt: new Date(PUSHED_AT), imageManifestMediaType: MediaType.DOCKER_MANIFEST, artifactMediaType: MediaType.DOCKER_IMAGE_CONFIG }],
    });

    await expect(prepare(rolloutInput())).resolves.toMatchObject({ liveSlot: 'blue' });
    expect(aws.ecr).toHaveReceivedCommandTimes(BatchGetImageCommand, 0);
  });
});
