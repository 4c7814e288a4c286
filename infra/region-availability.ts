/**
 * Which of the features Cutover builds on AWS offers in a Region, checked at synth: otherwise a missing
 * feature (a Function URL in a Region without them, X-Ray on a function where Lambda has no X-Ray
 * integration) only shows when the deploy reaches it.
 *
 * aws-cdk-lib's region database (`RegionInfo`) answers which Regions exist and which partition each is in;
 * it has no facts about features. Those come from the table below: the exceptions AWS documents, each with
 * the page that says so. A partition whose differences AWS does not publish, or a Region the database does
 * not know, cannot be checked, and says so.
 */
import { Annotations, Stack, Token } from 'aws-cdk-lib';
import { RegionInfo } from 'aws-cdk-lib/region-info';
import type { Construct } from 'constructs';

/** A feature Cutover uses whose availability AWS documents by Region. */
export const RegionalFeature = {
  /** A Lambda Function URL: the Slack `/cutover` endpoint. */
  FUNCTION_URL: 'lambda-function-url',
  /** Lambda's X-Ray integration (active or pass-through tracing of the functions). */
  FUNCTION_TRACING: 'lambda-tracing',
  /** Step Functions logging to CloudWatch Logs. */
  STATE_MACHINE_LOGGING: 'states-logging',
  /** Step Functions X-Ray tracing. */
  STATE_MACHINE_TRACING: 'states-tracing',
} as const;

/** One of {@link RegionalFeature}. */
export type RegionalFeature = (typeof RegionalFeature)[keyof typeof RegionalFeature];

/** Where AWS documents a feature as not offered, and the page that says so. */
interface Exception {
  /** Regions, or whole partitions (`aws-cn`): the two kinds of names never collide. */
  readonly in: readonly string[];
  readonly see: string;
}

const LAMBDA_IN_CHINA = 'https://docs.amazonaws.cn/en_us/aws/latest/userguide/lambda.html';

/**
 * The exceptions AWS documents, by feature. A Region added to one of these pages is added here. Step
 * Functions lists no difference for logging or tracing in China or in GovCloud, and X-Ray, Step Functions
 * and CloudWatch Logs have endpoints in every commercial Region: those two features have no exception.
 *
 * @see https://docs.aws.amazon.com/lambda/latest/dg/urls-configuration.html
 * @see https://docs.amazonaws.cn/en_us/aws/latest/userguide/lambda.html
 * @see https://docs.aws.amazon.com/govcloud-us/latest/UserGuide/govcloud-lambda.html
 * @see https://docs.amazonaws.cn/en_us/aws/latest/userguide/step-functions.html
 * @see https://docs.aws.amazon.com/govcloud-us/latest/UserGuide/govcloud-step-functions.html
 * @see https://docs.aws.amazon.com/general/latest/gr/xray.html
 */
const FEATURES: Readonly<Record<RegionalFeature, { readonly name: string; readonly missing: readonly Exception[] }>> = {
  [RegionalFeature.FUNCTION_URL]: {
    name: 'Lambda function URLs',
    missing: [
      {
        in: ['ap-east-2', 'ap-south-2', 'ap-southeast-4', 'ap-southeast-5', 'ap-southeast-6', 'ap-southeast-7', 'ca-west-1', 'eu-central-2', 'eu-south-2', 'il-central-1', 'me-central-1'],
        see: 'https://docs.aws.amazon.com/lambda/latest/dg/urls-configuration.html',
      },
      { in: ['aws-cn'], see: LAMBDA_IN_CHINA },
      { in: ['aws-us-gov'], see: 'https://docs.aws.amazon.com/govcloud-us/latest/UserGuide/govcloud-lambda.html' },
    ],
  },
  [RegionalFeature.FUNCTION_TRACING]: { name: "Lambda's X-Ray tracing", missing: [{ in: ['aws-cn'], see: LAMBDA_IN_CHINA }] },
  [RegionalFeature.STATE_MACHINE_LOGGING]: { name: 'Step Functions logging to CloudWatch Logs', missing: [] },
  [RegionalFeature.STATE_MACHINE_TRACING]: { name: "Step Functions' X-Ray tracing", missing: [] },
};

