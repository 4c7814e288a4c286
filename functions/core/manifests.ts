/**
 * What a pushed manifest is, and whether the service can run it. A multi-architecture push (Docker buildx,
 * any OCI tool) sends ECR one push per manifest: each platform's image and each attestation by digest, with
 * no tag, then the image index under its tag. Only the tagged index is a rollout, pinned to the index digest
 * (ECS picks the platform's image when it starts a task); the rest is ignored at the start. Artifacts that
 * are not container images (signatures, SBOMs, attestations, Helm charts) are never rolled out.
 * @see https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-eventbridge.html
 * @see https://github.com/opencontainers/image-spec/blob/main/image-index.md
 * @see https://docs.docker.com/build/metadata/attestations/attestation-storage/
 */

/** The manifest and config media types Cutover tells apart. */
export const MediaType = {
  DOCKER_MANIFEST: 'application/vnd.docker.distribution.manifest.v2+json',
  DOCKER_MANIFEST_LIST: 'application/vnd.docker.distribution.manifest.list.v2+json',
  OCI_MANIFEST: 'application/vnd.oci.image.manifest.v1+json',
  OCI_INDEX: 'application/vnd.oci.image.index.v1+json',
  DOCKER_IMAGE_CONFIG: 'application/vnd.docker.container.image.v1+json',
  OCI_IMAGE_CONFIG: 'application/vnd.oci.image.config.v1+json',
} as const;

const IMAGE_MANIFESTS: readonly string[] = [MediaType.DOCKER_MANIFEST, MediaType.OCI_MANIFEST];
const INDEXES: readonly string[] = [MediaType.DOCKER_MANIFEST_LIST, MediaType.OCI_INDEX];
const IMAGE_CONFIGS: readonly string[] = [MediaType.DOCKER_IMAGE_CONFIG, MediaType.OCI_IMAGE_CONFIG];

/**
 * The manifest types a read of a pushed manifest accepts (ECR's BatchGetImage `acceptedMediaTypes`): without
 * the index types ECR may answer with one platform's manifest instead of the index that was pushed.
 */
export const READABLE_MANIFEST_TYPES: readonly string[] = [...IMAGE_MANIFESTS, ...INDEXES];

/** Whether the media type is an image index (OCI) or manifest list (Docker). */
export const isIndex = (mediaType: string | undefined): boolean => mediaType !== undefined && INDEXES.includes(mediaType);

/** An OS and CPU architecture, as image indexes name them (`linux/arm64`). */
export interface Platform {
  readonly os: string;
  readonly architecture: string;
}

export const platformText = (p: Platform): string => `${p.os}/${p.architecture}`;

/**
 * The platform a task definition runs: its `runtimePlatform`, or ECS's default, Linux on X86_64.
 * @see https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html#runtime-platform
 */
export function taskPlatform(definition: { readonly [key: string]: unknown }): Platform {
  const runtime = (definition.runtimePlatform ?? {}) as { cpuArchitecture?: unknown; operatingSystemFamily?: unknown };
  const windows = typeof runtime.operatingSystemFamily === 'string' && runtime.operatingSystemFamily.startsWith('WINDOWS');
  return { os: windows ? 'windows' : 'linux', architecture: runtime.cpuArchitecture === 'ARM64' ? 'arm64' : 'amd64' };
}

/**
 * The tags signing tools give what they attach to an image: `sha256-<hex>.sig`, `.att`, `.sbom` (cosign) and
 * `sha256-<hex>` (the OCI referrers tag scheme). Their manifests can look like images to ECR.
 */
const ATTACHMENT_TAG = /^sha256-[0-9a-f]{64}(?:\.[A-Za-z0-9_.-]+)?$/;

/** What an ECR push event (or ECR's DescribeImages) says about the pushed manifest. */
export interface PushedManifest {
  readonly tag?: string;
  /** `manifest-media-type` (DescribeImages: `imageManifestMediaType`). */
  readonly manifestMediaType?: string;
  /** `artifact-media-type` (DescribeImages: `artifactMediaType`): the config or artifact type. */
  readonly artifactMediaType?: string;
}

