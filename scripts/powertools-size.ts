/**
 * What Powertools (Logger, Metrics and their commons) adds to each function's bundle: every
 * `functions/<name>/handler.ts` bundled as the construct bundles it (esbuild, ESM, minified, node24, the
 * construct's banner, nothing external), once as is and once with `@aws-lambda-powertools/*` replaced by
 * empty stubs. Prints both sizes and the difference, minified and gzipped.
 *
 * @example
 * npx tsx scripts/powertools-size.ts
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build, type Plugin } from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const stubPowertools: Plugin = {
  name: 'stub-powertools',
  setup(b) {
    b.onResolve({ filter: /^@aws-lambda-powertools\// }, (args) => ({ path: args.path, namespace: 'stub' }));
    b.onLoad({ filter: /.*/, namespace: 'stub' }, () => ({
      contents: 'export class Logger{}; export class Metrics{}; export const MetricUnit = {}; export const injectLambdaContext = () => ({}); export const logMetrics = () => ({});',
      loader: 'js',
    }));
  },
};

async function bundle(fn: string, plugins: Plugin[]): Promise<Uint8Array> {
  const out = await build({
    entryPoints: [join(ROOT, 'functions', fn, 'handler.ts')],
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'esm',
    minify: true,
    mainFields: ['module', 'main'],
    banner: { js: "import { createRequire as __cutoverCreateRequire } from 'node:module'; const require = __cutoverCreateRequire(import.meta.url);" },
    write: false,
    absWorkingDir: ROOT,
    logLevel: 'silent',
    plugins,
  });
  return out.outputFiles[0]!.contents;
}

const kb = (bytes: number) => Math.round(bytes / 102.4) / 10;
const functions = readdirSync(join(ROOT, 'functions'))
  .filter((d) => existsSync(join(ROOT, 'functions', d, 'handler.ts')))
  .sort();
const rows = [];
for (const fn of functions) {
  const [withIt, without] = await Promise.all([bundle(fn, []), bundle(fn, [stubPowertools])]);
  rows.push({
    function: fn,
    'bundle KB': kb(withIt.length),
    'without Powertools KB': kb(without.length),
    'Powertools KB': kb(withIt.length - without.length),
    'Powertools KB gzip': kb(gzipSync(withIt).length - gzipSync(without).length),
  });
}
console.table(rows);
