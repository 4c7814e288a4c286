/**
 * The test cohort in the construct: the `testTraffic` prop reaches the functions' service configuration, IAM
 * lets check-steady create rules on the test listener only, and lets the functions that end the cohort delete
 * only that listener's rules; a bad prop fails synth naming it.
 */
import type { Stack } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import type { CutoverServiceProps } from '../../infra/cutover';
import { actionsOf, policyStatementsOf, render, type Json, type Statement } from './example-app';
import { arn, importedServiceStack, LISTENER } from './imported-stack';

const RULE = arn('elasticloadbalancing', 'listener-rule/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee');
const TEST_LISTENER = arn('elasticloadbalancing', 'listener/app/shop/50dc6c495c0c9188/0a0a0a0a0a0a0a0a');
const HEADER = { name: 'X-Cutover-Cohort', values: ['test'] };

const cohortStack = (overrides: Partial<CutoverServiceProps>) => importedServiceStack('Cohort', overrides);

function allowing(stack: Stack, template: Template, role: iam.IRole | undefined, action: string): Statement[] {
  const id = stack.getLogicalId((role as iam.Role).node.defaultChild as never);
  return policyStatementsOf(template, id).filter((s) => actionsOf(s).includes(action));
}
const resourcesOf = (statements: Statement[]) => statements.flatMap((s) => [s.Resource].flat().map((r) => render(r as Json)));

describe('testTraffic on a listener', () => {
  const { stack, cutover, template } = cohortStack({ testTraffic: { header: HEADER, sourceCidrs: ['10.0.0.0/8'] } });

  it('reaches the functions as the service configuration', () => {
    const start = Object.values(template.findResources('AWS::Lambda::Function')).find((f) => f.Properties.Environment?.Variables?.CUTOVER_SERVICES !== undefined);
    const raw = start!.Properties.Environment.Variables.CUTOVER_SERVICES as Json;
    const [config] = JSON.parse(typeof raw === 'string' ? raw : render(raw));
    expect(config.testTraffic).toEqual({ header: HEADER, sourceCidrs: ['10.0.0.0/8'] });
  });

  it('lets check-steady create rules on the service listener only, tagging them only as it creates them', () => {
    expect(resourcesOf(allowing(stack, template, cutover.functions['check-steady'].role, 'elasticloadbalancing:CreateRule'))).toEqual([LISTENER]);
    const tagging = allowing(stack, template, cutover.functions['check-steady'].role, 'elasticloadbalancing:AddTags');
    expect(resourcesOf(tagging)).toEqual([`${RULE.replace(/\/[^/]+$/, '')}/*`]);
    expect(tagging[0]!.Condition).toEqual({ StringEquals: { 'elasticloadbalancing:CreateAction': 'CreateRule' } });
  });

  it("lets the functions that end the cohort delete only that listener's rules", () => {
    for (const fn of [cutover.functions.shift, cutover.functions.finalize, cutover.functions.rollback, cutover.functions.reconcile, cutover.functions.prepare]) {
      expect(resourcesOf(allowing(stack, template, fn.role, 'elasticloadbalancing:DeleteRule'))).toEqual([`${RULE.replace(/\/[^/]+$/, '')}/*`]);
    }
    expect(allowing(stack, template, cutover.functions.deploy.role, 'elasticloadbalancing:DeleteRule')).toEqual([]);
    expect(allowing(stack, template, cutover.functions['check-steady'].role, 'elasticloadbalancing:DeleteRule')).toEqual([]);
  });
});

describe('testTraffic and cdk-nag', () => {
  it.each<[string, Partial<CutoverServiceProps>]>([
    ['a listener', { testTraffic: { header: HEADER } }],
    ['a listener rule', { listenerArn: undefined, listenerRuleArn: RULE, testTraffic: { header: HEADER } }],
  ])('leaves no unacknowledged finding of the rule permissions on %s', (_what, overrides) => {
    const { app } = cohortStack(overrides);
    const report = new AwsSolutionsChecks().validateScope(app);
    const violations = report.violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`);
    expect(violations.filter((v) => v.includes('listener-rule') || v.includes('elasticloadbalancing'))).toEqual([]);
  });
});

describe('testTraffic in listener-rule mode and on a test listener', () => {
  it("creates rules on the production rule's listener", () => {
    const { stack, cutover, template } = cohortStack({ listenerArn: undefined, listenerRuleArn: RULE, testTraffic: { header: HEADER } });
    expect(resourcesOf(allowing(stack, template, cutover.functions['check-steady'].role, 'elasticloadbalancing:CreateRule'))).toEqual([LISTENER]);
  });

  it('creates rules on the configured test listener', () => {
    const { stack, cutover, template } = cohortStack({ testTraffic: { header: HEADER, listenerArn: TEST_LISTENER } });
    expect(resourcesOf(allowing(stack, template, cutover.functions['check-steady'].role, 'elasticloadbalancing:CreateRule'))).toEqual([TEST_LISTENER]);
  });
});

describe('a service without testTraffic', () => {
  it('gives no function any rule action', () => {
    const { stack, cutover, template } = cohortStack({});
    for (const action of ['elasticloadbalancing:CreateRule', 'elasticloadbalancing:DeleteRule', 'elasticloadbalancing:AddTags']) {
      for (const fn of Object.values(cutover.functions)) if (fn) expect(allowing(stack, template, fn.role, action)).toEqual([]);
    }
  });
});

describe('validation of testTraffic', () => {
  it.each<[string, CutoverServiceProps['testTraffic'], string]>([
    ['a bad header name', { header: { name: 'X Cohort', values: ['1'] } }, 'services[0].testTraffic.header.name: must be an HTTP header name'],
    ['a bad CIDR', { sourceCidrs: ['10.0.0.0/40'] }, 'services[0].testTraffic.sourceCidrs[0]: must be a list of 1-5 CIDR blocks'],
    ['an end step that is a bake', { header: HEADER, untilStep: 1 }, 'services[0].testTraffic.untilStep: must be the index of a setWeight step of the plan'],
    ['no condition', {}, 'services[0].testTraffic: must give a header, source CIDRs, or both'],
  ])('refuses %s at synth, naming the prop', (_what, testTraffic, message) => {
    expect(() => cohortStack({ testTraffic })).toThrow(message);
  });
});
