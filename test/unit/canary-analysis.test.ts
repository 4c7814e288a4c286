/**
 * The canary analysis's wiring, pure parts: which comparison alarms a rollout watches, who receives their
 * events (the alarm function's watchers and the EventBridge pattern, by prefix), and the plans it refuses.
 */
import { describe, expect, it } from 'vitest';
import { analysisAlarmName, analysisAlarmPrefix } from '../../functions/core/analysis';
import { rolloutAlarms, watchedAnalysisAlarms } from '../../functions/core/canary-analysis';
import { validateServiceConfig } from '../../functions/core/config';
import { canary } from '../../functions/core/plan';
import { watches, watchersFromEnv, watchersOf } from '../../functions/core/watchers';
import { alarmEventPattern, matchesPattern } from '../../infra/rules';
import { MemoryStore } from '../interleaving/memory-store';
import { alarmStateChangeEvent } from '../../infra/local/events';
import { GREEN_TG, serviceConfig } from '../fixtures/state';

const ROLLOUT = 'checkout-a1b2c3';

describe('the alarms a rollout watches', () => {
  it('lists the comparison alarms of this rollout on its lock, and none in dry run or without analysis', () => {
    expect(watchedAnalysisAlarms(serviceConfig({ analysis: {} }), ROLLOUT)).toEqual([analysisAlarmName('checkout', ROLLOUT, 'error-rate'), analysisAlarmName('checkout', ROLLOUT, 'latency-p99')]);
    expect(watchedAnalysisAlarms(serviceConfig({ analysis: { latencyP99: false } }), ROLLOUT)).toEqual([analysisAlarmName('checkout', ROLLOUT, 'error-rate')]);
    expect(watchedAnalysisAlarms(serviceConfig({ analysis: { dryRun: true } }), ROLLOUT)).toEqual([]);
    expect(watchedAnalysisAlarms(serviceConfig(), ROLLOUT)).toEqual([]);
  });

  it('compares the canary slot given with the other slot', () => {
    const [errorRate] = rolloutAlarms(serviceConfig({ analysis: {} }), ROLLOUT, 'green');
    const targetGroups = errorRate!.Metrics.flatMap((m) => m.MetricStat?.Metric.Dimensions.filter((d) => d.Name === 'TargetGroup').map((d) => `${m.Id}=${d.Value}`) ?? []);
    expect(targetGroups.filter((t) => t.startsWith('m_new_')).every((t) => GREEN_TG.endsWith(t.split('=')[1]!))).toBe(true);
    expect(targetGroups.filter((t) => t.startsWith('m_old_')).some((t) => GREEN_TG.endsWith(t.split('=')[1]!))).toBe(false);
  });
});

