/**
 * Generates the README's state-machine picture (Mermaid) from `state-machines/rollout.asl.json`, so the
 * picture never drifts from the definition. `npx tsx scripts/diagram.ts --write` updates README.md between
 * its `<!-- state-machine:begin -->` / `<!-- state-machine:end -->` markers; without `--write` it prints.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { readRolloutDefinition } from '../state-machines/definition';

interface State {
  Type: string;
  Next?: string;
  Default?: string;
  Choices?: Array<{ Next: string; Variable?: string; StringEquals?: string; NumericLessThanPath?: string }>;
  Catch?: Array<{ ErrorEquals: string[]; Next: string }>;
}

const id = (name: string) => name.replace(/[^A-Za-z0-9]/g, '_');

/** The Mermaid flowchart of a definition: one node per state, one edge per transition, catches dashed. */
export function mermaid(definition: { StartAt: string; States: Record<string, State> }): string {
  const lines = ['flowchart TD', `  start((start)) --> ${id(definition.StartAt)}`];
  for (const [name, s] of Object.entries(definition.States)) {
    const shape = s.Type === 'Choice' ? `{"${name}"}` : s.Type === 'Succeed' ? `(["✔ ${name}"])` : s.Type === 'Fail' ? `(["✖ ${name}"])` : s.Type === 'Wait' ? `[/"${name}"/]` : `["${name}"]`;
    lines.push(`  ${id(name)}${shape}`);
  }
  for (const [name, s] of Object.entries(definition.States)) {
    if (s.Next) lines.push(`  ${id(name)} --> ${id(s.Next)}`);
    for (const c of s.Choices ?? []) {
      const label = c.StringEquals ?? (c.NumericLessThanPath ? 'yes' : 'match');
      lines.push(`  ${id(name)} -->|${label}| ${id(c.Next)}`);
    }
    if (s.Default) lines.push(`  ${id(name)} -->|otherwise| ${id(s.Default)}`);
    for (const c of s.Catch ?? []) lines.push(`  ${id(name)} -.->|${c.ErrorEquals.join(', ')}| ${id(c.Next)}`);
  }
  return lines.join('\n');
}

export const README_BEGIN = '<!-- state-machine:begin -->';
export const README_END = '<!-- state-machine:end -->';

/** The README block for the current definition. */
export const readmeBlock = () => `${README_BEGIN}\n\`\`\`mermaid\n${mermaid(JSON.parse(readRolloutDefinition()))}\n\`\`\`\n${README_END}`;

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const block = readmeBlock();
  if (process.argv.includes('--write')) {
    const readme = readFileSync('README.md', 'utf8');
    const start = readme.indexOf(README_BEGIN);
    const end = readme.indexOf(README_END);
    if (start < 0 || end < 0) throw new Error(`README.md has no ${README_BEGIN} … ${README_END} markers`);
    writeFileSync('README.md', readme.slice(0, start) + block + readme.slice(end + README_END.length));
    console.log('README.md: state-machine picture updated');
  } else {
    console.log(block);
  }
}
