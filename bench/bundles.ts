/**
 * Cold start: each function bundled as the package ships it (scripts/build.mjs runs esbuild once; the
 * construct deploys those files with `Code.fromAsset`), its minified size, its heaviest dependencies (esbuild's metafile), and its cold
 * init time: the time to import the bundle in a fresh `node` process, over several processes.
 *
 * Two variants side by side:
 * - `bundled`: the construct's settings today (`externalModules: []`: the pinned AWS SDK is in the bundle);
 * - `sdk-external`: the same, with `@aws-sdk/*` left out as CDK does by default for Node.js 18+ runtimes,
 *   because the Lambda runtime ships SDK v3. Locally its import loads the SDK from node_modules, as the
 *   runtime loads its own copy from /var/runtime/node_modules.
 *
 * The esbuild options below replicate the construct's; every run checks them against the bundles CDK
 * itself produced (byte for byte), so a change in the construct shows up here instead of drifting.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Metafile } from 'esbuild';
import { summarize, type Summary } from './stats';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Bundle-size target per function, minified. */
export const BUNDLE_TARGET_KB = 250;

/**
 * The bundling of scripts/build.mjs (what dist/assets holds and the construct deploys): node24 (the
 * functions' runtime), ESM, minified, `module,main`, the banner, a linked source map without the sources'
 * text; no externals. Every run compares the result with the asset a synth deploys, byte for byte.
 */
export const CONSTRUCT_BUNDLING = {
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'esm',
  minify: true,
  mainFields: ['module', 'main'],
  banner: { js: "import { createRequire as __cutoverCreateRequire } from 'node:module'; const require = __cutoverCreateRequire(import.meta.url);" },
  sourcemap: 'linked',
  sourcesContent: false,
  external: [] as string[],
} as const;

export type BundleVariant = 'bundled' | 'sdk-external';

export interface BundleFigures {
  readonly bytes: number;
  readonly kb: number;
  readonly underTarget: boolean;
  /** Packages by bytes in the output, heaviest first (top 5). */
  readonly heaviest: ReadonlyArray<{ readonly name: string; readonly kb: number }>;
  /** ms to import the bundle in a fresh node process. */
  readonly importMs: Summary;
  /** ms from spawning that process to its exit (node's own start included). */
  readonly processMs: Summary;
  readonly importError?: string;
}

export interface FunctionBundle {
  readonly fn: string;
  /** Size of the asset a synth of the example app deploys for the function, bytes. */
  readonly cdkAssetBytes?: number;
  /** True if the `bundled` build here is byte-identical to that asset. */
  readonly matchesCdkAsset?: boolean;
  readonly bundled: BundleFigures;
  readonly sdkExternal: BundleFigures;
}

export interface BundlesResult {
  readonly node: string;
  readonly spawns: number;
  /** A bare `node` process importing nothing: the floor of processMs. */
  readonly emptyProcessMs: Summary;
  readonly cdkSynthMs?: number;
  readonly functions: readonly FunctionBundle[];
}

/** Package name of a metafile input path (`node_modules/@smithy/core/dist-es/x.js` → `@smithy/core`), or `cutover` for our code. */
export function packageOf(path: string): string {
  const parts = path.split('node_modules/');
  if (parts.length < 2) return 'cutover (functions/)';
  const rest = parts[parts.length - 1]!.split('/');
  return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
}

/** Bytes in the output per package, heaviest first. */
export function heaviestPackages(metafile: Metafile, top = 5): Array<{ name: string; kb: number }> {
  const totals = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [path, input] of Object.entries(output.inputs)) totals.set(packageOf(path), (totals.get(packageOf(path)) ?? 0) + input.bytesInOutput);
  }
  return [...totals.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, bytes]) => ({ name, kb: Math.round(bytes / 102.4) / 10 }));
}

/** Synthesizes the example app; returns each Cutover function's asset file (the prebuilt bundle as deployed). */
export function synthCdkAssets(outdir: string): { assets: Map<string, string>; ms: number } {
  const t0 = performance.now();
  const out = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'synth-assets.ts'), outdir], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: '1' },
  });
  const ms = performance.now() - t0;
  if (out.status !== 0) throw new Error(`synth with bundling failed:\n${out.stderr.slice(-3000)}`);
  const template = JSON.parse(readFileSync(join(outdir, 'CutoverExample.template.json'), 'utf8')) as { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> };
  const assets = new Map<string, string>();
  for (const r of Object.values(template.Resources)) {
    const description = String(r.Properties?.Description ?? '');
    const key = (r.Properties?.Code as { S3Key?: unknown } | undefined)?.S3Key;
    if (r.Type !== 'AWS::Lambda::Function' || !description.startsWith('Cutover: ') || typeof key !== 'string') continue;
    assets.set(description.slice('Cutover: '.length), join(outdir, `asset.${key.replace(/\.zip$/, '')}`, 'index.mjs'));
  }
  return { assets, ms };
}

