import { describe, expect, it } from 'vitest';
import { CONCURRENCY_POLICIES, ConfigMessage, SCAN_SEVERITIES, servicesFromEnv, tagMatches, validateServiceConfig, validateServices } from '../../functions/core/config';
import { ErrorName } from '../../functions/core/errors';
import { ownResources } from '../fixtures/own-resources';
import { serviceConfig, serviceInput } from '../fixtures/state';

/** A valid config changed by `change`; JSON round-trip so the change may break types freely. */
function changed(change: (c: Record<string, any>) => void): unknown {
  const config = JSON.parse(JSON.stringify(serviceConfig())) as Record<string, any>;
  change(config);
  return config;
}

describe('tagMatches', () => {
  it.each<[string, string, boolean]>([
    ['v*', 'v1.4.2', true],
    ['v*', 'v', true],
    ['v*', 'release-1', false],
    ['v*', 'xv1', false],
    ['main-*', 'main-3f2a9c1', true],
    ['main-*', 'main', false],
    ['main-*', 'feature-main-1', false],
    ['v?.?', 'v1.2', true],
    ['v?.?', 'v1.20', false],
    ['v?.?', 'v12', false],
    ['v?.?', 'v1x2', false],
    ['*-rc?', 'v2.0.0-rc1', true],
    ['*-rc?', 'v2.0.0-rc10', false],
  ])('the glob %s matches %s: %s', (filter, tag, expected) => {
    expect(tagMatches(filter, tag)).toBe(expected);
  });

  it.each<[string, string, boolean]>([
    ['/^release-\\d+$/', 'release-42', true],
    ['/^release-\\d+$/', 'release-x', false],
    ['/^release-\\d+$/', 'prerelease-42', false],
    ['/^release-\\d+$/', 'release-42-hotfix', false],
    ['/rc/', 'v1.0.0-rc1', true],
    ['/^(main|develop)-[0-9a-f]{7}$/', 'develop-3f2a9c1', true],
    ['/^(main|develop)-[0-9a-f]{7}$/', 'feature-3f2a9c1', false],
  ])('the regex %s matches %s: %s', (filter, tag, expected) => {
    expect(tagMatches(filter, tag)).toBe(expected);
  });

  it.each<[string, string, string]>([
    ['a.b', 'a.b', 'axb'],
    ['v1+', 'v1+', 'v11'],
    ['(a|b)', '(a|b)', 'a'],
    ['[ab]', '[ab]', 'a'],
    ['^v$', '^v$', 'v'],
    ['v{2}', 'v{2}', 'vv'],
    ['a\\d', 'a\\d', 'a1'],
  ])('escapes regex characters in the glob %s: it matches %s literally, not %s', (filter, literal, other) => {
    expect([tagMatches(filter, literal), tagMatches(filter, other)]).toEqual([true, false]);
  });

  it.each([['v1.4.2'], ['anything at all'], [undefined]])('passes every push without a filter (tag %s)', (tag) => {
    expect(tagMatches(undefined, tag)).toBe(true);
  });

  it.each([['*'], ['v*'], ['/.*/']])('never passes an untagged push through the filter %s', (filter) => {
    expect(tagMatches(filter, undefined)).toBe(false);
  });

  it('reads a filter of two slashes as a glob, not an empty regex', () => {
    expect([tagMatches('//', '//'), tagMatches('//', 'v1')]).toEqual([true, false]);
  });
});

