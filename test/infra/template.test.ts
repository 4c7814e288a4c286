import { describe, expect, it } from 'vitest';
import { synthExampleApp } from './example-app';

type Resource = { Properties?: unknown; DependsOn?: string | string[] };

/** The first dependency cycle among a template's resources (Ref, Fn::GetAtt, DependsOn), if any. */
function findCycle(resources: Record<string, Resource>): string[] | undefined {
  const refs = (value: unknown, out: Set<string>) => {
    if (!value || typeof value !== 'object') return;
    const v = value as Record<string, unknown>;
    if (typeof v.Ref === 'string' && resources[v.Ref]) out.add(v.Ref);
    const att = v['Fn::GetAtt'];
    if (Array.isArray(att) && typeof att[0] === 'string' && resources[att[0]]) out.add(att[0]);
    for (const x of Object.values(v)) refs(x, out);
  };
  const deps = new Map(
    Object.entries(resources).map(([id, r]) => {
      const out = new Set<string>([r.DependsOn ?? []].flat());
      refs(r.Properties, out);
      return [id, out] as const;
    }),
  );
  const state = new Map<string, 'open' | 'done'>();
  const visit = (id: string, path: string[]): string[] | undefined => {
    if (state.get(id) === 'open') return [...path.slice(path.indexOf(id)), id];
    if (state.get(id) === 'done') return undefined;
    state.set(id, 'open');
    for (const d of deps.get(id) ?? []) {
      const cycle = visit(d, [...path, id]);
      if (cycle) return cycle;
    }
    state.set(id, 'done');
    return undefined;
  };
  for (const id of deps.keys()) {
    const cycle = visit(id, []);
    if (cycle) return cycle;
  }
  return undefined;
}

describe('the synthesized example stack', () => {
  it('has no dependency cycle (functions the state machine invokes reach it by its fixed name, not by reference)', () => {
    const { template } = synthExampleApp();

    expect(findCycle(template.toJSON().Resources)).toBeUndefined();
  });

  it('would report a cycle if there were one (the check can fail)', () => {
    expect(findCycle({ A: { Properties: { x: { Ref: 'B' } } }, B: { Properties: { y: { 'Fn::GetAtt': ['A', 'Arn'] } } } })).toEqual(['A', 'B', 'A']);
  });
});
