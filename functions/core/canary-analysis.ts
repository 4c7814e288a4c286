/**
 * The canary analysis in a rollout: when its comparison alarms (see `analysis.ts`) exist, which of them the
 * rollout watches, and the verdict at a bake's end when too few requests reached the canary to judge.
 *
 * - Shift creates the alarms after its fence and before it moves traffic to a canary weight (0 < w < 100),
 *   so they exist for every request the canary serves; PutMetricAlarm is idempotent, so a retried shift or a
 *   later step creates nothing twice.
 * - Prepare lists their names among the lock's alarms (unless dry run): the alarm path's one write matches a
 *   comparison alarm of this rollout only, never a leftover of an earlier one.
 * - Finalize, the rollback and the dead-execution path delete every comparison alarm of the service while they
 *   hold its lock: only the holder creates them, so none can belong to anyone else.
 */
import { analysisAlarmPrefix, bakeVerdict, comparisonAlarms, loadBalancerDimension, resolvedAnalysis, targetGroupDimension, type ComparisonAlarm } from './analysis';
import { otherSlot, type ServiceConfig, type Slot } from './config';
import type { AnalysisAlarms, Log } from './ports';

/** The rollout's comparison alarms with the canary on `canary`. Empty without analysis. */
export function rolloutAlarms(service: ServiceConfig, rolloutId: string, canary: Slot): ComparisonAlarm[] {
  if (!service.analysis) return [];
  return comparisonAlarms({
    service: service.name,
    rolloutId,
    loadBalancerArn: service.listenerArn,
    canaryTargetGroupArn: service.slots[canary].targetGroupArn,
    stableTargetGroupArn: service.slots[otherSlot(canary)].targetGroupArn,
    config: service.analysis,
  });
}

/** The comparison alarms the rollout acts on (the lock's alarms): none without analysis or in dry run. */
export function watchedAnalysisAlarms(service: ServiceConfig, rolloutId: string): string[] {
  if (!service.analysis || resolvedAnalysis(service.analysis).dryRun) return [];
  return rolloutAlarms(service, rolloutId, 'green').map((a) => a.AlarmName);
}

const need = (deps: { readonly analysis?: AnalysisAlarms }, service: ServiceConfig): AnalysisAlarms => {
  if (!deps.analysis) throw new Error(`${service.name} has a canary analysis configured but this function was given no CloudWatch port for it`);
  return deps.analysis;
};

/** Creates (or keeps) the comparison alarms before the canary takes `weight`% (only 0 < weight < 100). */
export async function startAnalysis(service: ServiceConfig, rolloutId: string, canary: Slot, weight: number, deps: { readonly analysis?: AnalysisAlarms; readonly log: Log }): Promise<string[]> {
  if (!service.analysis || weight <= 0 || weight >= 100) return [];
  const alarms = rolloutAlarms(service, rolloutId, canary);
  await need(deps, service).put(alarms);
  deps.log.info('canary analysis alarms in place', { service: service.name, rolloutId, alarms: alarms.map((a) => a.AlarmName) });
  return alarms.map((a) => a.AlarmName);
}

/** Deletes every comparison alarm of the service (the caller holds its lock). Nothing without analysis. */
export async function endAnalysis(service: ServiceConfig, deps: { readonly analysis?: AnalysisAlarms; readonly log: Log }): Promise<string[]> {
  if (!service.analysis) return [];
  const deleted = await need(deps, service).deleteWithPrefix(analysisAlarmPrefix(service.name));
  if (deleted.length) deps.log.info('canary analysis alarms deleted', { service: service.name, alarms: deleted });
  return deleted;
}

/** A bake's verdict, with the counts it was judged on. */
export interface BakeJudgement {
  readonly verdict: 'pass' | 'inconclusive';
  readonly requestsPerPeriod: readonly number[];
  /** Why, for decisions and holds. */
  readonly text: string;
}

/**
 * The verdict of the time the canary spent at its weight (`since` → `now`): `pass` when enough periods had
 * enough requests on the canary to be judged (a failing comparison would have fired its alarm by now),
 * `inconclusive` otherwise. Never `pass` for lack of data.
 */
export async function judgeBake(
  service: ServiceConfig,
  canary: Slot,
  window: { readonly since: Date; readonly now: Date },
  deps: { readonly analysis?: AnalysisAlarms },
): Promise<BakeJudgement | undefined> {
  if (!service.analysis) return undefined;
  const c = resolvedAnalysis(service.analysis);
  const requestsPerPeriod = await need(deps, service).requestsPerPeriod({
    loadBalancer: loadBalancerDimension(service.listenerArn),
    targetGroup: targetGroupDimension(service.slots[canary].targetGroupArn),
    start: window.since,
    end: window.now,
    periodSeconds: c.periodSeconds,
  });
  const verdict = bakeVerdict(requestsPerPeriod, service.analysis);
  const judged = requestsPerPeriod.filter((n) => n >= c.minRequests).length;
  const text =
    verdict === 'pass'
      ? `canary analysis: ${judged} of ${requestsPerPeriod.length} periods judged (≥ ${c.minRequests} requests on the canary), no comparison failed`
      : `canary analysis inconclusive: ${judged} of ${requestsPerPeriod.length} periods had ≥ ${c.minRequests} requests on the canary (${c.evaluationPeriods} needed; requests per period: ${requestsPerPeriod.join(', ') || 'none'})`;
  return { verdict, requestsPerPeriod, text };
}
