/** Which pushes are rollouts, and whether an image index has an image for the service's platform. */
import { describe, expect, it } from 'vitest';
import { indexProblems, MediaType, notAnImage, notARollout, taskPlatform, type Platform, type PushedManifest } from '../../functions/core/manifests';

const DIGEST = `sha256:${'4b'.repeat(32)}`;
const child = (n: number) => `sha256:${String(n).repeat(64)}`;
const AMD64: Platform = { os: 'linux', architecture: 'amd64' };
const ARM64: Platform = { os: 'linux', architecture: 'arm64' };

/** An image index as Docker buildx pushes it: one image per platform, then one provenance attestation each. */
function buildxIndex(platforms: readonly string[], mediaType: string = MediaType.OCI_INDEX, entryType: string = MediaType.OCI_MANIFEST): string {
  const images = platforms.map((p, i) => ({
    mediaType: entryType,
    digest: child(i + 1),
    size: 673,
    platform: { architecture: p.split('/')[1], os: p.split('/')[0], ...(p.endsWith('arm64') ? { variant: 'v8' } : {}) },
  }));
  const attestations = images.map((image, i) => ({
    mediaType: MediaType.OCI_MANIFEST,
    digest: child(i + 5),
    size: 566,
    annotations: { 'vnd.docker.reference.digest': image.digest, 'vnd.docker.reference.type': 'attestation-manifest' },
    platform: { architecture: 'unknown', os: 'unknown' },
  }));
  return JSON.stringify({ schemaVersion: 2, mediaType, manifests: [...images, ...(mediaType === MediaType.OCI_INDEX ? attestations : [])] });
}

