/**
 * `npm run demo` as a newcomer runs it: the output the README's quick start shows is the output they get, and a
 * second run against the same external emulator (`AWS_ENDPOINT_URL`) works as the first did.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateRepositoryCommand, DescribeRepositoriesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientConfig } from '../../infra/local/environment';
import { startEmulator, type Emulator } from '../../infra/local/moto';

const root = join(__dirname, '../..');
const run = promisify(execFile);
const demo = (env: NodeJS.ProcessEnv, ...args: string[]) =>
  run(join(root, 'node_modules/.bin/tsx'), [join(root, 'bin/cutover.ts'), 'demo', ...args], { cwd: root, timeout: 120_000, env: { ...process.env, ...env } }).then(
    (r) => ({ stdout: r.stdout, stderr: r.stderr, code: 0 }),
    (e: { stdout: string; stderr: string; code: number }) => ({ stdout: e.stdout, stderr: e.stderr, code: e.code }),
  );

/** What differs from run to run: elapsed times, how long moto took, ports, digests (and names made of them). */
function normalise(text: string): string[] {
  return text
    .split('\n')
    .map((line) =>
      line
        .replace(/^\s*\+\d+\.\d+s/, '+T')
        .replace(/ready in \d+ ms/, 'ready in N ms')
        .replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:PORT')
        .replace(/sha256:[0-9a-f]{64}/g, 'sha256:DIGEST')
        .replace(/sha256:[0-9a-f]{12}…/g, 'sha256:SHORT…')
        .replace(/checkout-[0-9a-f]{64}/g, 'checkout-DIGEST')
        .trimEnd(),
    )
    .filter((line, i, all) => line !== '' || (i > 0 && i < all.length - 1));
}

/** The first code block after "You see the rollout step by step" in the README's quick start. */
function readmeSample(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const after = readme.slice(readme.indexOf('You see the rollout step by step'));
  const block = /```\n([\s\S]*?)```/.exec(after);
  if (!block) throw new Error('README: no sample output after "You see the rollout step by step"');
  return block[1]!;
}

describe('the README quick start', () => {
  it('shows what `npm run demo` prints, line for line', async () => {
    const { stdout, code } = await demo({ AWS_ENDPOINT_URL: '' });

    expect(code).toBe(0);
    expect(normalise(stdout)).toEqual(normalise(readmeSample()));
  });
});

describe('the demo against an emulator the user runs (AWS_ENDPOINT_URL)', () => {
  let external: Emulator;
  beforeAll(async () => {
    external = await startEmulator({ endpoint: undefined });
  });
  afterAll(async () => {
    await external?.stop();
  });

  it('runs twice in a row, each a full rollout, and leaves what else the emulator holds alone', async () => {
    // Something of the user's on their emulator: it must survive both runs (no reset).
    const ecr = new ECRClient(clientConfig(external.endpoint));
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'someone-elses' }));

    const first = await demo({ AWS_ENDPOINT_URL: external.endpoint }, '--json', '--time-scale', '0.001');
    const second = await demo({ AWS_ENDPOINT_URL: external.endpoint }, '--json', '--time-scale', '0.001');

    const last = (stdout: string) => JSON.parse(stdout.trim().split('\n').pop()!);
    expect(first.code).toBe(0);
    expect(second.code).toBe(0);
    expect(last(first.stdout)).toMatchObject({ outcome: 'SUCCEEDED', weights: { blue: 0, green: 100 }, liveTaskDefinition: 'checkout:2', retainedTaskDefinition: 'checkout:1' });
    // moto keeps counting a family's revisions: the second environment starts on checkout:3.
    expect(last(second.stdout)).toMatchObject({ outcome: 'SUCCEEDED', weights: { blue: 0, green: 100 }, liveTaskDefinition: 'checkout:4', retainedTaskDefinition: 'checkout:3' });
    expect(second.stdout).toContain(`using the emulator at ${external.endpoint} (AWS_ENDPOINT_URL)`);
    expect(second.stdout).not.toContain('starting moto_server');
    const repos = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['someone-elses'] }));
    expect(repos.repositories?.map((r) => r.repositoryName)).toEqual(['someone-elses']);
    ecr.destroy();
  });

  it('is never reset by the local runtime: reset() on an emulator it did not start is refused', async () => {
    const adopted = await startEmulator({ endpoint: external.endpoint });

    await expect(adopted.reset()).rejects.toThrow(/refusing to reset the emulator at http:\/\/127\.0\.0\.1:\d+: this process did not start it/);
    expect(adopted.owned).toBe(false);
  });
});
