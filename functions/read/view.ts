/**
 * The status view as pure functions from data to lines (the CLI draws it; any reader of a status may): the `status` view (a progress bar across the
 * plan's steps, the steps, the weights, the alarms, the newest decision) and the `plan` preview. Colours
 * only when asked for (the CLI asks when stdout is a TTY and `NO_COLOR` is unset).
 */
import { describeStep, formatDuration, type PlanStep } from '../core/plan';
import { percentText, weightsText, type Weights } from '../core/rollout';
import { cohortStatusText } from '../core/test-cohort';
import type { RolloutStatus } from './status';

export interface ViewOptions {
  /** ANSI colours. @default false */
  readonly color?: boolean;
  /** Width of the progress and weight bars, in characters. @default 40 */
  readonly barWidth?: number;
}

const ANSI = { bold: 1, dim: 2, red: 31, green: 32, yellow: 33, blue: 34, cyan: 36 } as const;
type Tone = keyof typeof ANSI;

/** A painter: `paint('green', 'OK')` is green when colours are on, plain otherwise. */
export const painter = (color: boolean) => (tone: Tone, text: string) => (color && text ? `\x1b[${ANSI[tone]}m${text}\x1b[0m` : text);

/** Whether the CLI should colour its output: a TTY, and `NO_COLOR` unset (https://no-color.org). */
export const wantsColor = (stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean => Boolean(stream.isTTY) && !env.NO_COLOR;

const EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];

/**
 * A bar `width` characters wide, filled to `fraction` (0..1) with eighth-block precision:
 * `bar(0.5, 8)` → `████····`.
 */
export function bar(fraction: number, width: number): { filled: string; empty: string } {
  const f = Math.max(0, Math.min(1, Number.isFinite(fraction) ? fraction : 0));
  const eighths = Math.round(f * width * 8);
  const full = Math.floor(eighths / 8);
  const part = EIGHTHS[eighths % 8]!;
  const filled = '█'.repeat(full) + part;
  return { filled, empty: '·'.repeat(Math.max(0, width - full - (part ? 1 : 0))) };
}

/** How a step stands: done, running now, failed (where a rollback stopped), or still to come. */
export type StepMark = 'done' | 'current' | 'failed' | 'pending';

/** Each step's mark, given how far the rollout got. */
export function stepMarks(total: number, reached: number, outcome: 'running' | 'succeeded' | 'failed'): StepMark[] {
  return Array.from({ length: total }, (_, i) => {
    if (outcome === 'succeeded' || i < reached) return 'done';
    if (i === reached) return outcome === 'failed' ? 'failed' : 'current';
    return 'pending';
  });
}

/** A step as the track shows it: `10%`, `bake 5m`, `gate`. */
export const stepLabel = (step: PlanStep): string => (step.kind === 'setWeight' ? `${step.weight}%` : step.kind === 'bake' ? `bake ${formatDuration(step.seconds)}` : 'gate');

const MARK = { done: '✔', current: '▶', failed: '✖', pending: '·' } as const;

/**
 * How far along the plan a rollout is, in steps (0..N, fractional inside a bake or a gate that has an end):
 * the steps before `stepIndex` are done; the current one counts the share of its wait that has passed.
 */
export function position(status: RolloutStatus): number {
  const total = status.plan.length;
  if (status.ended) return status.ended.outcome === 'SUCCEEDED' ? total : Math.min(total, status.ended.stepIndex ?? 0);
  const active = status.active;
  if (!active || active.stepIndex === undefined) return 0;
  const index = Math.min(total, active.stepIndex);
  const wait = active.wait;
  if (index < total && wait?.until && wait.kind !== 'hold') {
    const span = Date.parse(wait.until) - Date.parse(wait.since);
    const done = Date.parse(status.at) - Date.parse(wait.since);
    if (span > 0) return index + Math.max(0, Math.min(1, done / span));
  }
  return index;
}

