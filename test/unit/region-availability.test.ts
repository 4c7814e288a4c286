/** The Region check: which of the features Cutover uses AWS documents as missing in a Region. */
import { Aws } from 'aws-cdk-lib';
import { RegionInfo } from 'aws-cdk-lib/region-info';
import { describe, expect, it } from 'vitest';
import { RegionalFeature, regionAvailabilityProblems, type RegionalFeatureUse } from '../../infra/region-availability';

const URL: RegionalFeatureUse = { feature: RegionalFeature.FUNCTION_URL, turnOff: 'leave out the `slack` prop' };
const FUNCTION_TRACING: RegionalFeatureUse = { feature: RegionalFeature.FUNCTION_TRACING, turnOff: 'set `tracing: lambda.Tracing.DISABLED`' };
const STATE_MACHINE: RegionalFeatureUse[] = [{ feature: RegionalFeature.STATE_MACHINE_LOGGING }, { feature: RegionalFeature.STATE_MACHINE_TRACING }];
const EVERYTHING = [...STATE_MACHINE, FUNCTION_TRACING, URL];

describe('regionAvailabilityProblems', () => {
  it.each([
    ['a commercial Region', 'us-east-1', EVERYTHING],
    ['an opt-in commercial Region', 'af-south-1', EVERYTHING],
    ['GovCloud, without the Function URL', 'us-gov-west-1', [...STATE_MACHINE, FUNCTION_TRACING]],
    ['China, without the Function URL and function tracing', 'cn-north-1', STATE_MACHINE],
    ['a Region without Function URLs, when none is used', 'ap-south-2', [...STATE_MACHINE, FUNCTION_TRACING]],
  ])('finds nothing in %s (%s)', (_case, region, uses) => {
    expect(regionAvailabilityProblems(region, uses)).toEqual([]);
  });

  it.each([
    [
      'a commercial Region without them',
      'ap-south-2',
      URL,
      /^ap-south-2 does not offer Lambda function URLs \(https:\/\/docs\.aws\.amazon\.com\/lambda\/.*\): leave out the `slack` prop, or deploy to another Region$/,
    ],
    ['the China partition', 'cn-northwest-1', URL, /^cn-northwest-1 does not offer Lambda function URLs \(https:\/\/docs\.amazonaws\.cn\/.*lambda\.html\): leave out the `slack` prop/],
    ['the GovCloud partition', 'us-gov-east-1', URL, /^us-gov-east-1 does not offer Lambda function URLs \(https:\/\/docs\.aws\.amazon\.com\/govcloud-us\/.*\): leave out the `slack` prop/],
    ["China, for Lambda's X-Ray tracing", 'cn-north-1', FUNCTION_TRACING, /^cn-north-1 does not offer Lambda's X-Ray tracing \(.*\): set `tracing: lambda\.Tracing\.DISABLED`, or deploy/],
  ])('refuses a feature missing in %s (%s)', (_case, region, use, message) => {
    const problems = regionAvailabilityProblems(region, [...STATE_MACHINE, use]);

    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ kind: 'unavailable', features: [use.feature] });
    expect(problems[0]!.message).toMatch(message);
  });

  it('reports every missing feature at once', () => {
    const problems = regionAvailabilityProblems('cn-north-1', EVERYTHING);

    expect(problems.map((p) => [p.kind, p.features])).toEqual([
      ['unavailable', [RegionalFeature.FUNCTION_TRACING]],
      ['unavailable', [RegionalFeature.FUNCTION_URL]],
    ]);
  });

  it('says to deploy elsewhere when nothing turns the feature off', () => {
    const [problem] = regionAvailabilityProblems('me-central-1', [{ feature: RegionalFeature.FUNCTION_URL }]);

    expect(problem!.message).toMatch(/: deploy to another Region$/);
  });

  it('knows the commercial Regions without Function URLs that Lambda lists, all of them Regions aws-cdk-lib knows', () => {
    const commercial = RegionInfo.regions.filter((r) => r.partition === 'aws').map((r) => r.name);

    const without = commercial.filter((region) => regionAvailabilityProblems(region, [URL]).length > 0);

    // A misspelt Region in the table would be missing here: it matches no Region aws-cdk-lib knows.
    expect(without.sort()).toEqual(
      ['ap-east-2', 'ap-south-2', 'ap-southeast-4', 'ap-southeast-5', 'ap-southeast-6', 'ap-southeast-7', 'ca-west-1', 'eu-central-2', 'eu-south-2', 'il-central-1', 'me-central-1'].sort(),
    );
  });

  it.each([
    ['a token (an environment-agnostic stack)', Aws.REGION, /the stack is environment-agnostic .*set `env\.region` on the stack/],
    ['a Region aws-cdk-lib does not know', 'xx-nowhere-9', /region database does not know xx-nowhere-9/],
    ['an isolated partition', 'us-iso-east-1', /no list of feature differences for the aws-iso partition \(us-iso-east-1\)/],
    ['the European Sovereign Cloud', 'eusc-de-east-1', /for the aws-eusc partition/],
  ])('cannot check %s, and says why once for all the features', (_case, region, why) => {
    const problems = regionAvailabilityProblems(region, EVERYTHING);

    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ kind: 'unchecked', features: EVERYTHING.map((u) => u.feature) });
    expect(problems[0]!.message).toMatch(
      /^could not check that the Region offers Step Functions logging to CloudWatch Logs, Step Functions' X-Ray tracing, Lambda's X-Ray tracing, Lambda function URLs: /,
    );
    expect(problems[0]!.message).toMatch(why);
  });

  it('has nothing to say when no feature is used', () => {
    expect(regionAvailabilityProblems(Aws.REGION, [])).toEqual([]);
  });
});
