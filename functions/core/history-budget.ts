/**
 * The worst case of a rollout's execution history, checked before a plan may run.
 *
 * A Standard workflow fails with `States.Runtime` once its history reaches 25,000 events, and no Catch can
 * handle that: the execution just ends (the reconcile function then puts the service back, but the rollout
 * is lost). So a plan and its timings are refused, at synth and at run time, when the worst case of their
 * execution could come near the limit.
 *
 * The model counts what Step Functions writes for each state of `state-machines/rollout.asl.json`: 5 events
 * for a Lambda Task (entered, scheduled, started, succeeded, exited), 6 for one that waits for a task token,
 * 2 for a Wait, Choice or Pass, 1 for a Fail, 3 for each retry (failed, scheduled, started), and 2 for the
 * execution's start and end. The worst case takes every retry of every Task (the most attempts its Retry
 * allows), every steady check, {@link WORST_CASE.turns} waits for the service's turn and
 * {@link WORST_CASE.holds} operator pauses. `test/unit/history-budget.test.ts` checks the model against the
 * definition; the benchmark measures real executions beside it.
 */
import type { Timings } from './config';
import type { CanaryPlan } from './plan';
import { MAX_HOOK_ROUNDS, type HooksConfig } from './hooks';

/** Step Functions' limit on a Standard execution's history (events). */
export const HISTORY_EVENT_LIMIT = 25_000;

/** The share of the limit a plan's worst case may use: the rest is a margin for what the model leaves out. */
export const HISTORY_BUDGET = HISTORY_EVENT_LIMIT / 2;

/** What the worst case assumes of what the plan does not bound. */
export const WORST_CASE = {
  /** Times a push waits for the service's turn and is woken (each wait, then Prepare again). */
  turns: 20,
  /** Operator pauses and resumes in one rollout (each hold, then the alarm check again). */
  holds: 20,
} as const;

/** Events of one state as Step Functions writes them. */
const EVENTS = { task: 5, tokenTask: 6, flow: 2, fail: 1, retry: 3, execution: 2 } as const;

/** Attempts after the first that each Task's Retry allows at most (the sum of its retriers' MaxAttempts). */
export const RETRIES = {
  prepare: 11,
  waitForTurn: 8,
  waitForImageScan: 8,
  task: 5,
  scaleDown: 6,
  rollback: 10,
} as const;

const task = (retries: number, token = false) => (token ? EVENTS.tokenTask : EVENTS.task) + retries * EVENTS.retry;

/**
 * The most events one stage's hooks can write: the stage's Pass, then per function `Run hook` (a token wait)
 * and `Hook answered?`, up to {@link MAX_HOOK_ROUNDS} "still working" rounds (Wait, `Run hook`, Choice), the
 * timeout or failure Choice, `Hook done` and `More hooks?`. A stage without hooks costs nothing here: its
 * Choice is counted with the step.
 */
export function hookStageEvents(hooks: HooksConfig | undefined, stage: keyof HooksConfig): number {
  const n = hooks?.[stage]?.functions.length ?? 0;
  if (n === 0) return 0;
  const run = task(RETRIES.task, true) + EVENTS.flow;
  const perFunction = run + MAX_HOOK_ROUNDS * (EVENTS.flow + run) + EVENTS.flow + task(RETRIES.task) + EVENTS.flow;
  return EVENTS.flow + n * perFunction;
}

/**
 * The most history events one execution of `plan` with `timings` (and `hooks`) can write; `bakeExtensions`: how
 * many times each bake may run again (a canary analysis with `onInconclusive: 'extend'`).
 */
