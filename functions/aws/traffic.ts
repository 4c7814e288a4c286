/**
 * The {@link Traffic} port over ELBv2: reads and sets the weights of a listener's default forward action
 * or of a listener rule's forward action. Both shapes are handled: a weighted `ForwardConfig` (read as exact
 * percentages of its total), and a plain `TargetGroupArn` forward (which reads as that group at 100).
 * @see https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-listeners.html#forward-actions
 */
import {
  CreateRuleCommand,
  DeleteRuleCommand,
  DescribeListenersCommand,
  DescribeTagsCommand,
  DescribeRulesCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  ModifyListenerCommand,
  ModifyRuleCommand,
  type Action,
  type RuleCondition as AlbCondition,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { ForwardView, ListenerActions, RuleCondition, RuleView, TargetHealthView, Traffic } from '../core/ports';
import { sdkOptions } from './clients';
import { edge, errorName } from './edge';

const isRule = (arn: string) => arn.includes(':listener-rule/');

/**
 * Weights of a forward action in percent of the total, by target group ARN. ALB weights are 0-999 and
 * relative, so the share is exact and never rounded: 999/1 reads 99.9 / 0.1 (traffic on both), and only a
 * group holding all of the weight reads 100 (the quotient is exact then). All weights 0 read 0 each.
 * @see https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_TargetGroupTuple.html
 */
export function forwardWeights(action: Action): Record<string, number> {
  const groups = action.ForwardConfig?.TargetGroups;
  if (groups && groups.length > 0) {
    // A target group without a weight counts as 1 (the ALB default); a single group takes everything.
    const raw = groups.map((g) => ({ arn: g.TargetGroupArn ?? '', weight: g.Weight ?? 1 }));
    const total = raw.reduce((sum, g) => sum + g.weight, 0);
    return Object.fromEntries(raw.map((g) => [g.arn, total === 0 ? 0 : (g.weight * 100) / total]));
  }
  if (action.TargetGroupArn) return { [action.TargetGroupArn]: 100 };
  return {};
}

/**
 * An action sent back as it was read. DescribeListeners and DescribeRules never return an OIDC action's
 * client secret, and ModifyListener / ModifyRule refuse an `authenticate-oidc` action without one unless it
 * says to keep the existing secret.
 * @see https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_AuthenticateOidcActionConfig.html
 */
export function keptAction(action: Action): Action {
  const oidc = action.AuthenticateOidcConfig;
  if (action.Type !== 'authenticate-oidc' || !oidc || oidc.ClientSecret) return action;
  return { ...action, AuthenticateOidcConfig: { ...oidc, UseExistingClientSecret: true } };
}

export function awsTraffic(client: ElasticLoadBalancingV2Client = new ElasticLoadBalancingV2Client(sdkOptions)): Traffic {
  async function readActions(arn: string): Promise<Action[] | undefined> {
    try {
      if (isRule(arn)) {
        const out = await edge('elasticloadbalancing:DescribeRules', () => client.send(new DescribeRulesCommand({ RuleArns: [arn] })));
        return out.Rules?.[0]?.Actions;
      }
      const out = await edge('elasticloadbalancing:DescribeListeners', () => client.send(new DescribeListenersCommand({ ListenerArns: [arn] })));
      return out.Listeners?.[0]?.DefaultActions;
    } catch (error) {
      if (errorName(error) === 'ListenerNotFoundException' || errorName(error) === 'RuleNotFoundException') return undefined;
      throw error;
    }
  }

  return {
    async readForward(arn): Promise<ForwardView | undefined> {
      const actions = await readActions(arn);
      if (!actions) return undefined;
      const forward = actions.find((a) => a.Type === 'forward');
      return { weights: forward ? forwardWeights(forward) : {} };
    },

    async readActions(arn): Promise<ListenerActions | undefined> {
      const actions = await readActions(arn);
      return actions && { arn, actions };
    },

    async setWeights(arn, weights, read) {
      const actions = (read?.arn === arn ? (read.actions as Action[]) : await readActions(arn)) ?? [];
      const previous = actions.find((a) => a.Type === 'forward');
      const forward: Action = {
        Type: 'forward',
        Order: previous?.Order,
        ForwardConfig: {
          TargetGroups: weights.map((w) => ({ TargetGroupArn: w.targetGroupArn, Weight: w.weight })),
          TargetGroupStickinessConfig: previous?.ForwardConfig?.TargetGroupStickinessConfig,
        },
      };
      // Keep any other actions (authentication before the forward) as they are; see keptAction.
      const next = previous ? actions.map((a) => (a === previous ? forward : keptAction(a))) : [...actions.map(keptAction), forward];
      if (isRule(arn)) {
        await edge('elasticloadbalancing:ModifyRule', () => client.send(new ModifyRuleCommand({ RuleArn: arn, Actions: next })));
      } else {
        await edge('elasticloadbalancing:ModifyListener', () => client.send(new ModifyListenerCommand({ ListenerArn: arn, DefaultActions: next })));
      }
    },

    async existingTargetGroups(arns) {
      const found = new Set<string>();
      for (const arn of arns) {
        try {
          const out = await edge('elasticloadbalancing:DescribeTargetGroups', () => client.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [arn] })));
          if (out.TargetGroups?.length) found.add(arn);
        } catch (error) {
          if (errorName(error) !== 'TargetGroupNotFoundException') throw error;
        }
      }
      return found;
    },

    async describeRules(listenerArn): Promise<RuleView[] | undefined> {
      const rules: RuleView[] = [];
      let marker: string | undefined;
      try {
        do {
          const out = await edge('elasticloadbalancing:DescribeRules', () => client.send(new DescribeRulesCommand({ ListenerArn: listenerArn, Marker: marker, PageSize: 400 })));
          for (const r of out.Rules ?? []) rules.push(ruleView(r));
          marker = out.NextMarker;
        } while (marker);
      } catch (error) {
        if (errorName(error) === 'ListenerNotFoundException') return undefined;
        throw error;
      }
      return rules;
    },

    async ruleTags(arns) {
      const tags: Record<string, Record<string, string>> = {};
      // DescribeTags takes at most 20 resources a call.
      for (let i = 0; i < arns.length; i += 20) {
        const out = await edge('elasticloadbalancing:DescribeTags', () => client.send(new DescribeTagsCommand({ ResourceArns: arns.slice(i, i + 20) })));
        for (const d of out.TagDescriptions ?? []) if (d.ResourceArn) tags[d.ResourceArn] = Object.fromEntries((d.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
      }
      return tags;
    },

    async createRule(rule) {
      const out = await edge('elasticloadbalancing:CreateRule', () =>
        client
          .send(
            new CreateRuleCommand({
              ListenerArn: rule.listenerArn,
              Priority: rule.priority,
              Conditions: rule.conditions.map(albCondition),
              Actions: [{ Type: 'forward', ForwardConfig: { TargetGroups: [{ TargetGroupArn: rule.targetGroupArn, Weight: 1 }] } }],
              // Tagged in the same call: a rule never exists untagged, so a retry always finds it.
              Tags: Object.entries(rule.tags).map(([Key, Value]) => ({ Key, Value })),
            }),
          )
          .catch((error: unknown) => {
            // Another writer (a second service's rollout on a shared listener) took the priority since the read.
            if (errorName(error) === 'PriorityInUseException') return undefined;
            throw error;
          }),
      );
      if (!out) return undefined;
      const arn = out.Rules?.[0]?.RuleArn;
      if (!arn) throw new Error(`CreateRule on ${rule.listenerArn} answered no rule ARN`);
      return arn;
    },

    async deleteRule(arn) {
      try {
        await edge('elasticloadbalancing:DeleteRule', () => client.send(new DeleteRuleCommand({ RuleArn: arn })));
      } catch (error) {
        // Already deleted (a retry, or a cleanup that raced another): the end state is the same.
        if (errorName(error) !== 'RuleNotFoundException') throw error;
      }
    },

    async targetHealth(arn): Promise<TargetHealthView | undefined> {
      try {
        const out = await edge('elasticloadbalancing:DescribeTargetHealth', () => client.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn })));
        return targetHealthView(out.TargetHealthDescriptions ?? []);
      } catch (error) {
        if (errorName(error) === 'TargetGroupNotFoundException') return undefined;
        throw error;
      }
    },
  };
}