describe('validateServiceConfig: production settings', () => {
  it('accepts a service without any of them (all optional)', () => {
    expect(validateServiceConfig(serviceConfig())).toEqual([]);
  });

  it.each<[string, (c: Record<string, any>) => void]>([
    ...CONCURRENCY_POLICIES.map((p): [string, (c: Record<string, any>) => void] => [`concurrency ${p}`, (c) => (c.concurrency = p)]),
    ['the glob tag filter v*', (c) => (c.tagFilter = 'v*')],
    ['the regex tag filter /^release-\\d+$/', (c) => (c.tagFilter = '/^release-\\d+$/')],
    ['a tag filter of 200 characters', (c) => (c.tagFilter = `${'v'.repeat(199)}*`)],
    ...SCAN_SEVERITIES.map((s): [string, (c: Record<string, any>) => void] => [`imageScan.failOn ${s}`, (c) => (c.imageScan = { failOn: s })]),
    ['keepRevisions 0', (c) => (c.keepRevisions = 0)],
    ['keepRevisions 5', (c) => (c.keepRevisions = 5)],
    ['keepRevisions 100', (c) => (c.keepRevisions = 100)],
    ['adoptDrift true', (c) => (c.adoptDrift = true)],
    ['adoptDrift false', (c) => (c.adoptDrift = false)],
  ])('accepts %s', (_name, change) => {
    expect(validateServiceConfig(changed(change))).toEqual([]);
  });

  it.each<[string, (c: Record<string, any>) => void, string]>([
    ['an unknown concurrency policy', (c) => (c.concurrency = 'parallel'), `service.concurrency: ${ConfigMessage.CONCURRENCY}`],
    ['a concurrency policy in the wrong case', (c) => (c.concurrency = 'Queue'), `service.concurrency: ${ConfigMessage.CONCURRENCY}`],
    ['a concurrency that is not a string', (c) => (c.concurrency = 1), `service.concurrency: ${ConfigMessage.CONCURRENCY}`],
    ['an empty tag filter', (c) => (c.tagFilter = ''), `service.tagFilter: ${ConfigMessage.TAG_FILTER}`],
    ['a tag filter of 201 characters', (c) => (c.tagFilter = `${'v'.repeat(200)}*`), `service.tagFilter: ${ConfigMessage.TAG_FILTER}`],
    ['a tag filter that is not a string', (c) => (c.tagFilter = ['v*']), `service.tagFilter: ${ConfigMessage.TAG_FILTER}`],
    ['the invalid regex /[/', (c) => (c.tagFilter = '/[/'), `service.tagFilter: ${ConfigMessage.TAG_FILTER_RE2} (RE2: missing closing ]: \`[\`)`],
    ['the invalid regex /(v/', (c) => (c.tagFilter = '/(v/'), `service.tagFilter: ${ConfigMessage.TAG_FILTER_RE2} (RE2: missing closing ): \`(v\`)`],
    ['an unknown scan severity', (c) => (c.imageScan = { failOn: 'SEVERE' }), `service.imageScan.failOn: ${ConfigMessage.SEVERITY}`],
    ['a scan severity in lower case', (c) => (c.imageScan = { failOn: 'critical' }), `service.imageScan.failOn: ${ConfigMessage.SEVERITY}`],
    ['an image scan without failOn', (c) => (c.imageScan = {}), `service.imageScan.failOn: ${ConfigMessage.SEVERITY}`],
    ['an image scan of null', (c) => (c.imageScan = null), `service.imageScan.failOn: ${ConfigMessage.SEVERITY}`],
    ['keepRevisions below 0', (c) => (c.keepRevisions = -1), `service.keepRevisions: ${ConfigMessage.KEEP}`],
    ['keepRevisions above 100', (c) => (c.keepRevisions = 101), `service.keepRevisions: ${ConfigMessage.KEEP}`],
    ['a fractional keepRevisions', (c) => (c.keepRevisions = 2.5), `service.keepRevisions: ${ConfigMessage.KEEP}`],
    ['keepRevisions as a string', (c) => (c.keepRevisions = '5'), `service.keepRevisions: ${ConfigMessage.KEEP}`],
    ['keepRevisions NaN', (c) => (c.keepRevisions = Number.NaN), `service.keepRevisions: ${ConfigMessage.KEEP}`],
    ['adoptDrift as a string', (c) => (c.adoptDrift = 'true'), `service.adoptDrift: ${ConfigMessage.BOOLEAN}`],
    ['adoptDrift as a number', (c) => (c.adoptDrift = 1), `service.adoptDrift: ${ConfigMessage.BOOLEAN}`],
    ['adoptDrift null', (c) => (c.adoptDrift = null), `service.adoptDrift: ${ConfigMessage.BOOLEAN}`],
  ])('refuses %s with its path and message', (_name, change, expected) => {
    expect(validateServiceConfig(changed(change))).toEqual([expected]);
  });

  it('reports every broken production setting at once', () => {
    const config = changed((c) => Object.assign(c, { concurrency: 'all', tagFilter: '/[/', imageScan: { failOn: 'BAD' }, keepRevisions: 1000, adoptDrift: 'yes' }));

    expect(validateServiceConfig(config)).toEqual([
      `service.concurrency: ${ConfigMessage.CONCURRENCY}`,
      `service.tagFilter: ${ConfigMessage.TAG_FILTER_RE2} (RE2: missing closing ]: \`[\`)`,
      `service.imageScan.failOn: ${ConfigMessage.SEVERITY}`,
      `service.keepRevisions: ${ConfigMessage.KEEP}`,
      `service.adoptDrift: ${ConfigMessage.BOOLEAN}`,
    ]);
  });

  it('names the service by its index in a list', () => {
    const services = [serviceConfig(), serviceConfig({ name: 'payments', repository: 'payments', ...ownResources('payments'), concurrency: 'later' as never, keepRevisions: -2 })];

    expect(validateServices(services)).toEqual([`services[1].concurrency: ${ConfigMessage.CONCURRENCY}`, `services[1].keepRevisions: ${ConfigMessage.KEEP}`]);
  });

  it('refuses an invalid regex tag filter in the start function environment with InvalidConfig', () => {
    const env = JSON.stringify([serviceInput(), serviceInput({ name: 'checkout-rc', ...ownResources('checkout-rc'), tagFilter: '/[/' })]);

    expect(() => servicesFromEnv(env)).toThrow(
      expect.objectContaining({ name: ErrorName.InvalidConfig, problems: [`services[1].tagFilter: ${ConfigMessage.TAG_FILTER_RE2} (RE2: missing closing ]: \`[\`)`] }),
    );
  });

  it('lists exactly the scan severities in its message', () => {
    expect(ConfigMessage.SEVERITY).toBe(`must be one of ${SCAN_SEVERITIES.join(', ')}`);
  });
});