/**
 * Why ECR's media types say this is not a container image or an image index, or undefined. An unknown
 * (absent) type passes: older events and some emulators leave them out. An index's artifact type is not
 * judged: its entries are, by {@link indexProblems}.
 */
export function notAnImage(m: Omit<PushedManifest, 'tag'>): string | undefined {
  if (m.manifestMediaType !== undefined && !READABLE_MANIFEST_TYPES.includes(m.manifestMediaType)) {
    return `its manifest type ${m.manifestMediaType} is not a container image or image index`;
  }
  if (isIndex(m.manifestMediaType)) return undefined;
  if (m.artifactMediaType !== undefined && !IMAGE_CONFIGS.includes(m.artifactMediaType)) {
    return `it is an artifact of type ${m.artifactMediaType} (a signature, SBOM, attestation or chart), not a container image`;
  }
  return undefined;
}

/**
 * Why a push is no rollout at all (the start function ignores it), or undefined. A push without a tag is
 * one manifest of a multi-architecture push (a platform's image or an attestation, pushed by digest before
 * the index that names them); its tagged index, or a later tag on the same digest, is the rollout.
 * @example
 * notARollout({ tag: undefined }); // 'a manifest pushed without a tag (…)'
 * notARollout({ tag: 'v1.4.2', manifestMediaType: MediaType.OCI_INDEX }); // undefined: roll it out
 */
export function notARollout(push: PushedManifest): string | undefined {
  if (push.tag === undefined) {
    return 'a manifest pushed without a tag (a platform image or attestation of a multi-architecture push); only a tagged push is a rollout';
  }
  if (ATTACHMENT_TAG.test(push.tag)) return `tag ${push.tag} is a signature, attestation or SBOM attached to another image (the sha256-<digest> tag scheme)`;
  const why = notAnImage(push);
  return why && `tag ${push.tag}: ${why}`;
}

/** One entry of an image index, as far as Cutover reads it. */
interface IndexEntry {
  readonly mediaType?: unknown;
  readonly digest?: unknown;
  readonly artifactType?: unknown;
  readonly platform?: { readonly os?: unknown; readonly architecture?: unknown };
  readonly annotations?: Readonly<Record<string, unknown>>;
}

/**
 * An entry that is a runnable image: an image manifest with a known platform. Attestations (buildx marks
 * them `vnd.docker.reference.type: attestation-manifest`, platform unknown/unknown), artifacts with an
 * `artifactType`, and nested indexes are not.
 */
function imagePlatform(entry: IndexEntry): Platform | undefined {
  if (typeof entry.mediaType !== 'string' || !IMAGE_MANIFESTS.includes(entry.mediaType)) return undefined;
  if (entry.artifactType !== undefined || entry.annotations?.['vnd.docker.reference.type'] !== undefined) return undefined;
  const { os, architecture } = entry.platform ?? {};
  if (typeof os !== 'string' || typeof architecture !== 'string' || os === 'unknown' || architecture === 'unknown') return undefined;
  return { os, architecture };
}

/**
 * The problems of an image index for a service whose tasks run on `platforms`: none when it has an image
 * for each of them (the platform's variant, such as arm64 `v8`, is left to ECS). Nothing else of the index
 * is read, and no image is pulled.
 */
export function indexProblems(digest: string, document: string, platforms: readonly Platform[]): string[] {
  const name = `image index ${digest.slice(0, 19)}…`;
  let index: { manifests?: unknown };
  try {
    index = JSON.parse(document) as { manifests?: unknown };
  } catch {
    return [`${name} is not valid JSON`];
  }
  if (typeof index !== 'object' || index === null || !Array.isArray(index.manifests)) return [`${name} lists no manifests`];
  const offered = (index.manifests as unknown[]).flatMap((e) => (typeof e === 'object' && e !== null ? [imagePlatform(e as IndexEntry)] : [])).filter((p) => p !== undefined);
  const has = offered.map(platformText).filter((p, i, all) => all.indexOf(p) === i);
  return platforms
    .filter((want) => !offered.some((p) => p.os === want.os && p.architecture === want.architecture))
    .map(
      (want) =>
        `${name} has no image for ${platformText(want)}, the platform the service's task definition runs (it has: ${has.length ? has.join(', ') : 'no runnable image'}; attestations are not images)`,
    );
}
