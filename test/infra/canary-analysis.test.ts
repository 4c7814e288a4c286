/**
 * The canary analysis in the construct: the `analysis` prop reaches the functions (the period in seconds),
 * the alarm rule and the alarm function's watchers match the service's comparison alarms by prefix, and IAM
 * lets shift create and the others delete only the alarms under that prefix; a plan it cannot judge fails synth.
 */
import { Duration } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { describe, expect, it } from 'vitest';
import { canary } from '../../functions/core/plan';
import type { CutoverServiceProps } from '../../infra/cutover';
import { actionsOf, policyStatementsOf, render, type Json, type Statement } from './example-app';
import { ACCOUNT, importedServiceStack, REGION } from './imported-stack';

const PREFIX_ARN = `arn:<AWS::Partition>:cloudwatch:${REGION}:${ACCOUNT}:alarm:cutover-analysis-checkout.*`;
const analysedStack = (overrides: Partial<CutoverServiceProps>) => importedServiceStack('Analysed', overrides);

const resourcesOf = (statements: Statement[]) => statements.flatMap((s) => [s.Resource].flat().map((r) => render(r as Json)));
const envOf = (template: Template, variable: string) => {
  const fn = Object.values(template.findResources('AWS::Lambda::Function')).find((f) => f.Properties.Environment?.Variables?.[variable] !== undefined);
  const raw = fn!.Properties.Environment.Variables[variable] as Json;
  return JSON.parse(typeof raw === 'string' ? raw : render(raw));
};

describe('analysis on a service', () => {
  const { stack, cutover, template } = analysedStack({ analysis: { latencyP99: { maxIncreaseMs: 200 }, period: Duration.minutes(2), evaluationPeriods: 2, onInconclusive: 'rollback' } });
  const allowing = (fn: keyof typeof cutover.functions, action: string): Statement[] => {
    const id = stack.getLogicalId((cutover.functions[fn]!.role as iam.Role).node.defaultChild as never);
    return policyStatementsOf(template, id).filter((s) => actionsOf(s).includes(action));
  };

  it('reaches the functions as the service configuration, the period in seconds', () => {
    const [config] = envOf(template, 'CUTOVER_SERVICES');
    expect(config.analysis).toEqual({ latencyP99: { maxIncreaseMs: 200 }, periodSeconds: 120, evaluationPeriods: 2, onInconclusive: 'rollback' });
  });

  it("routes the service's comparison alarms to the alarm function by prefix, and tells it whose they are", () => {
    const rules = Object.values(template.findResources('AWS::Events::Rule')).map((r) => r.Properties.EventPattern);
    const alarmRule = rules.find((p) => p?.source?.[0] === 'aws.cloudwatch');
    expect(alarmRule.detail.alarmName).toEqual(['checkout-5xx', { prefix: 'cutover-analysis-checkout.' }]);
    expect(envOf(template, 'CUTOVER_WATCHERS')[0].comparisonAlarms).toEqual({ prefix: 'cutover-analysis-checkout.', dryRun: false });
  });

  it('lets shift create (and tag) only the comparison alarms of the service, and those that end a canary delete only them', () => {
    expect(resourcesOf(allowing('shift', 'cloudwatch:PutMetricAlarm'))).toEqual([PREFIX_ARN]);
    expect(resourcesOf(allowing('shift', 'cloudwatch:TagResource'))).toEqual([PREFIX_ARN]);
    // (the chat function, made only with `slack`, gets the same)
    for (const fn of ['finalize', 'rollback', 'reconcile', 'prepare'] as const) expect(resourcesOf(allowing(fn, 'cloudwatch:DeleteAlarms'))).toEqual([PREFIX_ARN]);
    expect(allowing('check-alarms', 'cloudwatch:PutMetricAlarm')).toEqual([]);
    expect(resourcesOf(allowing('check-alarms', 'cloudwatch:GetMetricData'))).toEqual(['*']);
  });

  it('grants none of it to a stack without analysis', () => {
    const plain = analysedStack({});
    const id = plain.stack.getLogicalId((plain.cutover.functions.shift.role as iam.Role).node.defaultChild as never);
    expect(policyStatementsOf(plain.template, id).filter((s) => actionsOf(s).includes('cloudwatch:PutMetricAlarm'))).toEqual([]);
  });
});

describe('analysis props the construct refuses', () => {
  it('a bake at a canary weight too short to be judged, naming the step', () => {
    expect(() => analysedStack({ analysis: {}, plan: canary([10, 100], 120) })).toThrow(
      /services\[0\]\.plan\.steps\[1\]: a bake of 120 s at 10% is shorter than the canary analysis needs to judge it/,
    );
  });

  it('a bad analysis setting, naming it', () => {
    expect(() => analysedStack({ analysis: { minRequests: 0 } })).toThrow(/services\[0\]\.analysis\.minRequests: must be a whole number ≥ 1/);
  });
});
