import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { awsCommandDeps, findTarget } from '../../bin/aws-target';
import { serviceConfig } from '../fixtures/state';

const cfn = mockClient(CloudFormationClient);
const lambda = mockClient(LambdaClient);
const SM = 'arn:aws:states:us-east-1:123456789012:stateMachine:CutoverStateMachine5FA0C803-abc';
const outputs = [
  { OutputKey: 'CutoverTableName0A1B2C3D', OutputValue: 'CutoverExample-CutoverTable-1X2Y' },
  { OutputKey: 'CutoverStateMachineArnDEADBEEF', OutputValue: SM },
  { OutputKey: 'CutoverStartFunctionName12345678', OutputValue: 'CutoverExample-CutoverStartFunction-9Z' },
  { OutputKey: 'CutoverSlackCommandUrlABCDEF01', OutputValue: 'https://abc.lambda-url.us-east-1.on.aws/' },
];

beforeEach(() => {
  cfn.reset();
  lambda.reset();
});

describe('finding a deployed Cutover for the CLI', () => {
  it('reads the table, state machine and start function from the stack outputs the construct writes', async () => {
    cfn.on(DescribeStacksCommand, { StackName: 'CutoverExample' }).resolves({ Stacks: [{ StackName: 'CutoverExample', CreationTime: new Date(), StackStatus: 'CREATE_COMPLETE', Outputs: outputs }] });

    const target = await findTarget('CutoverExample', new CloudFormationClient({ region: 'us-east-1' }));

    expect(target).toEqual({ tableName: 'CutoverExample-CutoverTable-1X2Y', stateMachineArn: SM, startFunctionName: 'CutoverExample-CutoverStartFunction-9Z' });
  });

  it('says which output is missing when the stack holds no Cutover', async () => {
    cfn.on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: 'Other', CreationTime: new Date(), StackStatus: 'CREATE_COMPLETE', Outputs: [] }] });

    await expect(findTarget('Other', new CloudFormationClient({ region: 'us-east-1' }))).rejects.toThrow('stack Other has no Cutover output TableName; pass --stack');
  });

  it("takes the services from the start function's environment, validated as the function does", async () => {
    lambda.on(GetFunctionConfigurationCommand).resolves({ Environment: { Variables: { CUTOVER_SERVICES: JSON.stringify([serviceConfig()]) } } });

    const deps = await awsCommandDeps({ tableName: 't', stateMachineArn: SM, startFunctionName: 'f' }, new LambdaClient({ region: 'us-east-1' }));

    expect(deps.services.map((s) => s.name)).toEqual(['checkout']);
    expect(deps.executionUrl!('checkout-1a73d44e2264-20261124T101500Z')).toBe(
      'https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1#/v2/executions/details/arn:aws:states:us-east-1:123456789012:execution:CutoverStateMachine5FA0C803-abc:checkout-1a73d44e2264-20261124T101500Z',
    );
  });
});
