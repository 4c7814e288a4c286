/** The {@link Alarms} port over CloudWatch. */
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import type { AlarmView, Alarms } from '../core/ports';
import { sdkOptions } from './clients';
import { edge } from './edge';

/** DescribeAlarms takes at most 100 names per call. */
const PAGE = 100;

export function awsAlarms(client: CloudWatchClient = new CloudWatchClient(sdkOptions)): Alarms {
  return {
    async describe(names) {
      const found: AlarmView[] = [];
      for (let i = 0; i < names.length; i += PAGE) {
        const batch = names.slice(i, i + PAGE);
        // No StateValue filter: moto ignores it when AlarmNames is given, so state is filtered by the caller.
        // Metric and composite alarms, every page (a page holds at most MaxRecords, 50 by default).
        let NextToken: string | undefined;
        do {
          const out = await edge('cloudwatch:DescribeAlarms', () =>
            client.send(new DescribeAlarmsCommand({ AlarmNames: [...batch], AlarmTypes: ['MetricAlarm', 'CompositeAlarm'], MaxRecords: PAGE, NextToken })),
          );
          for (const a of [...(out.MetricAlarms ?? []), ...(out.CompositeAlarms ?? [])]) {
            if (a.AlarmName && batch.includes(a.AlarmName)) found.push({ name: a.AlarmName, state: a.StateValue ?? 'INSUFFICIENT_DATA', reason: a.StateReason });
          }
          NextToken = out.NextToken;
        } while (NextToken);
      }
      return found;
    },
  };
}