/** Bundles one function with the construct's options (plus `external`); returns the file and its metafile. */
export async function bundle(fn: string, variant: BundleVariant, outRoot: string): Promise<{ file: string; metafile: Metafile }> {
  const file = join(outRoot, variant, fn, 'index.mjs');
  mkdirSync(join(outRoot, variant, fn), { recursive: true });
  const result = await build({
    ...CONSTRUCT_BUNDLING,
    mainFields: [...CONSTRUCT_BUNDLING.mainFields],
    external: variant === 'sdk-external' ? ['@aws-sdk/*'] : [],
    entryPoints: [join('functions', fn, 'handler.ts')],
    absWorkingDir: ROOT,
    outfile: file,
    metafile: true,
    logLevel: 'silent',
  });
  return { file, metafile: result.metafile };
}

const IMPORT_SCRIPT = [
  'const t0 = performance.now();',
  'let error;',
  'try { await import(process.argv[1]); } catch (e) { error = String(e && e.message || e).slice(0, 300); }',
  'process.stdout.write(JSON.stringify({ ms: performance.now() - t0, error }));',
].join('\n');

/** Imports `file` in a fresh node process; returns the import time and the whole process's wall time. */
export function coldImport(file: string | undefined): { importMs: number; processMs: number; error?: string } {
  const t0 = performance.now();
  const args = file ? ['--input-type=module', '-e', IMPORT_SCRIPT, file] : ['-e', ''];
  const out = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', env: { PATH: process.env.PATH, AWS_REGION: 'us-east-1' } });
  const processMs = performance.now() - t0;
  if (!file) return { importMs: 0, processMs };
  try {
    const { ms, error } = JSON.parse(out.stdout) as { ms: number; error?: string };
    return { importMs: ms, processMs, error };
  } catch {
    return { importMs: Number.NaN, processMs, error: (out.stderr || out.stdout).slice(0, 300) };
  }
}

export interface BundlesOptions {
  /** Functions to measure. @default every folder the construct bundles (from the synth) */
  readonly functions?: readonly string[];
  /** Fresh processes per bundle. */
  readonly spawns: number;
  /** Compare with the assets a synth deploys (~10 s). @default true */
  readonly checkCdk?: boolean;
}

/** Builds, sizes and cold-imports every function's bundle in both variants. */
export async function runBundles(options: BundlesOptions): Promise<BundlesResult> {
  const outRoot = join(ROOT, 'node_modules', '.cache', 'cutover-bench');
  rmSync(outRoot, { recursive: true, force: true });
  let cdk: { assets: Map<string, string>; ms: number } | undefined;
  const tmp = mkdtempSync(join(tmpdir(), 'cutover-assets-'));
  try {
    if (options.checkCdk ?? true) cdk = synthCdkAssets(tmp);
    const functions = options.functions ?? [...(cdk?.assets.keys() ?? [])];
    if (functions.length === 0) throw new Error('bundles: no function to measure');
    const built = new Map<string, Record<BundleVariant, { file: string; metafile: Metafile }>>();
    for (const fn of functions) built.set(fn, { bundled: await bundle(fn, 'bundled', outRoot), 'sdk-external': await bundle(fn, 'sdk-external', outRoot) });

    // Processes interleaved (bundle A, bundle B, ..., again) so drift of the machine hits all alike.
    const times = new Map<string, Array<{ importMs: number; processMs: number; error?: string }>>();
    const empty: number[] = [];
    for (let n = 0; n < options.spawns; n += 1) {
      empty.push(coldImport(undefined).processMs);
      for (const [fn, variants] of built) {
        for (const variant of ['bundled', 'sdk-external'] as const) {
          const key = `${fn}/${variant}`;
          times.set(key, [...(times.get(key) ?? []), coldImport(variants[variant].file)]);
        }
      }
    }
    const figures = (fn: string, variant: BundleVariant): BundleFigures => {
      const { file, metafile } = built.get(fn)![variant];
      const bytes = statSync(file).size;
      const runs = times.get(`${fn}/${variant}`) ?? [];
      const ok = runs.filter((r) => !r.error);
      return {
        bytes,
        kb: Math.round(bytes / 102.4) / 10,
        underTarget: bytes < BUNDLE_TARGET_KB * 1024,
        heaviest: heaviestPackages(metafile),
        importMs: summarize(
          ok.map((r) => r.importMs),
          1,
        ),
        processMs: summarize(
          ok.map((r) => r.processMs),
          1,
        ),
        importError: runs.find((r) => r.error)?.error,
      };
    };
    const results: FunctionBundle[] = functions.map((fn) => {
      const asset = cdk?.assets.get(fn);
      const mine = readFileSync(built.get(fn)!.bundled.file);
      return {
        fn,
        cdkAssetBytes: asset ? statSync(asset).size : undefined,
        matchesCdkAsset: asset ? Buffer.compare(readFileSync(asset), mine) === 0 : undefined,
        bundled: figures(fn, 'bundled'),
        sdkExternal: figures(fn, 'sdk-external'),
      };
    });
    return { node: process.version, spawns: options.spawns, emptyProcessMs: summarize(empty, 1), cdkSynthMs: cdk ? Math.round(cdk.ms) : undefined, functions: results };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
