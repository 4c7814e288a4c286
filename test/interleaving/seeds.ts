/**
 * Running seeds and reporting them: the summary a failing seed prints, and the totals the long run
 * (`scripts/interleavings.ts`) adds up.
 */
import { runSchedule, type RunOutcome, type VirtualTimers } from './run';
import { describeSchedule, scheduleOf } from './schedule';

/** The command that replays one seed. */
export const replayCommand = (seed: number) => `INTERLEAVING_SEED=${seed} npx vitest run test/interleaving`;

/** Totals over the seeds run, as the long run reports them. */
export interface Totals {
  seeds: number;
  events: number;
  injected: number;
  executions: number;
  invocations: number;
  calls: number;
  faults: number;
  timers: number;
  virtualMs: number;
  failing: Array<{ seed: number; invariant: string; detail: string }>;
  /** The seeds that ran longest in virtual time (a wait that only its timeout ended). */
  longest: Array<{ seed: number; virtualMs: number }>;
}

export const emptyTotals = (): Totals => ({ seeds: 0, events: 0, injected: 0, executions: 0, invocations: 0, calls: 0, faults: 0, timers: 0, virtualMs: 0, failing: [], longest: [] });

/** Adds one seed's outcome to the totals. */
export function addOutcome(totals: Totals, outcome: RunOutcome): void {
  totals.seeds++;
  totals.events += outcome.scheduled;
  totals.injected += outcome.injected;
  totals.executions += outcome.executions;
  totals.invocations += outcome.invocations;
  totals.calls += outcome.calls;
  totals.faults += outcome.faultsFired;
  totals.timers += outcome.timersFired;
  totals.virtualMs += outcome.virtualMs;
  totals.longest = [...totals.longest, { seed: outcome.seed, virtualMs: outcome.virtualMs }].sort((a, b) => b.virtualMs - a.virtualMs).slice(0, 5);
  const first = outcome.violations[0];
  if (first) totals.failing.push({ seed: outcome.seed, invariant: first.invariant, detail: first.detail });
}

/** Runs one seed's schedule. */
export async function runSeed(seed: number, timers: VirtualTimers): Promise<{ outcome: RunOutcome; summary: string }> {
  const schedule = scheduleOf(seed);
  const outcome = await runSchedule(schedule, timers);
  return { outcome, summary: `seed ${seed}: ${describeSchedule(schedule)}` };
}

/** What a failing seed prints: the schedule, every violation, and the journal of the run. */
export function failureReport(summary: string, outcome: RunOutcome): string {
  const violations = outcome.violations.map((v) => `  ${v.invariant} at ${v.atMs} ms: ${v.detail}`).join('\n');
  return `${summary}\n\nviolated:\n${violations}\n\njournal (virtual ms since the start):\n${outcome.journal.join('\n')}\n\nreplay: ${replayCommand(outcome.seed)}`;
}
