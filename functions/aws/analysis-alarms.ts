/** The {@link AnalysisAlarms} port over CloudWatch: the canary analysis's rollout-scoped alarms. */
import type { CloudWatchClient, PutMetricAlarmCommandInput } from '@aws-sdk/client-cloudwatch';
import { ALB_NAMESPACE, SLOT_METRICS } from '../core/analysis';
import type { AnalysisAlarms } from '../core/ports';
import { sdkOptions } from './clients';
import { edge } from './edge';

/** DeleteAlarms takes at most 100 names per call. */
const DELETE_BATCH = 100;

/**
 * `given`: a client the function already has (its alarm checks'). Without one, CloudWatch's client is loaded and
 * made at the first call, not at cold start: most services have no analysis, and the rollback, on the reaction
 * path, should not pay for it.
 */
export function awsAnalysisAlarms(given?: CloudWatchClient): AnalysisAlarms {
  let loaded: Promise<{ sdk: typeof import('@aws-sdk/client-cloudwatch'); client: CloudWatchClient }> | undefined;
  const cloudwatch = () => (loaded ??= import('@aws-sdk/client-cloudwatch').then((sdk) => ({ sdk, client: given ?? new sdk.CloudWatchClient(sdkOptions) })));
  return {
    async put(alarms) {
      const { sdk, client } = await cloudwatch();
      const { PutMetricAlarmCommand } = sdk;
      // One call per alarm (there is no batch form); side by side, each idempotent.
      await Promise.all(alarms.map((alarm) => edge('cloudwatch:PutMetricAlarm', () => client.send(new PutMetricAlarmCommand(alarm as PutMetricAlarmCommandInput)))));
    },

    async deleteWithPrefix(prefix) {
      const { sdk, client } = await cloudwatch();
      const { DeleteAlarmsCommand, DescribeAlarmsCommand } = sdk;
      const names: string[] = [];
      let NextToken: string | undefined;
      do {
        const out = await edge('cloudwatch:DescribeAlarms', () => client.send(new DescribeAlarmsCommand({ AlarmNamePrefix: prefix, AlarmTypes: ['MetricAlarm'], MaxRecords: 100, NextToken })));
        // The prefix is the service's: a name outside it (an emulator ignoring the filter) is never deleted.
        for (const a of out.MetricAlarms ?? []) if (a.AlarmName?.startsWith(prefix)) names.push(a.AlarmName);
        NextToken = out.NextToken;
      } while (NextToken);
      for (let i = 0; i < names.length; i += DELETE_BATCH) {
        const batch = names.slice(i, i + DELETE_BATCH);
        await edge('cloudwatch:DeleteAlarms', () => client.send(new DeleteAlarmsCommand({ AlarmNames: batch }))).catch((error: { name?: string }) => {
          // Deleted meanwhile (a retry, or another cleanup path): what was asked is done.
          if (error.name !== 'ResourceNotFound' && error.name !== 'ResourceNotFoundException') throw error;
        });
      }
      return names;
    },

    async requestsPerPeriod({ loadBalancer, targetGroup, start, end, periodSeconds }) {
      const periods = Math.max(0, Math.floor((end.getTime() - start.getTime()) / (periodSeconds * 1000)));
      const counts = new Array<number>(periods).fill(0);
      if (periods === 0) return counts;
      const { sdk, client } = await cloudwatch();
      const { GetMetricDataCommand } = sdk;
      let NextToken: string | undefined;
      do {
        const out = await edge('cloudwatch:GetMetricData', () =>
          client.send(
            new GetMetricDataCommand({
              StartTime: start,
              EndTime: end,
              ScanBy: 'TimestampAscending',
              NextToken,
              MetricDataQueries: [
                {
                  Id: 'requests',
                  ReturnData: true,
                  MetricStat: {
                    Metric: {
                      Namespace: ALB_NAMESPACE,
                      MetricName: SLOT_METRICS.requests.metricName,
                      Dimensions: [
                        { Name: 'TargetGroup', Value: targetGroup },
                        { Name: 'LoadBalancer', Value: loadBalancer },
                      ],
                    },
                    Period: periodSeconds,
                    Stat: SLOT_METRICS.requests.stat,
                  },
                },
              ],
            }),
          ),
        );
        for (const result of out.MetricDataResults ?? []) {
          (result.Timestamps ?? []).forEach((at, i) => {
            const bucket = Math.floor((at.getTime() - start.getTime()) / (periodSeconds * 1000));
            if (bucket >= 0 && bucket < periods) counts[bucket] = (counts[bucket] ?? 0) + (result.Values?.[i] ?? 0);
          });
        }
        NextToken = out.NextToken;
      } while (NextToken);
      return counts;
    },
  };
}
