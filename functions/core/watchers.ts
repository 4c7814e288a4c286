/**
 * Which services watch which alarms, and where their traffic is: what the alarm function needs to abort a
 * rollout without reading the locks first. The construct writes it into the alarm function's environment
 * (`CUTOVER_WATCHERS`), a small part of each service's configuration; this module stays free of the
 * configuration's validators (and their regular-expression engine) so the reaction path loads little.
 */
import { analysisAlarmPrefix, resolvedAnalysis } from './analysis';
import type { ServiceConfig } from './config';
import { InvalidConfigError } from './errors';

/**
 * A service's name, the alarms it watches and the listener (or listener rule) its traffic is on; with a canary
 * analysis, the prefix of its rollouts' comparison alarms, and whether they only record (dry run).
 */
export type Watcher = Pick<ServiceConfig, 'name' | 'alarms' | 'listenerArn'> & { readonly comparisonAlarms?: { readonly prefix: string; readonly dryRun: boolean } };

/** True if the watcher watches the alarm: one of its own, or a comparison alarm of one of its rollouts. */
export const watches = (watcher: Watcher, alarm: string): boolean => watcher.alarms.includes(alarm) || (watcher.comparisonAlarms !== undefined && alarm.startsWith(watcher.comparisonAlarms.prefix));

/** The environment variable that holds the watchers. */
export const WATCHERS_VARIABLE = 'CUTOVER_WATCHERS';

/** The watchers of each service, as the construct writes them. */
export const watchersOf = (services: ReadonlyArray<Pick<ServiceConfig, 'name' | 'alarms' | 'listenerArn' | 'analysis'>>): Watcher[] =>
  services.map(({ name, alarms, listenerArn, analysis }) => ({
    name,
    alarms: [...alarms],
    listenerArn,
    ...(analysis ? { comparisonAlarms: { prefix: analysisAlarmPrefix(name), dryRun: resolvedAnalysis(analysis).dryRun } } : {}),
  }));

/** Parses `CUTOVER_WATCHERS`; InvalidConfig, with every problem, when it is not what the construct writes. */
export function watchersFromEnv(json: string): Watcher[] {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (error) {
    throw new InvalidConfigError(WATCHERS_VARIABLE, [`not valid JSON: ${(error as Error).message}`]);
  }
  if (!Array.isArray(raw)) throw new InvalidConfigError(WATCHERS_VARIABLE, ['must be a JSON array of { name, alarms, listenerArn }']);
  const problems = raw.flatMap((w: unknown, i) => {
    const o = (typeof w === 'object' && w !== null ? w : {}) as Record<string, unknown>;
    const bad: string[] = [];
    if (typeof o.name !== 'string' || o.name === '') bad.push(`[${i}].name: must be a service name`);
    if (!Array.isArray(o.alarms) || !o.alarms.every((a) => typeof a === 'string')) bad.push(`[${i}].alarms: must be a list of alarm names`);
    if (typeof o.listenerArn !== 'string' || !o.listenerArn.startsWith('arn:')) bad.push(`[${i}].listenerArn: must be a listener or listener rule ARN`);
    const a = o.comparisonAlarms as Record<string, unknown> | undefined;
    if (a !== undefined && (typeof a !== 'object' || a === null || typeof a.prefix !== 'string' || a.prefix === '' || typeof a.dryRun !== 'boolean'))
      bad.push(`[${i}].comparisonAlarms: must be { prefix, dryRun }`);
    return bad;
  });
  if (problems.length) throw new InvalidConfigError(WATCHERS_VARIABLE, problems);
  return raw as Watcher[];
}