describe('notARollout: which pushes start nothing', () => {
  it.each<[string, PushedManifest]>([
    ['a Docker image under a tag', { tag: 'v1.4.2', manifestMediaType: MediaType.DOCKER_MANIFEST, artifactMediaType: MediaType.DOCKER_IMAGE_CONFIG }],
    ['an OCI image under a tag', { tag: 'v1.4.2', manifestMediaType: MediaType.OCI_MANIFEST, artifactMediaType: MediaType.OCI_IMAGE_CONFIG }],
    ['an OCI image index under a tag', { tag: 'v1.4.2', manifestMediaType: MediaType.OCI_INDEX }],
    ['a Docker manifest list under a tag', { tag: 'v1.4.2', manifestMediaType: MediaType.DOCKER_MANIFEST_LIST }],
    ['an index whatever artifact type ECR gives it', { tag: 'v1.4.2', manifestMediaType: MediaType.OCI_INDEX, artifactMediaType: 'application/vnd.oci.empty.v1+json' }],
    ['a tagged push without media types (older events)', { tag: 'v1.4.2' }],
  ])('rolls out %s', (_name, push) => {
    expect(notARollout(push)).toBeUndefined();
  });

  it.each<[string, PushedManifest, string]>([
    [
      'a platform image of a multi-architecture push (by digest, no tag)',
      { manifestMediaType: MediaType.OCI_MANIFEST, artifactMediaType: MediaType.OCI_IMAGE_CONFIG },
      'a manifest pushed without a tag',
    ],
    ['an untagged index', { manifestMediaType: MediaType.OCI_INDEX }, 'a manifest pushed without a tag'],
    [
      'a cosign signature',
      { tag: `sha256-${'ab'.repeat(32)}.sig`, manifestMediaType: MediaType.OCI_MANIFEST, artifactMediaType: MediaType.OCI_IMAGE_CONFIG },
      'is a signature, attestation or SBOM attached to another image',
    ],
    ['a cosign SBOM', { tag: `sha256-${'ab'.repeat(32)}.sbom` }, 'is a signature, attestation or SBOM attached to another image'],
    ['an OCI referrers fallback tag', { tag: `sha256-${'ab'.repeat(32)}`, manifestMediaType: MediaType.OCI_INDEX }, 'is a signature, attestation or SBOM attached to another image'],
    [
      'a Notation signature',
      { tag: 'v1.4.2-sig', manifestMediaType: MediaType.OCI_MANIFEST, artifactMediaType: 'application/vnd.cncf.notary.signature' },
      'it is an artifact of type application/vnd.cncf.notary.signature',
    ],
    [
      'a Helm chart',
      { tag: '1.4.2', manifestMediaType: MediaType.OCI_MANIFEST, artifactMediaType: 'application/vnd.cncf.helm.config.v1+json' },
      'it is an artifact of type application/vnd.cncf.helm.config.v1+json',
    ],
    [
      'a Docker schema 1 manifest',
      { tag: 'v1', manifestMediaType: 'application/vnd.docker.distribution.manifest.v1+prettyjws' },
      'its manifest type application/vnd.docker.distribution.manifest.v1+prettyjws is not a container image or image index',
    ],
  ])('ignores %s, saying why', (_name, push, reason) => {
    expect(notARollout(push)).toContain(reason);
  });

  it("judges ECR's own description of an image the same way (pre-flight)", () => {
    expect(notAnImage({ manifestMediaType: MediaType.OCI_MANIFEST, artifactMediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json' })).toContain(
      'an artifact of type application/vnd.dev.sigstore.bundle.v0.3+json',
    );
    expect(notAnImage({ manifestMediaType: MediaType.DOCKER_MANIFEST, artifactMediaType: MediaType.DOCKER_IMAGE_CONFIG })).toBeUndefined();
  });
});

describe('taskPlatform', () => {
  it.each<[string, Record<string, unknown>, Platform]>([
    ['no runtimePlatform (ECS: Linux on X86_64)', {}, AMD64],
    ['X86_64', { runtimePlatform: { cpuArchitecture: 'X86_64', operatingSystemFamily: 'LINUX' } }, AMD64],
    ['ARM64', { runtimePlatform: { cpuArchitecture: 'ARM64', operatingSystemFamily: 'LINUX' } }, ARM64],
    ['ARM64 without an OS family', { runtimePlatform: { cpuArchitecture: 'ARM64' } }, ARM64],
    ['Windows Server', { runtimePlatform: { cpuArchitecture: 'X86_64', operatingSystemFamily: 'WINDOWS_SERVER_2022_CORE' } }, { os: 'windows', architecture: 'amd64' }],
  ])('reads %s', (_name, definition, platform) => {
    expect(taskPlatform(definition)).toEqual(platform);
  });
});

describe('indexProblems', () => {
  it.each<[string, string, readonly Platform[]]>([
    ["a buildx index with the service's amd64 image", buildxIndex(['linux/amd64', 'linux/arm64']), [AMD64]],
    ["a buildx index with the service's arm64 image (variant v8)", buildxIndex(['linux/amd64', 'linux/arm64']), [ARM64]],
    ['a Docker manifest list', buildxIndex(['linux/amd64', 'linux/arm64'], MediaType.DOCKER_MANIFEST_LIST, MediaType.DOCKER_MANIFEST), [ARM64]],
    ['an index for a service whose platform cannot be read (pre-flight refuses that itself)', buildxIndex(['linux/arm64']), []],
  ])('passes %s', (_name, document, platforms) => {
    expect(indexProblems(DIGEST, document, platforms)).toEqual([]);
  });

  it("refuses an index without the service's platform, naming the platforms it has and not counting attestations", () => {
    expect(indexProblems(DIGEST, buildxIndex(['linux/arm64', 'linux/s390x']), [AMD64])).toEqual([
      `image index ${DIGEST.slice(0, 19)}… has no image for linux/amd64, the platform the service's task definition runs (it has: linux/arm64, linux/s390x; attestations are not images)`,
    ]);
  });

  it('refuses an index whose only amd64-looking entries are attestations or artifacts', () => {
    const document = JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OCI_INDEX,
      manifests: [
        { mediaType: MediaType.OCI_MANIFEST, digest: child(1), size: 566, platform: { architecture: 'unknown', os: 'unknown' }, annotations: { 'vnd.docker.reference.type': 'attestation-manifest' } },
        { mediaType: MediaType.OCI_MANIFEST, digest: child(2), size: 566, artifactType: 'application/spdx+json', platform: { architecture: 'amd64', os: 'linux' } },
        { mediaType: MediaType.OCI_MANIFEST, digest: child(3), size: 566, annotations: { 'vnd.docker.reference.type': 'attestation-manifest' }, platform: { architecture: 'amd64', os: 'linux' } },
        { mediaType: MediaType.OCI_INDEX, digest: child(4), size: 900, platform: { architecture: 'amd64', os: 'linux' } },
      ],
    });

    expect(indexProblems(DIGEST, document, [AMD64])).toEqual([expect.stringContaining("has no image for linux/amd64, the platform the service's task definition runs (it has: no runnable image;")]);
  });

  it('refuses a Windows service an index of Linux images', () => {
    expect(indexProblems(DIGEST, buildxIndex(['linux/amd64']), [{ os: 'windows', architecture: 'amd64' }])).toEqual([expect.stringContaining('has no image for windows/amd64')]);
  });

  it.each([
    ['not JSON', '{"manifests": [', 'is not valid JSON'],
    ['without manifests', JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OCI_INDEX }), 'lists no manifests'],
    ['null', 'null', 'lists no manifests'],
  ])('refuses an index document that is %s', (_name, document, problem) => {
    expect(indexProblems(DIGEST, document, [AMD64])).toEqual([`image index ${DIGEST.slice(0, 19)}… ${problem}`]);
  });
});
