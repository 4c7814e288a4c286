import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { mermaid, readmeBlock } from '../../scripts/diagram';
import { readRolloutDefinition } from '../../state-machines/definition';

describe('the README state-machine picture', () => {
  it('is the one generated from state-machines/rollout.asl.json', () => {
    expect(readFileSync('README.md', 'utf8')).toContain(readmeBlock());
  });

  it('has a node for every state and an edge for every transition and catch', () => {
    const definition = JSON.parse(readRolloutDefinition());
    const picture = mermaid(definition);

    for (const name of Object.keys(definition.States)) expect(picture).toContain(`${name}"`);
    expect(picture).toContain('Bake -.->|States.Timeout| Step_done');
    expect(picture).toContain('Prepare_rollout -.->|RolloutBusy, PreflightFailed, InvalidInput, InvalidConfig, ResourceNotFound| Rollout_refused');
    expect(picture).toContain('More_steps_ -->|otherwise| Finalize_rollout');
  });
});
