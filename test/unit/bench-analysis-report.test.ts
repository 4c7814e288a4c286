/**
 * The canary-analysis part of the benchmark's Markdown (bench/report.ts), on a hand-made result: the
 * regression caught by the analysis and by the service-wide alarm side by side, the clean canary's false
 * alarms and inconclusive bakes, and the cost the analysis adds.
 */
import { describe, expect, it } from 'vitest';
import type { AnalysisResult, RegressionSummary } from '../../bench/analysis';
import { renderMarkdown } from '../../bench/report';
import { summarize } from '../../bench/stats';

const regression = (caughtAtWeight: Record<string, number>, minutes: number[], periods: number[], runs = 2): RegressionSummary => ({
  runs,
  caught: Object.values(caughtAtWeight).reduce((a, b) => a + b, 0),
  caughtAtWeight,
  minutes: summarize(minutes),
  periods: summarize(periods),
  failedRequests: summarize([40, 60]),
});

const count = (extra: Record<string, number>, bakeVerdicts: number) => ({
  endState: 'Rollout succeeded',
  transitions: 67,
  invocations: 23,
  calls: { 'cloudwatch:DescribeAlarms': 9, ...extra },
  bakeVerdicts,
});

const result: AnalysisResult = {
  seeds: [1, 2],
  timeScale: 0.005,
  requestsPerSecond: 100,
  analysis: regression({ '10%': 2 }, [2, 2.5], [2, 2]),
  serviceWide: regression({ '25%': 1 }, [8], [8]),
  clean: { runs: 2, wronglyFailed: 0, rolledBack: 0, bakesJudged: 6, bakesInconclusive: 1 },
  cost: { with: count({ 'cloudwatch:DescribeAlarms': 10, 'cloudwatch:PutMetricAlarm': 6, 'cloudwatch:DeleteAlarms': 1 }, 3), without: count({}, 0) },
  simulatorErrors: 0,
  regressionRuns: [],
  serviceWideRuns: [],
  cleanRuns: [],
};

describe('the canary analysis table', () => {
  it('puts the analysis beside the service-wide alarm, with the runs it never caught', () => {
    // Act
    const md = renderMarkdown({ command: 'npm run bench', targets: [], ratios: {}, analysis: result });

    // Assert
    expect(md).toContain('#### Canary analysis: a new revision failing 4% of its requests against 0.5% on the old one (2 seeded runs,');
    expect(md).toContain('| rolled back | 2 of 2 | 1 of 2 (never in 1: the rollout completed on the bad revision) |');
    expect(md).toContain('| caught at canary weight (runs) | 10%: 2 | 25%: 1 |');
    expect(md).toContain("| regression's start (first canary weight) → traffic 100% on the old slot, simulated min | 2.3 / 2.5 min | 8.0 / 8.0 min |");
  });

  it('states the clean canary and the cost the analysis adds', () => {
    // Act
    const md = renderMarkdown({ command: 'npm run bench', targets: [], ratios: {}, analysis: result });

    // Assert
    expect(md).toContain('wrongly failed by a comparison in 0 of 2 runs; rolled back for any reason in 0; 1 of 6 bakes at a canary weight inconclusive');
    expect(md).toContain('state transitions 67 vs 67, Lambda invocations 23 vs 23');
    expect(md).toContain('PutMetricAlarm +6');
    expect(md).toContain('DeleteAlarms +1, DescribeAlarms +1');
    expect(md).toContain('GetMetricData +3 on AWS');
  });
});
