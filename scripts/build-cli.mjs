#!/usr/bin/env node
/**
 * Builds the CLI: `bin/cutover.ts` → `dist/cli/cutover.mjs` (ESM, `#!/usr/bin/env node`), with every
 * dependency bundled in, so an installed package runs it with `node` alone (no tsx, no devDependencies).
 * Code splitting keeps each command's module in its own chunk, loaded by the dynamic `import()` of the
 * command that runs: `--help` loads the entry and commander only; the AWS commands the SDK clients they
 * use; only `demo` and `local` (and `--local`) load the local runtime (aws-local-stepfunctions included).
 *
 * Usage: node scripts/build-cli.mjs [--outdir dist/cli] [--metafile]
 */
import { build } from 'esbuild';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const outdir = resolve(root, args.includes('--outdir') ? args[args.indexOf('--outdir') + 1] : 'dist/cli');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: { cutover: 'bin/cutover.ts' },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outExtension: { '.js': '.mjs' },
  // Flat: the definition file sits beside every chunk (`new URL('./rollout.asl.json', import.meta.url)`).
  chunkNames: 'chunk-[hash]',
  define: { CUTOVER_VERSION: JSON.stringify(pkg.version) },
  // CommonJS dependencies bundled into ESM still call require() for Node's built-ins.
  banner: { js: "import { createRequire as __cutoverRequire } from 'node:module'; const require = __cutoverRequire(import.meta.url);" },
  // `aws-cdk-lib` is the construct's, never the CLI's; nothing the CLI loads may reach it.
  external: ['aws-cdk-lib', 'constructs'],
  legalComments: 'none',
  sourcemap: false,
  minify: true,
  metafile: true,
  logLevel: 'warning',
});
// The state machine definition the local runner executes and status reads its result keys from.
copyFileSync(join(root, 'state-machines/rollout.asl.json'), join(outdir, 'rollout.asl.json'));
const entry = join(outdir, 'cutover.mjs');
writeFileSync(entry, `#!/usr/bin/env node\n${readFileSync(entry, 'utf8').replace(/^#!.*\n/, '')}`);
chmodSync(entry, 0o755);
if (args.includes('--metafile')) writeFileSync(join(outdir, 'meta.json'), JSON.stringify(result.metafile));
const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
console.log(`built ${relative(process.cwd(), entry)} and ${Object.keys(result.metafile.outputs).length - 1} chunks, ${(bytes / 1e6).toFixed(1)} MB`);
