/**
 * Where the construct finds its Lambda bundles. `npm run build` (scripts/build.mjs) bundles each
 * `functions/<name>/handler.ts` once into `dist/assets/<name>/index.mjs`; the construct deploys exactly those
 * files with `Code.fromAsset`, so a consumer's app needs neither esbuild nor Docker, and what is deployed is
 * what the tests ran.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The file each bundle directory holds; the function's handler is `index.handler`. */
export const BUNDLE_FILE = 'index.mjs';

/**
 * The bundle directories, in the order they are tried: beside the compiled library (`dist/index.cjs` →
 * `dist/assets/`, the installed package) and the repository's `dist/assets/` (this file run from source, as
 * vitest and the repository's own app do).
 */
export const bundleRoots = (): string[] => [fileURLToPath(new URL('./assets/', import.meta.url)), fileURLToPath(new URL('../dist/assets/', import.meta.url))];

/** Thrown when a function's bundle is not there: the package was not built. */
export class MissingBundleError extends Error {
  constructor(
    readonly functionName: string,
    readonly searched: readonly string[],
  ) {
    super(
      `Cutover: the bundle of the ${functionName} function is missing (looked for ${BUNDLE_FILE} in ${searched.join(', ')}). ` +
        'Run `npm run build` in the Cutover repository to bundle the functions.',
    );
    this.name = 'MissingBundleError';
  }
}

/**
 * The directory that holds the bundle of one function.
 * @throws MissingBundleError when no bundle directory has it.
 */
export function bundleDirectory(functionName: string, roots: readonly string[] = bundleRoots()): string {
  const searched = roots.map((root) => `${root}${functionName}`);
  const found = searched.find((dir) => existsSync(`${dir}/${BUNDLE_FILE}`));
  if (!found) throw new MissingBundleError(functionName, searched);
  return found;
}
