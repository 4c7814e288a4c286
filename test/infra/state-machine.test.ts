/**
 * The rollout state machine: the ASL file is valid, every error name it matches is one the functions
 * throw, and the state machine in the synthesized template is the one in state-machines/.
 */
import { readFileSync } from 'node:fs';
import aslValidator from 'asl-validator';
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ErrorName } from '../../functions/core/errors';
import { aslPlaceholders, CUTOVER_FUNCTIONS, placeholderOf, ROLLOUT_DEFINITION_PATH, substitutionsFor } from '../../infra/cutover';
import { policyStatementsOf, synthExampleApp, type ExampleApp, type Json } from './example-app';

interface State {
  readonly Type: string;
  readonly Error?: string;
  readonly Retry?: ReadonlyArray<{ ErrorEquals: string[] }>;
  readonly Catch?: ReadonlyArray<{ ErrorEquals: string[] }>;
}
interface Definition {
  readonly StartAt: string;
  readonly States: Record<string, State>;
}

const text = readFileSync(ROLLOUT_DEFINITION_PATH, 'utf8');
const asl = (): Definition & Record<string, Json> => JSON.parse(text);

/** Replaces every string that is exactly `${Name}` with `values[Name]`. */
function substitute(value: Json, values: Record<string, Json>): Json {
  if (typeof value === 'string') {
    const m = /^\$\{([A-Za-z0-9_]+)\}$/.exec(value);
    return m && m[1]! in values ? values[m[1]!]! : value;
  }
  if (Array.isArray(value)) return value.map((v) => substitute(v, values));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, values)]));
  return value;
}

/** Every state, at any depth (Parallel branches, Map processors). */
function allStates(definition: Definition): Array<[string, State]> {
  const out: Array<[string, State]> = [];
  const visit = (states: Record<string, State>) => {
    for (const [name, state] of Object.entries(states)) {
      out.push([name, state]);
      const s = state as State & { Branches?: Definition[]; ItemProcessor?: Definition; Iterator?: Definition };
      for (const branch of s.Branches ?? []) visit(branch.States);
      for (const inner of [s.ItemProcessor, s.Iterator]) if (inner) visit(inner.States);
    }
  };
  visit(definition.States);
  return out;
}

/** Error names matched by Retry/Catch that no function throws: not `States.*`, `Lambda.*`, nor a Fail state's own Error. */
function unknownErrorNames(definition: Definition): string[] {
  const states = allStates(definition);
  const failErrors = new Set(states.filter(([, s]) => s.Type === 'Fail' && s.Error).map(([, s]) => s.Error!));
  const known = new Set<string>(Object.values(ErrorName));
  const matched = states.flatMap(([, s]) => [...(s.Retry ?? []), ...(s.Catch ?? [])].flatMap((r) => r.ErrorEquals));
  // States.* are Step Functions' own; Lambda.*, Sandbox.* and Runtime.* the Lambda service's and runtime's
  // (a function killed at its timeout fails as Sandbox.Timedout, one whose process exits as Runtime.ExitError).
  const foreign = ['States.', 'Lambda.', 'Sandbox.', 'Runtime.'];
  // middy's own: a handler about to run out of its time ends with TimeoutError just before Lambda kills it.
  const middy = new Set(['TimeoutError']);
  return [...new Set(matched)].filter((n) => !foreign.some((p) => n.startsWith(p)) && !failErrors.has(n) && !known.has(n) && !middy.has(n));
}

describe('the ASL file', () => {
  it('validates with asl-validator', () => {
    // Arrange
    const definition = asl();

    // Act
    const result = aslValidator(structuredClone(definition));

    // Assert
    expect(result.errorsText('\n')).toBe('');
    expect(result.isValid).toBe(true);
  });

  it('still validates once its placeholders are Lambda ARNs', () => {
    // Arrange
    const arns = Object.fromEntries(aslPlaceholders(text).map((p) => [p, `arn:aws:lambda:eu-west-1:123456789012:function:cutover-${p}`]));

    // Act
    const result = aslValidator(substitute(asl(), arns));

    // Assert
    expect(result.errorsText('\n')).toBe('');
    expect(result.isValid).toBe(true);
  });

  it('fails asl-validator when a transition points at a missing state (the check can fail)', () => {
    // Arrange
    const broken = asl() as unknown as { States: Record<string, { Next?: string }> };
    broken.States['Register new revision']!.Next = 'No such state';

    // Act
    const result = aslValidator(broken);

    // Assert
    expect(result.isValid).toBe(false);
  });

  it('lists one placeholder per function the state machine invokes', () => {
    // Act
    const placeholders = aslPlaceholders(text);

    // Assert
    expect([...placeholders].sort()).toEqual([
      'BakeFunctionArn',
      'CheckAlarmsFunctionArn',
      'CheckSteadyFunctionArn',
      'DeployFunctionArn',
      'FinalizeFunctionArn',
      'HookFunctionArn',
      'PrepareFunctionArn',
      'RegisterFunctionArn',
      'RetireFunctionArn',
      'RollbackFunctionArn',
      'ShiftFunctionArn',
    ]);
    const known = new Set(CUTOVER_FUNCTIONS.map(placeholderOf));
    expect(placeholders.filter((p) => !known.has(p))).toEqual([]);
  });

  it('matches in Retry and Catch only error names from functions/core/errors.ts', () => {
    // Act
    const unknown = unknownErrorNames(asl());

    // Assert
    expect(unknown).toEqual([]);
  });

  it('would be caught matching an error name that no function throws', () => {
    // Arrange
    const definition = asl();
    definition.States['Prepare rollout']!.Catch![0]!.ErrorEquals.push('RolloutBusyy');

    // Act
    const unknown = unknownErrorNames(definition);

    // Assert
    expect(unknown).toEqual(['RolloutBusyy']);
  });
});

