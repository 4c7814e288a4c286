import { describe, expect, it } from 'vitest';
import { logFields, metricsEnabled } from '../../functions/aws/powertools';
import { elapsedMs, finalizeMetrics, rollbackMetrics, shiftMetrics, startMetrics } from '../../functions/core/metrics';

const service = { name: 'checkout' };

describe('metric points of a rollout', () => {
  it('start counts one RolloutStarted per execution started, none for duplicates', () => {
    expect(startMetrics({ started: [{ service: 'checkout' }, { service: 'checkout-eu' }] })).toEqual([
      { name: 'RolloutStarted', unit: 'Count', value: 1, service: 'checkout' },
      { name: 'RolloutStarted', unit: 'Count', value: 1, service: 'checkout-eu' },
    ]);
    expect(startMetrics({ started: [] })).toEqual([]);
    expect(startMetrics(undefined)).toEqual([]);
  });

  it('finalize counts one RolloutSucceeded', () => {
    expect(finalizeMetrics({ service })).toEqual([{ name: 'RolloutSucceeded', unit: 'Count', value: 1, service: 'checkout' }]);
  });

  it.each([
    ['an alarm abort', { outcome: 'ROLLED_BACK', abortedAt: '2026-11-24T10:20:00.000Z', restoredAt: '2026-11-24T10:20:00.840Z' }, ['RolloutRolledBack', 'RollbackReactionMs'], 840],
    ['a failed deployment (no abort recorded)', { outcome: 'ROLLED_BACK', restoredAt: '2026-11-24T10:20:00.840Z' }, ['RolloutRolledBack'], undefined],
    ['a failure before any change', { outcome: 'FAILED' }, ['RolloutFailed'], undefined],
  ])('rollback after %s', (_case, result, names, reaction) => {
    const points = rollbackMetrics({ service }, result);

    expect(points.map((p) => p.name)).toEqual(names);
    expect(points.find((p) => p.name === 'RollbackReactionMs')?.value).toBe(reaction);
    expect(points.every((p) => p.service === 'checkout')).toBe(true);
  });

  it('shift measures the time since the previous weight change', () => {
    expect(shiftMetrics({ service, shift: { at: '2026-11-24T10:20:00.000Z' } }, { at: '2026-11-24T10:25:00.250Z' })).toEqual([
      { name: 'StepDurationMs', unit: 'Milliseconds', value: 300_250, service: 'checkout' },
    ]);
  });

  it('the first shift of a rollout has nothing to measure from', () => {
    expect(shiftMetrics({ service }, { at: '2026-11-24T10:25:00.000Z' })).toEqual([]);
  });

  it.each([
    [undefined, '2026-11-24T10:00:00Z', undefined],
    ['2026-11-24T10:00:00Z', undefined, undefined],
    ['2026-11-24T10:00:01Z', '2026-11-24T10:00:00Z', undefined],
    ['not a time', '2026-11-24T10:00:00Z', undefined],
    ['2026-11-24T10:00:00Z', '2026-11-24T10:00:00.5Z', 500],
  ])('elapsedMs(%s, %s) = %s', (from, to, ms) => {
    expect(elapsedMs(from, to)).toBe(ms);
  });
});

describe('Powertools adapter', () => {
  it('renames the fields Powertools reserves instead of letting it drop them', () => {
    expect(logFields({ service: 'checkout', rolloutId: 'r1', level: 'x', message: 'm', timestamp: 't', sampling_rate: 1, kept: 2, gone: undefined })).toEqual({
      rolloutService: 'checkout',
      rolloutId: 'r1',
      fieldLevel: 'x',
      fieldMessage: 'm',
      fieldTimestamp: 't',
      fieldSamplingRate: 1,
      kept: 2,
    });
    expect(logFields(undefined)).toEqual({});
  });

  it.each([
    [{ AWS_LAMBDA_FUNCTION_NAME: 'cutover-finalize' }, true],
    [{}, false],
    [{ AWS_LAMBDA_FUNCTION_NAME: 'cutover-finalize', POWERTOOLS_METRICS_DISABLED: 'true' }, false],
    [{ AWS_LAMBDA_FUNCTION_NAME: 'cutover-finalize', POWERTOOLS_METRICS_DISABLED: 'false' }, true],
    [{ POWERTOOLS_METRICS_DISABLED: 'false' }, true],
    [{ POWERTOOLS_METRICS_DISABLED: '1' }, false],
  ])('metricsEnabled(%j) is %s', (env, enabled) => {
    expect(metricsEnabled(env)).toBe(enabled);
  });
});