export function worstCaseHistoryEvents(plan: CanaryPlan, timings: Pick<Timings, 'steadyMaxChecks'>, hooks?: HooksConfig, bakeExtensions = 0): number {
  const prepare = task(RETRIES.prepare);
  // The wait for the image's scan (once: it ends with the scan or its timeout), then Prepare again.
  const scan = task(RETRIES.waitForImageScan, true) + EVENTS.flow + prepare;
  const turns = WORST_CASE.turns * (task(RETRIES.waitForTurn, true) + prepare);
  const deploy = 2 * task(RETRIES.task); // register, deploy
  // Wait for new tasks, Check new tasks are steady, New tasks steady?: every check the timings allow.
  const steady = timings.steadyMaxChecks * (EVENTS.flow + task(RETRIES.task) + EVENTS.flow);
  // Check alarms, Paused?, More steps? before each step and once more before Finalize.
  const check = task(RETRIES.task) + 2 * EVENTS.flow;
  const holds = WORST_CASE.holds * (task(RETRIES.task, true) + task(RETRIES.task) + EVENTS.flow);
  // A weight change's hooks: before and after it, and after it when it puts 100% on the new slot (the
  // test-traffic stage once, before the first one). Its `Hooks after shift?` Choice is there with or without.
  const shiftHooks = (weight: number) => EVENTS.flow + hookStageEvents(hooks, 'beforeShift') + hookStageEvents(hooks, 'afterShift') + (weight === 100 ? hookStageEvents(hooks, 'afterFullTraffic') : 0);
  // Load step, Step kind?, the step's Task, Promoted? (after a wait), Step done.
  const steps = plan.steps.reduce(
    (sum, step) => sum + check + 3 * EVENTS.flow + (step.kind === 'setWeight' ? task(RETRIES.task) + shiftHooks(step.weight) : task(RETRIES.task, true) + EVENTS.flow),
    0,
  );
  // A bake run again: Check alarms, Paused?, Bake again, Load step, Step kind?, Bake, Promoted?, Step done.
  const extensions = bakeExtensions * plan.steps.filter((s) => s.kind === 'bake').length * (check + 4 * EVENTS.flow + task(RETRIES.task, true));
  // `promote --full` or a gate's timeout: one jump (Pass, Check before jump, Jump held?, Step kind?, Shift traffic
  // and its hooks; a hold before it is one of the holds above) or one Choice and Pass more.
  const jump = 3 * EVENTS.flow + 2 * task(RETRIES.task) + shiftHooks(100);
  const once = hookStageEvents(hooks, 'afterSteady') + hookStageEvents(hooks, 'afterTestTraffic');
  const success = check + task(RETRIES.task) + EVENTS.flow + task(RETRIES.scaleDown) + EVENTS.flow;
  // Roll back, Rollback hooks? and the rollback stage's hooks (a hook's failure may lead here: one Pass more).
  const rollback = task(RETRIES.rollback) + EVENTS.flow + hookStageEvents(hooks, 'onRollback') + EVENTS.flow + EVENTS.fail;
  return EVENTS.execution + EVENTS.flow + prepare + scan + turns + deploy + steady + once + holds + steps + extensions + jump + Math.max(success, rollback + check);
}

/** Why `plan` with `timings` may not run, or undefined when its worst case is within {@link HISTORY_BUDGET}. */
export function historyBudgetProblem(plan: CanaryPlan, timings: Pick<Timings, 'steadyMaxChecks'>, hooks?: HooksConfig, bakeExtensions = 0): string | undefined {
  const worst = worstCaseHistoryEvents(plan, timings, hooks, bakeExtensions);
  if (worst <= HISTORY_BUDGET) return undefined;
  return (
    `its worst case is ${worst.toLocaleString('en-US')} execution history events (${plan.steps.length} steps, ${timings.steadyMaxChecks} steady checks), ` +
    `over the budget of ${HISTORY_BUDGET.toLocaleString('en-US')}: half of Step Functions' ${HISTORY_EVENT_LIMIT.toLocaleString('en-US')}-event limit, which ends an execution no Catch can handle. Use fewer steps, fewer steady checks (a longer steadyPollSeconds) or fewer hooks`
  );
}
