/**
 * `npm run demo -- --scenario regression`: the new revision fails 4% of its requests against 0.5% on the old
 * one. The service-wide alarms stay OK; the canary analysis's error-rate comparison fires during the first bake
 * and the rollout rolls back, never past 10%, leaving no comparison alarm behind. Waits are on states (the
 * demo returns when every execution has ended), never on time.
 */
import { describe, expect, it } from 'vitest';
import { analysisAlarmName } from '../../functions/core/analysis';
import { runDemo } from '../../infra/local/demo';
import { useLocalRuntime } from './emulator';

const local = useLocalRuntime();

describe('the regression demo scenario', () => {
  it('rolls back on the error-rate comparison during the first bake while checkout-5xx stays OK', async () => {
    // Act: the demo's own time scale (a 10-minute first bake is 3 s of real time)
    const lines: string[] = [];
    const result = await runDemo({ scenario: 'regression', emulator: local.emulator(), print: (line) => lines.push(line) });

    // Assert: rolled back onto the old slot, by the comparison, with CloudWatch's reason
    const execution = result.executions[0]!.name;
    const errorRate = analysisAlarmName('checkout', execution, 'error-rate');
    expect(result).toMatchObject({ outcome: 'ROLLED_BACK', weights: { blue: 100, green: 0 }, liveSlot: 'blue', lockHeld: false });
    expect(result.reason).toContain(`alarm ${errorRate} in ALARM: Threshold Crossed:`);
    const analysis = result.analysis!;
    expect([...analysis.alarmsCreated].sort()).toEqual([errorRate, analysisAlarmName('checkout', execution, 'latency-p99')].sort());
    expect(analysis.alarmChanges).toEqual([expect.objectContaining({ alarmName: errorRate, to: 'ALARM' })]);
    // Traffic never went past the first canary weight.
    expect(analysis.canaryWeights).toEqual([10]);
    // The service-wide alarms never fired; the rollback deleted the comparison alarms.
    expect(analysis.serviceAlarms).toEqual([
      { name: 'checkout-5xx', state: 'OK' },
      { name: 'checkout-latency-p99', state: 'OK' },
    ]);
    expect(analysis.alarmsLeft).toEqual([]);
    // The output says what happened, the policy for an inconclusive bake included.
    expect(lines.some((l) => l.includes('onInconclusive "rollback" here'))).toBe(true);
    expect(lines.some((l) => l.includes(`CloudWatch (simulated) set ${errorRate} → ALARM: Threshold Crossed:`))).toBe(true);
  });
});
