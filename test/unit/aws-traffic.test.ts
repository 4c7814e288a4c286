/** The ELBv2 adapter against ELB's documented rules for the actions it sends back. */
import { DescribeListenersCommand, DescribeRulesCommand, ElasticLoadBalancingV2Client, ModifyListenerCommand, ModifyRuleCommand, type Action } from '@aws-sdk/client-elastic-load-balancing-v2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { awsTraffic } from '../../functions/aws/traffic';

const elb = mockClient(ElasticLoadBalancingV2Client);
afterEach(() => elb.reset());

const LISTENER = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2';
const RULE = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee';
const BLUE = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/blue/73e2d6bc24d8a067';
const GREEN = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/green/2453ed029918f21f';

/** As DescribeListeners / DescribeRules answer them: the OIDC client secret is never returned. */
const oidc: Action = {
  Type: 'authenticate-oidc',
  Order: 1,
  AuthenticateOidcConfig: {
    Issuer: 'https://idp.example.com',
    AuthorizationEndpoint: 'https://idp.example.com/auth',
    TokenEndpoint: 'https://idp.example.com/token',
    UserInfoEndpoint: 'https://idp.example.com/userinfo',
    ClientId: 'cutover',
  },
};
const cognito: Action = {
  Type: 'authenticate-cognito',
  Order: 2,
  AuthenticateCognitoConfig: { UserPoolArn: 'arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_abc', UserPoolClientId: 'client', UserPoolDomain: 'shop' },
};
const forward = (blue: number, green: number): Action => ({
  Type: 'forward',
  Order: 3,
  ForwardConfig: {
    TargetGroups: [
      { TargetGroupArn: BLUE, Weight: blue },
      { TargetGroupArn: GREEN, Weight: green },
    ],
  },
});

/** ELB's rule: an OIDC action needs its client secret, or UseExistingClientSecret when modifying. */
function refuseOidcWithoutSecret(actions: readonly Action[] | undefined): void {
  const bad = (actions ?? []).find((a) => a.Type === 'authenticate-oidc' && !a.AuthenticateOidcConfig?.ClientSecret && a.AuthenticateOidcConfig?.UseExistingClientSecret !== true);
  if (bad) throw Object.assign(new Error('You must specify a client secret for an OIDC authentication action'), { name: 'InvalidConfigurationRequestException' });
}

describe('awsTraffic.setWeights with authentication before the forward', () => {
  it("keeps a listener's OIDC and Cognito actions, telling ELB to keep the existing client secret", async () => {
    elb.on(DescribeListenersCommand).resolves({ Listeners: [{ ListenerArn: LISTENER, DefaultActions: [oidc, cognito, forward(100, 0)] }] });
    elb.on(ModifyListenerCommand).callsFake((input: { DefaultActions?: Action[] }) => {
      refuseOidcWithoutSecret(input.DefaultActions);
      return {};
    });

    await awsTraffic(new ElasticLoadBalancingV2Client({ region: 'us-east-1' })).setWeights(LISTENER, [
      { targetGroupArn: BLUE, weight: 90 },
      { targetGroupArn: GREEN, weight: 10 },
    ]);

    expect(elb.commandCalls(ModifyListenerCommand)[0]!.args[0].input.DefaultActions).toEqual([
      { ...oidc, AuthenticateOidcConfig: { ...oidc.AuthenticateOidcConfig, UseExistingClientSecret: true } },
      cognito,
      {
        Type: 'forward',
        Order: 3,
        ForwardConfig: {
          TargetGroups: [
            { TargetGroupArn: BLUE, Weight: 90 },
            { TargetGroupArn: GREEN, Weight: 10 },
          ],
          TargetGroupStickinessConfig: undefined,
        },
      },
    ]);
  });

  it('does the same for a listener rule with several actions', async () => {
    elb.on(DescribeRulesCommand).resolves({ Rules: [{ RuleArn: RULE, Actions: [oidc, forward(10, 90)] }] });
    elb.on(ModifyRuleCommand).callsFake((input: { Actions?: Action[] }) => {
      refuseOidcWithoutSecret(input.Actions);
      return {};
    });

    await awsTraffic(new ElasticLoadBalancingV2Client({ region: 'us-east-1' })).setWeights(RULE, [
      { targetGroupArn: BLUE, weight: 100 },
      { targetGroupArn: GREEN, weight: 0 },
    ]);

    const sent = elb.commandCalls(ModifyRuleCommand)[0]!.args[0].input.Actions!;
    expect(sent[0]!.AuthenticateOidcConfig?.UseExistingClientSecret).toBe(true);
    expect(sent[1]!.ForwardConfig?.TargetGroups).toEqual([
      { TargetGroupArn: BLUE, Weight: 100 },
      { TargetGroupArn: GREEN, Weight: 0 },
    ]);
  });
});