const secondsBetween = (from: string, to: string) => Math.max(0, Math.round((Date.parse(to) - Date.parse(from)) / 1000));

/** What the rollout is doing before the canary loop starts, from the state its execution is in. */
function phaseText(state: string | undefined, newSlot: string | undefined): string {
  switch (state) {
    case undefined:
    case 'Prepare rollout':
      return 'preparing: lock, live slot, pre-flight checks';
    case 'Register new revision':
      return 'registering the new revision (image pinned to its digest)';
    case 'Deploy to idle slot':
    case 'Wait for new tasks':
    case 'Check new tasks are steady':
    case 'New tasks steady?':
      return `deploying to ${newSlot ?? 'the idle slot'}: waiting for the new tasks to be steady`;
    default:
      return state;
  }
}

/** What the current step is doing: the bake's time left, a gate, a pause, an abort under way. */
function stepText(status: RolloutStatus): string {
  const active = status.active!;
  const total = status.plan.length;
  if (active.abort) return `aborting: ${active.abort.reason}`;
  if (active.stepIndex === undefined) return phaseText(active.state, active.newSlot);
  // Cutover's own hold: the rollback target cannot take the traffic back; a human resumes or rolls back.
  if (active.pause?.reason) {
    const at = active.stepIndex >= total ? 'before finalizing' : `step ${active.stepIndex + 1}/${total} ${describeStep(status.plan[active.stepIndex]!, active.newSlot)}`;
    return `${at}: held by ${active.pause.by}: ${active.pause.reason}; resume when fixed, or roll back`;
  }
  if (active.stepIndex >= total) return 'all steps done: finalizing';
  const step = status.plan[active.stepIndex]!;
  const where = `step ${active.stepIndex + 1}/${total} ${describeStep(step, active.newSlot)}`;
  const left = active.wait?.until ? formatDuration(secondsBetween(status.at, active.wait.until)) : undefined;
  if (active.wait?.kind === 'hold') return `${where}: paused by ${active.pause?.by ?? 'an operator'}, holding`;
  if (active.pause) return `${where}: pause requested by ${active.pause.by}`;
  if (active.wait?.kind === 'bake') return `${where}: ${left} left`;
  if (active.wait?.kind === 'gate') return `${where}: waiting for promote (${left} until its timeout)`;
  if (active.wait?.kind === 'hook') return `${where}: a lifecycle hook is running (${left} until its timeout)`;
  return where;
}

/**
 * The weights as a bar: blue's share from the left, green's from the right. A slot with any traffic gets at
 * least one cell, and its number is never rounded to 0 or 100 (99.9 / 0.1 is split, not blue 100).
 */
export function weightsLine(weights: Weights | undefined, newSlot: string | undefined, width: number, paint: ReturnType<typeof painter>): string {
  if (!weights) return paint('red', 'listener not found');
  const share = (weights.blue / 100) * width;
  const blue = weights.blue > 0 && weights.blue < 100 ? Math.min(width - 1, Math.max(1, Math.round(share))) : Math.round(share);
  const tag = (slot: string) => (slot === newSlot ? ' (new)' : '');
  return (
    `${paint('blue', `blue${tag('blue')} ${percentText(weights.blue).padStart(3)}`)} ` +
    `${paint('blue', '█'.repeat(blue))}${paint('green', '▒'.repeat(width - blue))} ` +
    `${paint('green', `${percentText(weights.green).padStart(3)} green${tag('green')}`)}`
  );
}

const ALARM_TONE: Record<string, Tone> = { OK: 'green', ALARM: 'red', INSUFFICIENT_DATA: 'yellow', MISSING: 'red' };

/**
 * The status view: one line each for the rollout, the progress bar, the steps, the weights, the alarms and
 * the newest decision (and the result once the rollout has ended).
 * @example
 * renderStatus(status, { color: process.stdout.isTTY }).forEach((line) => console.log(line));
 */
