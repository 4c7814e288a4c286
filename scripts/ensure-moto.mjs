#!/usr/bin/env node
/**
 * The test suite's first check: `moto_server` must be startable (the e2e tests start their own, on loopback),
 * found as the local runtime finds it (infra/local/moto.ts): on PATH, else in the project's `.cutover/venv`.
 * Without it, one line says so and the exit code is 1, instead of every e2e file failing on its own.
 *
 *   node scripts/ensure-moto.mjs      # exit 0, silent, when moto_server is there
 *
 * Plain Node (no tsx): it runs before anything is compiled. It does not install anything; `npm run demo` does.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const executable = (file) => {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** Undefined when moto_server is on PATH or in `<projectDir>/.cutover/venv`; otherwise the one line to print. */
export function motoMissing(env = process.env, projectDir = process.cwd()) {
  const onPath = (env.PATH ?? '').split(delimiter).some((dir) => dir && executable(join(dir, 'moto_server')));
  if (onPath || executable(resolve(projectDir, '.cutover', 'venv', 'bin', 'moto_server'))) return undefined;
  return 'npm test needs moto_server (Python moto[server]==5.2.1) and it is neither on PATH nor in .cutover/venv: run "npm run demo" once (it installs it there when pip can) or "pipx install \'moto[server]==5.2.1\'" (README, "Quick start").';
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const missing = motoMissing();
  if (missing) {
    console.error(missing);
    process.exit(1);
  }
}