/**
 * Counts targets by health. Only `healthy` counts as able to serve: `initial` (still being checked),
 * `draining`, `unhealthy`, `unused` and `unavailable` do not.
 * @see https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_TargetHealth.html
 */
export function targetHealthView(descriptions: ReadonlyArray<{ readonly TargetHealth?: { readonly State?: string; readonly Reason?: string } }>): TargetHealthView {
  const others = new Map<string, number>();
  let healthy = 0;
  for (const d of descriptions) {
    const state = d.TargetHealth?.State ?? 'unknown';
    if (state === 'healthy') healthy++;
    else {
      const key = d.TargetHealth?.Reason ? `${state} (${d.TargetHealth.Reason})` : state;
      others.set(key, (others.get(key) ?? 0) + 1);
    }
  }
  return { healthy, total: descriptions.length, problems: [...others].map(([key, n]) => `${n} ${key}`) };
}

/** A rule as the core reads it: its priority (`default` for the listener's default rule) and conditions. */
export function ruleView(rule: { readonly RuleArn?: string; readonly Priority?: string; readonly IsDefault?: boolean; readonly Conditions?: readonly AlbCondition[] }): RuleView {
  const priority = rule.IsDefault || rule.Priority === 'default' ? 'default' : Number(rule.Priority);
  return { arn: rule.RuleArn ?? '', priority: Number.isFinite(priority) ? priority : 'default', conditions: (rule.Conditions ?? []).map(conditionView) };
}

/** An ALB condition as the core reads it; `raw` keeps it exactly, to copy it onto the test rule. */
export function conditionView(c: AlbCondition): RuleCondition {
  const field = c.Field ?? '';
  const values =
    c.HttpHeaderConfig?.Values ??
    c.SourceIpConfig?.Values ??
    c.PathPatternConfig?.Values ??
    c.HostHeaderConfig?.Values ??
    c.HttpRequestMethodConfig?.Values ??
    c.QueryStringConfig?.Values?.map((q) => (q.Key ? `${q.Key}=${q.Value ?? ''}` : (q.Value ?? ''))) ??
    c.Values ??
    [];
  return { field, values: [...values], ...(c.HttpHeaderConfig?.HttpHeaderName ? { headerName: c.HttpHeaderConfig.HttpHeaderName } : {}), raw: c };
}

/** The core's condition as ALB takes it (a read one exactly as it was read). */
export function albCondition(c: RuleCondition): AlbCondition {
  if (c.raw) return c.raw as AlbCondition;
  if (c.field === 'http-header') return { Field: 'http-header', HttpHeaderConfig: { HttpHeaderName: c.headerName, Values: [...c.values] } };
  if (c.field === 'source-ip') return { Field: 'source-ip', SourceIpConfig: { Values: [...c.values] } };
  if (c.field === 'path-pattern') return { Field: 'path-pattern', PathPatternConfig: { Values: [...c.values] } };
  if (c.field === 'host-header') return { Field: 'host-header', HostHeaderConfig: { Values: [...c.values] } };
  return { Field: c.field, Values: [...c.values] };
}
