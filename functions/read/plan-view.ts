/**
 * `cutover plan`'s text output: the preview `functions/read/plan.ts` builds, as a person reads it.
 */
import { formatDuration } from '../core/plan';
import { shortRevision, weightsText } from '../core/rollout';
import type { PlanPreview } from './plan';
import { painter } from './view';

const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

/** The preview as lines for a terminal. */
export function renderPlan(plan: PlanPreview, options: { readonly color?: boolean } = {}): string[] {
  const paint = painter(options.color ?? false);
  const label = (text: string) => paint('dim', text.padEnd(11));
  const r = plan.resources;
  const lines = [`${paint('bold', `Plan for ${plan.service}`)} (dry run: nothing is changed)`];
  lines.push(
    `${label('image')}${plan.image ? `${plan.image.uri}${plan.image.given ? '' : paint('dim', '  (the live image: pass --image repo@sha256:… to preview a new one)')}` : paint('yellow', 'none (pass --image repo@sha256:…)')}`,
  );
  lines.push(`${label('cluster')}${r.cluster}`);
  lines.push(`${label('listener')}${r.listener}`);
  for (const slot of ['blue', 'green'] as const) {
    const role = plan.live?.slot === slot ? 'live' : plan.idleSlot === slot ? 'idle, takes the new revision' : '';
    lines.push(`${label(slot)}${r.slots[slot].serviceName}  ${r.slots[slot].targetGroupArn}${role ? paint('dim', `  (${role})`) : ''}`);
  }
  if (plan.live) lines.push(`${label('live')}${plan.live.slot} on ${shortRevision(plan.live.taskDefinition)}, ${plan.live.desiredCount} tasks, weights ${weightsText(plan.live.weights)}`);
  if (plan.revision) {
    lines.push(`${label('revision')}a new revision of ${plan.revision.family}, cloned from ${plan.revision.clonedFrom} (retained):`);
    if (plan.revision.changes.length === 0) lines.push(`${' '.repeat(11)}${paint('dim', 'no change to the task definition')}`);
    for (const c of plan.revision.changes) {
      lines.push(`${' '.repeat(11)}${c.path}`);
      if (c.before !== undefined) lines.push(`${' '.repeat(13)}${paint('red', `- ${show(c.before)}`)}`);
      if (c.after !== undefined) lines.push(`${' '.repeat(13)}${paint('green', `+ ${show(c.after)}`)}`);
    }
    lines.push(
      `${' '.repeat(11)}tags ${Object.entries(plan.revision.tags)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')}`,
    );
  }
  lines.push(`${label('steps')}${plan.steps.length} steps, ${formatDuration(plan.bakeSeconds)} of bakes; alarms checked on entering every step`);
  for (const s of plan.steps) lines.push(`${' '.repeat(11)}${String(s.index + 1).padStart(2)}. ${s.text}${s.weights ? paint('dim', `  → blue ${s.weights.blue} / green ${s.weights.green}`) : ''}`);
  lines.push(`${label('alarms')}${plan.alarms.map((a) => paint(a.state === 'OK' ? 'green' : a.state === 'ALARM' || a.state === 'MISSING' ? 'red' : 'yellow', `${a.name} ${a.state}`)).join(', ')}`);
  if (plan.problems.length === 0) lines.push(`${label('pre-flight')}${paint('green', 'passes: a rollout would start')}`);
  else {
    lines.push(`${label('pre-flight')}${paint('red', `${plan.problems.length} problem${plan.problems.length > 1 ? 's' : ''}: a rollout would be refused`)}`);
    for (const p of plan.problems) lines.push(`${' '.repeat(11)}${paint('red', `✖ ${p}`)}`);
  }
  // Older previews (a `local up` of an earlier version) have no such field.
  const atOnce = plan.rollsBackAtOnce ?? [];
  if (atOnce.length) {
    lines.push(`${label('rollback')}${paint('red', `${atOnce.length} reason${atOnce.length > 1 ? 's' : ''} it would roll back at once`)}`);
    for (const r of atOnce) lines.push(`${' '.repeat(11)}${paint('red', `✖ ${r}`)}`);
  }
  return lines;
}
