/**
 * The construct's Lambda functions: one per folder of `functions/` that has a `handler.ts`, the groups that
 * get settings of their own, and the construct ids their resources are named by (`<Pascal>Function`,
 * `<Pascal>Role`, `<Pascal>Logs`: the logical IDs of a deployed stack, never to change).
 */

/** The Lambda functions, one per folder of `functions/` that has a `handler.ts`. */
export const CUTOVER_FUNCTIONS = [
  'start',
  'prepare',
  'register',
  'deploy',
  'check-steady',
  'check-alarms',
  'shift',
  'bake',
  'alarm',
  'finalize',
  'retire',
  'rollback',
  'reconcile',
  'chat',
  // Custom resources of the user's own deploys (infra/iac-ownership.ts): what is live written back, and a
  // task-definition change released through the canary.
  'live-state',
  'release',
  // Lifecycle hooks: invokes the user's hook functions on a task token, records their outcomes.
  'hook',
] as const;

/** Name of one of Cutover's functions (its folder under `functions/`). */
export type CutoverFunctionName = (typeof CUTOVER_FUNCTIONS)[number];

/** The functions every Cutover has; `chat` exists only with the `slack` prop. */
export type CoreFunctionName = Exclude<CutoverFunctionName, 'chat'>;

/** The construct id of a function's resources: `check-steady` → `CheckSteady` (`CheckSteadyFunction`, `CheckSteadyRole`). */
export const pascal = (name: string) => name.replace(/(^|-)([a-z])/g, (_m, _d, c: string) => c.toUpperCase());

/** The functions between an alarm and the traffic back on the retained slot (their own memory and concurrency). */
export const REACTION_FUNCTIONS = ['alarm', 'rollback'] as const;

/** The functions that post rollout messages (functions/aws/slack-notifier.ts). */
export const NOTIFYING_FUNCTIONS = ['prepare', 'check-alarms', 'shift', 'finalize', 'retire', 'rollback', 'reconcile', 'hook'] as const;
