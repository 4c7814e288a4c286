/** The CloudWatch adapter: metric and composite alarms, every page of DescribeAlarms. */
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { awsAlarms } from '../../functions/aws/alarms';

const cloudwatch = mockClient(CloudWatchClient);
afterEach(() => cloudwatch.reset());

describe('awsAlarms', () => {
  it('reads composite alarms beside metric alarms, following NextToken to the last page', async () => {
    cloudwatch
      .on(DescribeAlarmsCommand, { NextToken: undefined })
      .resolves({ MetricAlarms: [{ AlarmName: 'checkout-5xx', StateValue: 'OK' }], NextToken: 'page-2' })
      .on(DescribeAlarmsCommand, { NextToken: 'page-2' })
      .resolves({ CompositeAlarms: [{ AlarmName: 'checkout-health', StateValue: 'ALARM', StateReason: 'children in ALARM' }] });

    const alarms = await awsAlarms(new CloudWatchClient({ region: 'us-east-1' })).describe(['checkout-5xx', 'checkout-health']);

    expect(alarms).toEqual([
      { name: 'checkout-5xx', state: 'OK', reason: undefined },
      { name: 'checkout-health', state: 'ALARM', reason: 'children in ALARM' },
    ]);
    expect(cloudwatch.commandCalls(DescribeAlarmsCommand).map((c) => c.args[0].input)).toEqual([
      { AlarmNames: ['checkout-5xx', 'checkout-health'], AlarmTypes: ['MetricAlarm', 'CompositeAlarm'], MaxRecords: 100, NextToken: undefined },
      { AlarmNames: ['checkout-5xx', 'checkout-health'], AlarmTypes: ['MetricAlarm', 'CompositeAlarm'], MaxRecords: 100, NextToken: 'page-2' },
    ]);
  });
});
