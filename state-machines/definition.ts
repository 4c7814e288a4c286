/**
 * The rollout state machine's definition file and its `${Placeholder}` substitutions. The same file is what
 * CDK deploys (placeholders → function ARNs) and what the local runner executes (placeholders → local
 * functions), so the two never drift.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Absolute path of `state-machines/rollout.asl.json`. */
export const ROLLOUT_DEFINITION_PATH = fileURLToPath(new URL('./rollout.asl.json', import.meta.url));

/** The definition text, placeholders intact. */
export const readRolloutDefinition = (): string => readFileSync(ROLLOUT_DEFINITION_PATH, 'utf8');

/** The `${Name}` placeholders used in a definition, each once, in order of appearance. */
export function placeholders(text: string): string[] {
  return [...new Set([...text.matchAll(/\$\{([A-Za-z0-9]+)\}/g)].map((m) => m[1]!))];
}

/** `CheckSteadyFunctionArn` → `check-steady`: the functions/ folder a placeholder stands for. */
export function functionOfPlaceholder(placeholder: string): string {
  const base = placeholder.replace(/FunctionArn$/, '');
  return base.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

/** `check-steady` → `CheckSteadyFunctionArn`. */
export function placeholderOfFunction(fn: string): string {
  return `${fn
    .split('-')
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join('')}FunctionArn`;
}

/** Replaces every placeholder; throws naming any placeholder without a value. */
export function substitute(text: string, values: Readonly<Record<string, string>>): string {
  const missing = placeholders(text).filter((p) => values[p] === undefined);
  if (missing.length) throw new Error(`no substitution for ${missing.map((m) => `\${${m}}`).join(', ')} in the state machine definition`);
  return text.replace(/\$\{([A-Za-z0-9]+)\}/g, (_, name: string) => values[name]!);
}
