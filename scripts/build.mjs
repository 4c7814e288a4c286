#!/usr/bin/env node
// Builds what the package ships (the CLI is built by scripts/build-cli.mjs):
//
//   dist/assets/<name>/index.mjs(.map)  each Lambda handler, bundled once as the construct deploys it
//   dist/index.cjs, dist/index.mjs       the construct library (infra/index.ts), for CommonJS and ESM apps
//   dist/rollout.asl.json                the state machine definition the library reads at synth
//   dist/types/**.d.ts                   its declarations (dist/types/package.json says CommonJS, see below)
//
// Then it loads the CommonJS library and checks that every function it deploys has a bundle.
//
// Usage: node scripts/build.mjs
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(ROOT, 'dist');
const started = performance.now();

/** The functions: one per folder of functions/ with a handler.ts (the construct's CUTOVER_FUNCTIONS, checked below). */
const functions = readdirSync(join(ROOT, 'functions'))
  .filter((name) => existsSync(join(ROOT, 'functions', name, 'handler.ts')))
  .sort();

// Only what this script writes is removed: dist/cli belongs to scripts/build-cli.mjs.
for (const part of ['assets', 'types', 'index.cjs', 'index.mjs', 'hooks.cjs', 'hooks.mjs', 'rollout.asl.json']) rmSync(join(DIST, part), { recursive: true, force: true });

// 1. The Lambda bundles, with the options CDK's NodejsFunction turned the construct's `bundling` into:
// `--target=node24` (Runtime.NODEJS_24_X), ESM because @middy/core is ESM-only, a `require` for the bundled
// CommonJS of the AWS SDK, minified, nothing external (the functions run the SDK they were tested with).
// Source maps are always written beside the bundle (`index.mjs.map`, linked, without the sources' text); the
// construct leaves them out of the asset unless its `sourceMaps` prop is on, and then sets
// NODE_OPTIONS=--enable-source-maps.
await build({
  entryPoints: Object.fromEntries(functions.map((name) => [`${name}/index`, join('functions', name, 'handler.ts')])),
  outdir: join(DIST, 'assets'),
  outExtension: { '.js': '.mjs' },
  absWorkingDir: ROOT,
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'esm',
  mainFields: ['module', 'main'],
  banner: { js: "import { createRequire as __cutoverCreateRequire } from 'node:module'; const require = __cutoverCreateRequire(import.meta.url);" },
  minify: true,
  sourcemap: 'linked',
  // File and line are what a stack trace needs; the sources themselves would triple the package's size.
  sourcesContent: false,
  external: [],
  logLevel: 'warning',
});

// 2. The construct library. The sources use extensionless relative imports (bundler resolution); one bundle
// per format keeps them as they are. aws-cdk-lib, constructs and every other package stay external: the app's
// own copies (peer dependencies), so a construct from the app and one from Cutover are the same classes.
// The library finds its files (assets/, rollout.asl.json) with `import.meta.url`; in the CommonJS bundle that
// is the file's own URL, from `__filename`.
const library = {
  entryPoints: [join('infra', 'index.ts')],
  absWorkingDir: ROOT,
  bundle: true,
  platform: 'node',
  target: 'node20',
  packages: 'external',
  sourcemap: false,
  logLevel: 'warning',
};
await Promise.all([
  build({
    ...library,
    format: 'cjs',
    outfile: join(DIST, 'index.cjs'),
    define: { 'import.meta.url': '__cutoverModuleUrl' },
    // The directive first: a banner goes above esbuild's own "use strict", which would then not count.
    banner: { js: "'use strict';\nconst __cutoverModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
  }),
  build({ ...library, format: 'esm', outfile: join(DIST, 'index.mjs') }),
  // `cutover/hooks`: what a hook author's Lambda imports (completeHook, the event's type). Its own entry, so
  // a hook's bundle never pulls in aws-cdk-lib; @aws-sdk/client-sfn stays external (Lambda's runtime has it).
  ...['cjs', 'esm'].map((format) => build({ ...library, entryPoints: [join('functions', 'hook', 'complete-hook.ts')], format, outfile: join(DIST, `hooks.${format === 'cjs' ? 'cjs' : 'mjs'}`) })),
]);
// state-machines/definition.ts reads `./rollout.asl.json` beside itself: beside the bundle, once bundled.
copyFileSync(join(ROOT, 'state-machines', 'rollout.asl.json'), join(DIST, 'rollout.asl.json'));

// 3. Declarations. tsc keeps the sources' extensionless relative imports in the .d.ts files; a consumer on
// `moduleResolution: node16/nodenext` resolves those only in CommonJS files, hence the package.json there.
const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, stdio: 'inherit' });
if (tsc.status !== 0) {
  console.error('build: tsc -p tsconfig.build.json failed');
  process.exit(1);
}
writeFileSync(join(DIST, 'types', 'package.json'), `${JSON.stringify({ type: 'commonjs' }, null, 2)}\n`);

// 4. The library as an app loads it: every function it deploys has a bundle, and nothing else is bundled.
const { CUTOVER_FUNCTIONS } = createRequire(import.meta.url)(join(DIST, 'index.cjs'));
const expected = [...CUTOVER_FUNCTIONS].sort();
if (expected.join() !== functions.join()) {
  console.error(`build: CUTOVER_FUNCTIONS (${expected.join(', ')}) and functions/*/handler.ts (${functions.join(', ')}) differ`);
  process.exit(1);
}

const size = (dir) => readdirSync(dir, { recursive: true }).reduce((sum, f) => sum + (statSync(join(dir, String(f))).isFile() ? statSync(join(dir, String(f))).size : 0), 0);
const mb = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
console.log(
  `build: ${functions.length} function bundles (${mb(size(join(DIST, 'assets')))} with maps), library (cjs ${Math.round(statSync(join(DIST, 'index.cjs')).size / 1024)} KB, esm, types) in ${Math.round(performance.now() - started)} ms`,
);