describe('definition substitutions', () => {
  it('gives every placeholder its value', () => {
    // Arrange
    const values = { AFunctionArn: 'arn:a', BFunctionArn: 'arn:b', Unused: 'arn:c' };

    // Act
    const substitutions = substitutionsFor(['AFunctionArn', 'BFunctionArn'], values);

    // Assert
    expect(substitutions).toEqual({ AFunctionArn: 'arn:a', BFunctionArn: 'arn:b' });
  });

  it('fails at synth naming each placeholder that has no value', () => {
    // Arrange
    const values = { AFunctionArn: 'arn:a' };

    // Act
    const act = () => substitutionsFor(['AFunctionArn', 'BFunctionArn', 'CFunctionArn'], values);

    // Assert
    expect(act).toThrow(/placeholders without a substitution: \$\{BFunctionArn\}, \$\{CFunctionArn\}/);
  });
});

describe('the synthesized state machine', () => {
  let example: ExampleApp;
  let properties: { DefinitionString: string; DefinitionSubstitutions: Record<string, Json>; StateMachineType: string };

  beforeAll(() => {
    example = synthExampleApp();
    const machines = example.template.findResources('AWS::StepFunctions::StateMachine');
    expect(Object.keys(machines)).toHaveLength(1);
    properties = Object.values(machines)[0]!.Properties;
  });

  it('is the definition in state-machines/, placeholders replaced by the functions ARNs', () => {
    // Arrange
    const { cutover } = example.stack;
    const expected = substitute(
      asl(),
      Object.fromEntries(CUTOVER_FUNCTIONS.filter((name) => name !== 'chat').map((name) => [placeholderOf(name), { 'Fn::GetAtt': [example.logicalId(cutover.functions[name]!), 'Arn'] }])),
    ) as unknown as Definition;

    // Act
    const deployed = substitute(JSON.parse(properties.DefinitionString), properties.DefinitionSubstitutions) as unknown as Definition;

    // Assert
    expect(deployed.StartAt).toBe(expected.StartAt);
    expect(deployed.States).toEqual(expected.States);
    expect(deployed).toEqual(expected);
  });

  it('keeps the definition inline (no S3 asset) and leaves no placeholder unsubstituted', () => {
    // Act
    const left = aslPlaceholders(properties.DefinitionString).filter((p) => !(p in properties.DefinitionSubstitutions));

    // Assert
    expect(typeof properties.DefinitionString).toBe('string');
    expect(left).toEqual([]);
  });

  it('is a Standard workflow that logs every event to a log group with retention, and is traced', () => {
    // Arrange
    const logGroupArn = { 'Fn::GetAtt': [Match.stringLikeRegexp('StateMachineLogs'), 'Arn'] };

    // Assert
    example.template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: true, Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: logGroupArn } }] },
      TracingConfiguration: { Enabled: true },
    });
    const groups = example.template.findResources('AWS::Logs::LogGroup', { Properties: { RetentionInDays: 30 } });
    expect(Object.keys(groups).filter((id) => id.includes('StateMachineLogs'))).toHaveLength(1);
  });

  it('may invoke exactly the functions its definition names, by their unqualified ARNs', () => {
    // Arrange
    const { cutover } = example.stack;
    const roleId = example.logicalId(cutover.stateMachine.role);
    const invoked = CUTOVER_FUNCTIONS.filter((name) => aslPlaceholders(text).includes(placeholderOf(name)));

    // Act
    const statements = policyStatementsOf(example.template, roleId).filter((s) => [s.Action].flat().includes('lambda:InvokeFunction'));

    // Assert
    expect(statements).toHaveLength(1);
    expect(statements[0]!.Resource).toEqual(invoked.map((name) => ({ 'Fn::GetAtt': [example.logicalId(cutover.functions[name]!), 'Arn'] })));
  });
});
