/**
 * The long run of the interleaving test: thousands of seeds, split into shards that run side by side (each
 * a `vitest run` of `test/interleaving`, which owns the fake timers), then one line of totals for the
 * README: how many schedules and events were checked, and every seed that broke an invariant.
 *
 * @example
 * npx tsx scripts/interleavings.ts --seeds 5000 --workers 2
 * npx tsx scripts/interleavings.ts --seeds 1000 --from 20001
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Totals } from '../test/interleaving/seeds';
import { replayCommand } from '../test/interleaving/seeds';

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  const value = index >= 0 ? Number(process.argv[index + 1]) : fallback;
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer`);
  return value;
}

/** Runs seeds [from, from + count) in one vitest process; resolves with its totals. */
function shard(from: number, count: number, report: string): Promise<Totals> {
  return new Promise((resolve, reject) => {
    const child = spawn('npx', ['vitest', 'run', 'test/interleaving', '--reporter=dot', '--maxWorkers=1'], {
      env: { ...process.env, INTERLEAVING_FIRST_SEED: String(from), INTERLEAVING_SEEDS: String(count), INTERLEAVING_REPORT: report },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    // vitest's own account of failing seeds goes to stderr; the totals say the same in one line each.
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-20_000)));
    child.on('error', reject);
    child.on('exit', () => {
      try {
        resolve(JSON.parse(readFileSync(report, 'utf8')) as Totals);
      } catch (error) {
        reject(new Error(`the shard of seeds ${from}..${from + count - 1} wrote no report:\n${stderr}`, { cause: error }));
      }
    });
  });
}

async function main(): Promise<void> {
  const seeds = option('seeds', 2000);
  const from = option('from', 1);
  const workers = Math.min(option('workers', 2), seeds);
  const dir = mkdtempSync(join(tmpdir(), 'interleavings-'));
  const started = performance.now();
  const size = Math.ceil(seeds / workers);
  try {
    const shards = await Promise.all(
      Array.from({ length: workers }, (_, i) => {
        const first = from + i * size;
        return shard(first, Math.min(size, from + seeds - first), join(dir, `shard-${i}.json`));
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const sum = (key: keyof Omit<Totals, 'failing' | 'longest'>) => shards.reduce((total, s) => total + s[key], 0);
    const failing = shards.flatMap((s) => s.failing).sort((a, b) => a.seed - b.seed);
    console.log(
      `${sum('seeds')} schedules, ${sum('events')} scheduled events (${sum('injected')} happened), ${sum('executions')} executions, ` +
        `${sum('invocations')} function invocations, ${sum('calls')} AWS calls, ${sum('faults')} injected crashes, ` +
        `${Math.round(sum('virtualMs') / 3_600_000)} h of virtual time, in ${seconds.toFixed(0)} s on ${workers} workers ` +
        `(${Math.round((sum('seeds') / seconds) * 60)} schedules per minute); ${failing.length} broke an invariant`,
    );
    const byInvariant = new Map<string, number>();
    for (const f of failing) byInvariant.set(f.invariant, (byInvariant.get(f.invariant) ?? 0) + 1);
    for (const [invariant, count] of byInvariant) console.log(`  ${invariant}: ${count} seeds`);
    const longest = shards
      .flatMap((s) => s.longest)
      .sort((a, b) => b.virtualMs - a.virtualMs)
      .slice(0, 5);
    console.log(`  longest in virtual time: ${longest.map((l) => `seed ${l.seed} ${(l.virtualMs / 3_600_000).toFixed(1)} h`).join(', ')}`);
    for (const f of failing.slice(0, 50)) console.log(`  seed ${f.seed}: ${f.invariant}: ${f.detail.slice(0, 220)}\n    ${replayCommand(f.seed)}`);
    process.exitCode = failing.length ? 1 : 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
