/**
 * The construct library as an app imports it (`import { Cutover, CanaryPlan } from 'cutover'`): the
 * construct, its props and defaults, and the canary plans it takes. `npm run build` compiles this entry to
 * dist/index.cjs and dist/index.mjs with declarations; the Lambda bundles it deploys come prebuilt in
 * dist/assets.
 *
 * @example
 * import { Cutover, CanaryPlan } from 'cutover';
 *
 * new Cutover(this, 'Cutover', {
 *   services: [{ name: 'web', repository, blue: { service: blue, targetGroup: blueTg }, green: { service: green, targetGroup: greenTg }, listener, alarms: [errors] }],
 *   plan: CanaryPlan.TEN_TWENTYFIVE_FIFTY_5M,
 * });
 */
export * from './cutover';
export { MissingBundleError } from './assets';
export { RegionalFeature, REGION_AVAILABILITY_WARNING } from './region-availability';
export { CanaryPlan, DEFAULT_PLAN, MAX_BAKE_SECONDS, MAX_GATE_SECONDS, MAX_STEPS, canary, validatePlan } from '../functions/core/plan';
export type { BakeStep, PauseStep, PlanStep, SetWeightStep } from '../functions/core/plan';
export { CONCURRENCY_POLICIES, DEFAULT_KEEP_REVISIONS, DEFAULT_SCAN_TIMEOUT_SECONDS, DEFAULT_TIMINGS, SCAN_SEVERITIES, SCAN_TIMEOUT_ACTIONS } from '../functions/core/config';
export type { ChatAccess, ConcurrencyPolicy, ScanSeverity, ScanTimeoutAction, Timings } from '../functions/core/config';