/** The partitions whose feature differences AWS publishes (commercial, China, GovCloud). */
export const DOCUMENTED_PARTITIONS: readonly string[] = ['aws', 'aws-cn', 'aws-us-gov'];

/** A feature the construct uses, and the prop that turns it off. */
export interface RegionalFeatureUse {
  readonly feature: RegionalFeature;
  /**
   * How to turn the feature off, naming the prop (`set \`tracing: lambda.Tracing.DISABLED\``).
   * @default - nothing turns it off: the construct always uses it
   */
  readonly turnOff?: string;
}

/** Something the Region check found. */
export interface RegionProblem {
  /**
   * `unavailable`: AWS documents the feature as not offered in the Region (the deploy would fail);
   * `unchecked`: nothing to check against (the Region is a token, unknown, or in an undocumented partition).
   */
  readonly kind: 'unavailable' | 'unchecked';
  /** The features concerned. */
  readonly features: readonly RegionalFeature[];
  /** What is wrong and how to fix it, naming the Region and the prop. */
  readonly message: string;
}

/**
 * The features of `uses` that AWS documents as missing in `region`, one problem each; or a single
 * `unchecked` problem when the Region cannot be checked. An empty array means all of them are offered.
 *
 * @example
 * regionAvailabilityProblems('ap-south-2', [{ feature: RegionalFeature.FUNCTION_URL, turnOff: 'leave out `slack`' }]);
 * // [{ kind: 'unavailable', features: ['lambda-function-url'],
 * //    message: 'ap-south-2 does not offer Lambda function URLs (…/urls-configuration.html): leave out `slack`, or deploy to another Region' }]
 */
export function regionAvailabilityProblems(region: string, uses: readonly RegionalFeatureUse[]): RegionProblem[] {
  if (uses.length === 0) return [];
  const features = uses.map((u) => u.feature);
  const unchecked = (why: string): RegionProblem[] => [{ kind: 'unchecked', features, message: `could not check that the Region offers ${features.map((f) => FEATURES[f].name).join(', ')}: ${why}` }];
  if (Token.isUnresolved(region)) {
    return unchecked('the stack is environment-agnostic (its Region is a token); set `env.region` on the stack (e.g. `env: { region: process.env.CDK_DEFAULT_REGION }`) to check it at synth');
  }
  const partition = RegionInfo.get(region).partition;
  if (partition === undefined) return unchecked(`aws-cdk-lib's region database does not know ${region} (a newer aws-cdk-lib may)`);
  if (!DOCUMENTED_PARTITIONS.includes(partition)) return unchecked(`AWS publishes no list of feature differences for the ${partition} partition (${region})`);
  return uses.flatMap(({ feature, turnOff }): RegionProblem[] => {
    const { name, missing } = FEATURES[feature];
    const exception = missing.find((e) => e.in.includes(region) || e.in.includes(partition));
    if (!exception) return [];
    const fix = turnOff ? `${turnOff}, or deploy to another Region` : 'deploy to another Region';
    return [{ kind: 'unavailable', features: [feature], message: `${region} does not offer ${name} (${exception.see}): ${fix}` }];
  });
}

/** The id of the warning given when the Region cannot be checked (acknowledge it with `Validations.of(scope).acknowledge`). */
export const REGION_AVAILABILITY_WARNING = '@cutover/region-availability';

/**
 * Runs {@link regionAvailabilityProblems} for the stack of `scope`: a feature the Region lacks fails
 * synthesis (a validation error on `scope`), a Region that cannot be checked is a warning.
 */
export function checkRegionAvailability(scope: Construct, uses: readonly RegionalFeatureUse[]): void {
  const problems = regionAvailabilityProblems(Stack.of(scope).region, uses);
  const errors = problems.filter((p) => p.kind === 'unavailable').map((p) => `Cutover: ${p.message}`);
  if (errors.length) scope.node.addValidation({ validate: () => errors });
  for (const p of problems.filter((p) => p.kind === 'unchecked')) Annotations.of(scope).addWarningV2(REGION_AVAILABILITY_WARNING, `Cutover ${p.message}`);
}
