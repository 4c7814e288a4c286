import { describe, expect, it } from 'vitest';
import { ErrorName } from '../../functions/core/errors';
import { DEFAULT_LEASE_MS } from '../../functions/core/ownership';
import { readRolloutDefinition } from '../../state-machines/definition';
import { StateName } from '../../state-machines/states';

describe('StateName', () => {
  it('names exactly the states of rollout.asl.json, each once', () => {
    const states = Object.keys((JSON.parse(readRolloutDefinition()) as { States: Record<string, unknown> }).States);

    expect([...Object.values(StateName)].sort()).toEqual([...states].sort());
  });
});

describe('the states that take a service', () => {
  type Task = { Retry?: Array<{ ErrorEquals: string[]; IntervalSeconds?: number; BackoffRate?: number; MaxAttempts?: number; JitterStrategy?: string }> };
  const states = (JSON.parse(readRolloutDefinition()) as { States: Record<string, Task> }).States;

  it('Prepare retries LeaseOpen, without jitter, for longer than a lease can stay open', () => {
    const retrier = states[StateName.PrepareRollout]!.Retry!.find((r) => r.ErrorEquals.includes(ErrorName.LeaseOpen))!;
    const waits = Array.from({ length: retrier.MaxAttempts ?? 3 }, (_, i) => (retrier.IntervalSeconds ?? 1) * (retrier.BackoffRate ?? 2) ** i);

    expect(retrier.JitterStrategy ?? 'NONE').toBe('NONE');
    expect(waits.reduce((a, b) => a + b, 0) * 1000).toBeGreaterThan(DEFAULT_LEASE_MS);
  });
});

describe('retries of Lambda itself', () => {
  /** What AWS documents as transient Lambda service errors, to be retried by every Task (Step Functions best practice). */
  const LAMBDA_TRANSIENT = ['Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException', 'Lambda.TooManyRequestsException', 'Lambda.ClientExecutionTimeoutException'];
  const states = (JSON.parse(readRolloutDefinition()) as { States: Record<string, { Type: string; Retry?: Array<{ ErrorEquals: string[] }> }> }).States;

  it.each(Object.entries(states).filter(([, s]) => s.Type === 'Task'))('%s retries every transient Lambda error', (_name, state) => {
    const retried = new Set((state.Retry ?? []).flatMap((r) => r.ErrorEquals));

    expect(retried.has('States.ALL') ? [] : LAMBDA_TRANSIENT.filter((e) => !retried.has(e))).toEqual([]);
  });

  it.each(Object.entries(states).filter(([, s]) => s.Type === 'Task'))('%s retries a function that ran out of its time, as after a crash', (_name, state) => {
    const retried = new Set((state.Retry ?? []).flatMap((r) => r.ErrorEquals));

    // Lambda's own time-out (Sandbox.Timedout), and middy's early one just before it (TimeoutError): the step
    // is idempotent under its fence, and a late write of the attempt that ran out is the one its retry makes.
    expect(retried.has('States.ALL') ? [] : ['Sandbox.Timedout', 'TimeoutError'].filter((e) => !retried.has(e))).toEqual([]);
  });
});
