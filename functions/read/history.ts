/**
 * `history <service>` as text: each rollout with its outcome, what triggered it, how long it took and why it
 * ended so; each command with who sent it. The CLI prints it for AWS and for a running `local up` alike.
 */
import { formatDuration } from '../core/plan';
import type { CommandRecord, HistoryRecord } from '../core/ports';

/** `ecr-push:13cde686-…` → `push 13cde686-…`; `cli:alice retry of checkout-…` → `alice retry of checkout-…`. */
export function triggerText(trigger: string | undefined): string {
  if (!trigger) return 'trigger unknown';
  const [kind, ...rest] = trigger.split(':');
  const id = rest.join(':');
  if (kind === 'ecr-push') return `ECR push${id ? ` ${id}` : ''}`;
  if (kind === 'cli' || kind === 'chat') return `${kind === 'cli' ? 'CLI' : 'Slack'}${id ? ` ${id}` : ''}`;
  return trigger;
}

/** How long a rollout took (`4m 12s`), or how long it has been running at `now`. */
export function durationText(record: Pick<HistoryRecord, 'startedAt' | 'endedAt'>, now: Date): string {
  const end = record.endedAt ? Date.parse(record.endedAt) : now.getTime();
  const seconds = Math.max(0, Math.round((end - Date.parse(record.startedAt)) / 1000));
  return record.endedAt ? `took ${formatDuration(seconds)}` : `running for ${formatDuration(seconds)}`;
}

/** One line per rollout and per command, under a heading each. */
export function renderHistory(service: string, rollouts: readonly HistoryRecord[], commands: readonly CommandRecord[], now: Date): string[] {
  const lines = [`${service} rollouts:`];
  if (rollouts.length === 0) lines.push('  no rollout yet');
  for (const h of rollouts) {
    lines.push(`• ${h.startedAt} ${h.rolloutId}: ${h.outcome ?? 'RUNNING'} (${triggerText(h.trigger)}, ${durationText(h, now)})${h.reason ? ` — ${h.reason}` : ''}`);
    for (const hook of h.hooks ?? []) lines.push(`    hook: ${hook}`);
  }
  lines.push('commands:');
  if (commands.length === 0) lines.push('  none');
  for (const c of commands) lines.push(`• ${c.at} ${c.user} (${c.via}): ${c.text} → ${c.result}`);
  return lines;
}
