import { describe, expect, it } from 'vitest';
import { readRolloutDefinition } from '../../state-machines/definition';
import { StateName } from '../../state-machines/states';

describe('StateName', () => {
  it('names exactly the states of rollout.asl.json, each once', () => {
    const states = Object.keys((JSON.parse(readRolloutDefinition()) as { States: Record<string, unknown> }).States);

    expect([...Object.values(StateName)].sort()).toEqual([...states].sort());
  });
});