describe('who receives a comparison alarm', () => {
  const analysed = serviceConfig({ analysis: {} });
  const plain = serviceConfig({ name: 'checkout-eu' });
  const watchers = watchersFromEnv(JSON.stringify(watchersOf([analysed, plain])));

  it('the alarm function: the analysed service by its prefix (never a service whose name only begins the same), each service by its own alarms', () => {
    const alarm = analysisAlarmName('checkout', ROLLOUT, 'error-rate');
    expect(watchers.filter((w) => watches(w, alarm)).map((w) => w.name)).toEqual(['checkout']);
    expect(watchers.filter((w) => watches(w, 'checkout-5xx')).map((w) => w.name)).toEqual(['checkout', 'checkout-eu']);
    expect(watches(watchers[1]!, analysisAlarmName('checkout-eu', ROLLOUT, 'error-rate'))).toBe(false);
  });

  it('says which watchers only record (dry run)', () => {
    expect(watchersOf([serviceConfig({ analysis: { dryRun: true } })])[0]!.comparisonAlarms).toEqual({ prefix: analysisAlarmPrefix('checkout'), dryRun: true });
    expect(watchersOf([plain])[0]!.comparisonAlarms).toBeUndefined();
  });

  it('refuses watchers whose comparison alarms are not { prefix, dryRun }', () => {
    expect(() => watchersFromEnv(JSON.stringify([{ name: 'checkout', alarms: [], listenerArn: 'arn:aws:x', comparisonAlarms: { prefix: '' } }]))).toThrow(
      /\[0\]\.comparisonAlarms: must be \{ prefix, dryRun \}/,
    );
  });

  it('the EventBridge pattern: exact names and prefixes, in ALARM only', () => {
    const pattern = alarmEventPattern(['checkout-5xx'], [analysisAlarmPrefix('checkout')]);
    expect(pattern.detail).toEqual({ alarmName: ['checkout-5xx', { prefix: 'cutover-analysis-checkout.' }], state: { value: ['ALARM'] } });
    const event = (alarmName: string, state: 'ALARM' | 'OK' = 'ALARM') => alarmStateChangeEvent({ alarmName, state, reason: 'r' });
    expect(matchesPattern(pattern, event(analysisAlarmName('checkout', ROLLOUT, 'error-rate')))).toBe(true);
    expect(matchesPattern(pattern, event('checkout-5xx'))).toBe(true);
    expect(matchesPattern(pattern, event(analysisAlarmName('checkout-eu', ROLLOUT, 'error-rate')))).toBe(false);
    expect(matchesPattern(pattern, event(analysisAlarmName('checkout', ROLLOUT, 'error-rate'), 'OK'))).toBe(false);
    expect(matchesPattern(pattern, event('checkout-5xx-other'))).toBe(false);
  });
});

describe('plans the analysis cannot judge', () => {
  it('refuses a bake at a canary weight shorter than evaluationPeriods × periodSeconds, naming the step', () => {
    const problems = validateServiceConfig(serviceConfig({ analysis: {}, plan: canary([10, 50, 100], 120) }));
    expect(problems).toEqual([
      "service.plan.steps[1]: a bake of 120 s at 10% is shorter than the canary analysis needs to judge it (evaluationPeriods × periodSeconds = 180 s); lengthen the bake or shorten the analysis's window",
      "service.plan.steps[3]: a bake of 120 s at 50% is shorter than the canary analysis needs to judge it (evaluationPeriods × periodSeconds = 180 s); lengthen the bake or shorten the analysis's window",
    ]);
  });

  it('accepts the same plan with a window that fits, and any plan without analysis', () => {
    expect(validateServiceConfig(serviceConfig({ analysis: { evaluationPeriods: 2, datapointsToAlarm: 2 }, plan: canary([10, 50, 100], 120) }))).toEqual([]);
    expect(validateServiceConfig(serviceConfig({ plan: canary([10, 50, 100], 120) }))).toEqual([]);
  });

  it('names analysis problems under the service', () => {
    expect(validateServiceConfig(serviceConfig({ analysis: { minRequests: 0 } }))).toEqual(['service.analysis.minRequests: must be a whole number ≥ 1']);
  });
});

describe("a dry-run verdict's record", () => {
  it("stands beside the step's own record (the shift's weights) instead of replacing it, and a duplicate rewrites itself", async () => {
    const store = new MemoryStore();
    const step = { service: 'checkout', rolloutId: ROLLOUT, index: 0, at: '2026-12-04T07:00:00.000Z' };
    await store.putStep({ ...step, state: 'Shift traffic', weights: { blue: 90, green: 10 }, decision: 'Shift 10% to green' });
    for (const n of [1, 2]) await store.putStep({ ...step, note: 'dry-run-error-rate', state: 'Canary analysis (dry run)', decision: `would roll back (${n})` });

    const steps = await store.listSteps('checkout', ROLLOUT);

    expect(steps.map((s) => [s.state, s.decision])).toEqual([
      ['Shift traffic', 'Shift 10% to green'],
      ['Canary analysis (dry run)', 'would roll back (2)'],
    ]);
  });
});