export function renderStatus(status: RolloutStatus, options: ViewOptions = {}): string[] {
  const paint = painter(options.color ?? false);
  const width = options.barWidth ?? 40;
  const total = status.plan.length;
  const label = (text: string) => paint('dim', text.padEnd(9));
  const lines: string[] = [];
  const { active, ended } = status;
  const newSlot = active?.newSlot ?? (ended?.liveSlot && ended.outcome === 'SUCCEEDED' ? ended.liveSlot : undefined);

  if (ended) {
    const took = ended.endedAt ? ` in ${formatDuration(secondsBetween(ended.startedAt, ended.endedAt))}` : '';
    const mark = ended.outcome === 'SUCCEEDED' ? paint('green', `✔ ${ended.outcome}`) : paint('red', `✖ ${ended.outcome}`);
    lines.push(`${paint('bold', status.service)}  ${mark}  ${ended.rolloutId}${took}`);
  } else if (active) {
    lines.push(`${paint('bold', status.service)}  ${paint('cyan', '● rolling out')} ${active.rolloutId}  (started ${formatDuration(secondsBetween(active.startedAt, status.at))} ago)`);
  } else {
    lines.push(`${paint('bold', status.service)}  idle, no rollout yet`);
  }

  if (active || ended) {
    const outcome = ended ? (ended.outcome === 'SUCCEEDED' ? 'succeeded' : 'failed') : 'running';
    const at = position(status);
    const { filled, empty } = bar(total ? at / total : 0, width);
    const tone: Tone = outcome === 'failed' ? 'red' : outcome === 'succeeded' ? 'green' : 'cyan';
    const reached = Math.floor(at);
    const where = ended
      ? ended.outcome === 'SUCCEEDED'
        ? `${total}/${total} steps`
        : ended.stepIndex === undefined
          ? ended.outcome.toLowerCase().replace('_', ' ')
          : `stopped at step ${Math.min(reached + 1, total)}/${total}`
      : stepText(status);
    lines.push(`${label('progress')}${paint(tone, filled)}${paint('dim', empty)}  ${where}`);
    const marks = stepMarks(total, ended && ended.stepIndex === undefined && ended.outcome !== 'SUCCEEDED' ? -1 : reached, outcome);
    const toneOf: Record<StepMark, Tone> = { done: 'green', current: 'cyan', failed: 'red', pending: 'dim' };
    lines.push(`${label('steps')}${status.plan.map((s, i) => paint(toneOf[marks[i]!], `${MARK[marks[i]!]} ${stepLabel(s)}`)).join('  ')}`);
  } else {
    lines.push(`${label('plan')}${status.plan.map(stepLabel).join(' → ')}`);
  }
  lines.push(`${label('weights')}${weightsLine(status.weights, newSlot, width, paint)}`);
  if (active?.testRule && !ended) lines.push(`${label('cohort')}${cohortStatusText(active.testRule, status.weights ? weightsText(status.weights) : undefined)}`);
  lines.push(`${label('alarms')}${status.alarms.map((a) => paint(ALARM_TONE[a.state] ?? 'yellow', `${a.state === 'OK' ? '✔' : '✖'} ${a.name} ${a.state}`)).join('   ')}`);
  if (status.decision) lines.push(`${label('decision')}${status.decision.state}: ${status.decision.text}`);
  if (active?.executionUrl && !ended) lines.push(`${label('console')}${active.executionUrl}`);
  if (ended?.reason) lines.push(`${label('result')}${paint(ended.outcome === 'SUCCEEDED' ? 'green' : 'red', ended.reason)}`);
  else if (!active && !ended && status.recent[0]) lines.push(`${label('last')}${status.recent[0].rolloutId}: ${status.recent[0].outcome}`);
  if (status.notice) lines.push(`${label('note')}${paint('yellow', status.notice)}`);
  return lines;
}
