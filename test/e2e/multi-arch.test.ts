/**
 * Multi-architecture pushes on the local runtime: buildx's push of an image index (each platform's image and
 * its attestation by digest, then the index under its tag) reaches the bus as one ECR push event per manifest.
 * Only the tagged index rolls out, once, pinned to the index digest; an index without the platform of the
 * service's task definition (Linux on X86_64 here: the demo's task definition sets no runtimePlatform) is
 * refused by pre-flight and changes nothing. Every end state is read back from the emulator.
 */
import { ECSClient, ListTaskDefinitionsCommand } from '@aws-sdk/client-ecs';
import { describe, expect, it } from 'vitest';
import { readEndState } from '../../infra/local/demo';
import { clientConfig } from '../../infra/local/environment';
import { ecrPushEvent } from '../../infra/local/events';
import type { LocalRuntime } from '../../infra/local/runtime';
import { useLocalRuntime } from './emulator';

const local = useLocalRuntime();

/** Pushes a multi-architecture image and delivers ECR's push event of every manifest, in push order. */
async function pushIndexAndDeliver(rt: LocalRuntime, tag: string, platforms: readonly string[]) {
  const pushed = await rt.env.pushIndex(tag, platforms);
  const deliveries = [];
  for (const m of pushed.manifests) {
    const delivery = await rt.deliver(
      ecrPushEvent({ repository: rt.env.service.repository, digest: m.digest, tag: m.tag, manifestMediaType: m.manifestMediaType, artifactMediaType: m.artifactMediaType }),
    );
    const result = delivery.result as { started?: Array<{ executionArn: string }>; ignored?: string } | undefined;
    deliveries.push({ kind: m.kind, started: (result?.started ?? []).map((s) => s.executionArn.split(':').pop()!), ignored: result?.ignored });
  }
  return { digest: pushed.digest, deliveries };
}

/** The family's registered (ACTIVE) revisions. */
async function revisions(): Promise<string[]> {
  const client = new ECSClient(clientConfig(local.emulator().endpoint));
  try {
    const out = await client.send(new ListTaskDefinitionsCommand({ familyPrefix: 'checkout', status: 'ACTIVE' }));
    return (out.taskDefinitionArns ?? []).map((a) => a.split('/').pop()!);
  } finally {
    client.destroy();
  }
}

describe('a multi-architecture push', () => {
  it('rolls the tagged index out once, pinned to the index digest; its platform images and attestations start nothing', async () => {
    const rt = await local.start();

    const push = await pushIndexAndDeliver(rt, 'v2', ['linux/amd64', 'linux/arm64']);
    const all = await rt.sfn.waitAll();

    const children = push.deliveries.filter((d) => d.kind !== 'index');
    expect(children.map((d) => d.kind)).toEqual(['image', 'attestation', 'image', 'attestation']);
    expect(children.map((d) => d.started)).toEqual([[], [], [], []]);
    for (const d of children) expect(d.ignored).toContain('a manifest pushed without a tag');
    const index = push.deliveries.find((d) => d.kind === 'index')!;
    expect(index.started).toHaveLength(1);
    expect(all.map((e) => [e.name, e.endState])).toEqual([[index.started[0], 'Rollout succeeded']]);
    const end = await readEndState(rt, rt.env.service);
    expect(end).toMatchObject({ outcome: 'SUCCEEDED', weights: { blue: 0, green: 100 }, liveTaskDefinition: 'checkout:2', lockHeld: false });
    expect(end.image).toBe(`${rt.env.initialImage.split('@')[0]}@${push.digest}`);
  });

  it("refuses an index without an image for the service's platform in pre-flight, and changes nothing", async () => {
    const rt = await local.start();

    const push = await pushIndexAndDeliver(rt, 'v2-arm', ['linux/arm64']);
    const all = await rt.sfn.waitAll();

    const index = push.deliveries.find((d) => d.kind === 'index')!;
    expect(all.map((e) => [e.name, e.endState])).toEqual([[index.started[0], 'Rollout refused']]);
    const end = await readEndState(rt, rt.env.service);
    expect(end).toMatchObject({ weights: { blue: 100, green: 0 }, liveTaskDefinition: 'checkout:1', idleTaskDefinition: 'checkout:1', lockHeld: false });
    expect(end.image).toBe(rt.env.initialImage);
    expect(end.history.map((h) => [h.outcome, h.reason])).toEqual([
      [
        'REFUSED',
        `pre-flight failed: image index ${push.digest.slice(0, 19)}… has no image for linux/amd64, the platform the service's task definition runs (it has: linux/arm64; attestations are not images)`,
      ],
    ]);
    expect(await revisions()).toEqual(['checkout:1']);
  });
});
