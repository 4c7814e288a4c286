/**
 * The fault matrix: every AWS operation each function calls on a rollout's path, × fails once / fails until
 * retries are exhausted, × every kind of fault, during a rollout and during a rollback; and what each run
 * must end in. Pure data and rules: the e2e tests run it, the report script and a unit test count it.
 */
import { FAULT_KINDS, FAULT_MODES, type Fault, type FaultKind, type FaultMode } from '../../infra/local/faults';

/**
 * The AWS operations each function calls in a rollout that succeeds, in the order it first calls them.
 * Written out, not derived: the baseline run asserts that the functions call exactly these, so a handler
 * that starts calling something new fails until it is added here (and to its IAM policy).
 */
export const ROLLOUT_CALLS = {
  // The first start of the execution name is claimed (PutItem): a duplicate delivery is counted once.
  start: ['ecr:DescribeImages', 'states:StartExecution', 'dynamodb:PutItem'],
  prepare: [
    'ecr:DescribeImages',
    'dynamodb:GetItem',
    'dynamodb:UpdateItem',
    'dynamodb:DeleteItem',
    'states:DescribeExecution',
    'elasticloadbalancing:DescribeListeners',
    'elasticloadbalancing:DescribeTargetGroups',
    'cloudwatch:DescribeAlarms',
    'ecs:DescribeServices',
    'ecs:DescribeTaskDefinition',
  ],
  register: ['ecs:DescribeTaskDefinition', 'dynamodb:UpdateItem', 'ecs:RegisterTaskDefinition'],
  deploy: ['dynamodb:UpdateItem', 'ecs:UpdateService'],
  'check-steady': ['ecs:DescribeServices', 'dynamodb:GetItem'],
  // The retained slot is read too (its service, its target group's health): the rollback target must work.
  'check-alarms': ['dynamodb:GetItem', 'cloudwatch:DescribeAlarms', 'ecs:DescribeServices', 'ecs:DescribeTaskDefinition', 'elasticloadbalancing:DescribeTargetHealth', 'dynamodb:UpdateItem'],
  shift: ['dynamodb:UpdateItem', 'elasticloadbalancing:DescribeListeners', 'elasticloadbalancing:ModifyListener', 'dynamodb:PutItem'],
  bake: ['dynamodb:UpdateItem'],
  finalize: ['ecs:DescribeServices', 'dynamodb:UpdateItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'ecs:ListTaskDefinitions', 'dynamodb:Query'],
  retire: ['dynamodb:UpdateItem', 'dynamodb:GetItem', 'elasticloadbalancing:DescribeListeners', 'ecs:DescribeServices', 'ecs:UpdateService', 'dynamodb:Query'],
} as const satisfies Record<string, readonly string[]>;

/**
 * The abort path and the rollback, as an alarm at 10% drives them. The rollback's steps, in order: the fence
 * (proves it owns the service), read when the abort was recorded (beside the weights change, best effort),
 * weights back, the idle slot back, the history record, the service's state (read, then written), the lock
 * released (an UpdateItem: the lock item stays, with its generation), the next waiting rollout woken.
 */
export const ROLLBACK_CALLS = {
  // The abort (one write that also fences, on the lock of each service configured to watch the alarm: no read
  // first), the listener read beside it, the weights back (one hop), the token.
  alarm: ['dynamodb:UpdateItem', 'elasticloadbalancing:DescribeListeners', 'elasticloadbalancing:ModifyListener', 'states:SendTaskFailure'],
  rollback: [
    'dynamodb:UpdateItem',
    'dynamodb:GetItem',
    'elasticloadbalancing:DescribeListeners',
    'elasticloadbalancing:ModifyListener',
    // Is the retained revision still registered? (ECS refuses to point a service at an INACTIVE one.)
    'ecs:DescribeTaskDefinition',
    'ecs:UpdateService',
    'dynamodb:PutItem',
    'dynamodb:Query',
  ],
} as const satisfies Record<string, readonly string[]>;

/**
 * Which scenario a fault is injected into:
 * - `rollout`: a push rolls out 10% → bake → 100% and succeeds;
 * - `rollback`: the same rollout, `checkout-5xx` goes to ALARM during the bake at 10%, and it rolls back.
 */
export type Scenario = 'rollout' | 'rollback';

export interface MatrixRow extends Fault {
  readonly scenario: Scenario;
}

/** The kinds that reach the handler as the same `AwsTransient` once the SDK gives up; they differ beneath it. */
const SDK_KINDS: readonly FaultKind[] = FAULT_KINDS.filter((k) => k !== 'crash');

/**
 * Which kinds each (function, operation, mode) cell runs:
 * - `all`: every kind (the full matrix, `npm run test:faults`);
 * - `rotate`: a crash, and one of throttle / 5xx / timeout taking turns, so every cell meets a transient
 *   fault and a crash (what `npm test` runs, to keep it fast; the three transient kinds differ only beneath
 *   the SDK's retry, and all reach the handler as `AwsTransient`).
 */
export type KindSelection = 'all' | 'rotate';

/** `CUTOVER_FAULT_KINDS=all` runs the full matrix. @default rotate */
export const kindSelection = (env: NodeJS.ProcessEnv = process.env): KindSelection => (env.CUTOVER_FAULT_KINDS === 'all' ? 'all' : 'rotate');

/** Every row: function × operation × mode × kind, per scenario. */
export function matrixRows(kinds: KindSelection = kindSelection()): MatrixRow[] {
  const rows: MatrixRow[] = [];
  let cell = 0;
  for (const [scenario, calls] of [
    ['rollout', ROLLOUT_CALLS],
    ['rollback', ROLLBACK_CALLS],
  ] as const) {
    for (const [fn, operations] of Object.entries(calls)) {
      for (const operation of operations) {
        for (const mode of FAULT_MODES) {
          const chosen = kinds === 'all' ? FAULT_KINDS : [SDK_KINDS[cell % SDK_KINDS.length]!, 'crash' as const];
          for (const kind of chosen) rows.push({ scenario, fn, operation, mode, kind });
          cell += 1;
        }
      }
    }
  }
  return rows;
}

/** A row as a test name: `deploy ecs:UpdateService throttle, exhausted`. */
export const rowName = (r: MatrixRow) => `${r.fn} ${r.operation} ${r.kind}, ${r.mode}`;

/** The distinct operations the matrix covers. */
export const matrixOperations = (): string[] => [...new Set(matrixRows().map((r) => r.operation))].sort();

export type Outcome = 'SUCCEEDED' | 'ROLLED_BACK' | 'FAILED' | 'RUNNING' | 'NONE';

/** One slot's ECS service, as read back. */
export interface SlotState {
  readonly taskDefinition: string; // `checkout:2`
  readonly desiredCount: number;
}

/** What a run must end in, read back from the emulator. */
export interface Expected {
  /** The execution's end state; undefined: no execution may exist. */
  readonly endState?: string;
  /** The history record's outcome (`RUNNING`: the record could not be written; `NONE`: there is none). */
  readonly outcome: Outcome;
  /** The reason must contain this. */
  readonly reason?: string;
  /** The weights; several when a crash races the weights change (either is right). */
  readonly weights: { readonly blue: number; readonly green: number } | ReadonlyArray<{ readonly blue: number; readonly green: number }>;
  readonly blue: SlotState;
  readonly green: SlotState;
  readonly lockHeld: boolean;
  /** Task-definition revisions of the family, all ACTIVE. */
  readonly revisions: number;
}

const OLD = 'checkout:1';
const NEW = 'checkout:2';

/** A rollout that succeeded: green live on the new revision, blue scaled down on the old. */
const SUCCEEDED: Expected = {
  endState: 'Rollout succeeded',
  outcome: 'SUCCEEDED',
  reason: 'all steps passed',
  weights: { blue: 0, green: 100 },
  blue: { taskDefinition: OLD, desiredCount: 0 },
  green: { taskDefinition: NEW, desiredCount: 2 },
  lockHeld: false,
  revisions: 2,
};

/** Rolled back: blue live on the retained revision, green back on it at zero tasks. */
const rolledBack = (reason: string, revisions = 2): Expected => ({
  endState: 'Rolled back',
  outcome: 'ROLLED_BACK',
  reason,
  weights: { blue: 100, green: 0 },
  blue: { taskDefinition: OLD, desiredCount: 2 },
  green: { taskDefinition: OLD, desiredCount: 0 },
  lockHeld: false,
  revisions,
});

/** What the reason of a run that failed on `row` names: the operation, and for a crash, that the process died. */
export const faultReason = (row: Fault) => (row.kind === 'crash' ? `process died after ${row.operation}` : `${row.operation} failed transiently`);

/** The end state without any fault. */
export function baseline(scenario: Scenario): Expected {
  return scenario === 'rollout' ? SUCCEEDED : rolledBack('checkout-5xx');
}

/**
 * The end state a row must reach. Faults that clear (`once`) change nothing. Faults that outlast every retry:
 * - before prepare finishes: the rollout fails before any change (FAILED, nothing to undo);
 * - in a forward state: it rolls back;
 * - in `Scale down old slot`: it succeeds, with the old slot left running;
 * - in the alarm function: the abort comes later, from the next alarm check, and it still rolls back; a
 *   listener read or write of its own that fails is left to the rollback, which writes the same weights;
 * - in the rollback: `Rollback failed`, then the reconcile function recovers the service (see
 *   {@link rollbackFailed});
 * - in a best-effort step (the rollback's read of the abort time, waking the next waiting rollout once the
 *   lock is released): nothing, unless the process dies there.
 */
export function expected(row: MatrixRow): Expected {
  if (row.mode === 'once') return baseline(row.scenario);
  const crash = row.kind === 'crash';
  switch (row.fn) {
    case 'start':
      // A crash after StartExecution took effect: the execution runs; redeliveries find it started. The claim
      // after it (the count of first starts) is best effort: the execution runs. Any other fault (the image
      // check before it, or StartExecution failing) leaves nothing started.
      if ((crash && row.operation === 'states:StartExecution') || row.operation === 'dynamodb:PutItem') return SUCCEEDED;
      return { outcome: 'NONE', weights: { blue: 100, green: 0 }, blue: { taskDefinition: OLD, desiredCount: 2 }, green: { taskDefinition: OLD, desiredCount: 0 }, lockHeld: false, revisions: 1 };
    case 'prepare':
      return { ...rolledBack(faultReason(row), 1), outcome: 'FAILED' };
    case 'register':
      // The retried register finds the revision it registered (by its rollout-id tag) and goes on.
      if (crash && row.operation === 'ecs:RegisterTaskDefinition') return SUCCEEDED;
      return rolledBack(faultReason(row), 1);
    case 'finalize':
      // Waking the next waiting rollout after the lock is released is best effort (its wait times out), and a
      // crash there comes after the work: the retry finds the service state says it is done.
      if (row.operation === 'dynamodb:Query') return SUCCEEDED;
      return rolledBack(faultReason(row));
    case 'retire':
      // Waking the next push after the release is best effort; a crash there comes after the scale-down.
      if (row.operation === 'dynamodb:Query') return crash ? { ...SUCCEEDED, endState: 'Succeeded, old slot left running' } : SUCCEEDED;
      return {
        ...SUCCEEDED,
        endState: 'Succeeded, old slot left running',
        // A crash after UpdateService took effect did scale it down.
        blue: { taskDefinition: OLD, desiredCount: crash && row.operation === 'ecs:UpdateService' ? 0 : 2 },
      };
    case 'alarm':
      return baseline('rollback');
    case 'rollback':
      return rollbackFailed(row);
    default:
      return rolledBack(faultReason(row));
  }
}

/** What the record of a rollout that the reconcile function recovered says. */
export const RECOVERED = 'Cutover recovered the service';

/**
 * A rollback whose every attempt fails on `row`. Each attempt first proves it owns the service (a fence,
 * `dynamodb:UpdateItem`), then puts the weights back (reading the abort time beside it, best effort), the
 * idle slot back, writes the record, reads and writes the service's state, releases the lock and wakes the
 * next waiting rollout (best effort). When every attempt fails the execution ends in `Rollback failed` still
 * holding the lock, and the reconcile function (the execution-ended event; its own calls are not faulted:
 * faults are per function) recovers the service: the lock's target back (blue 100/0 on the retained revision,
 * green on it at 0), the record closed ROLLED_BACK saying Cutover recovered it, the lock released.
 * Waking the next rollout fails nothing unless the process dies there.
 */
function rollbackFailed(row: MatrixRow): Expected {
  // The wake-up after the release is best effort, and a crash there comes after the work (the retry is done).
  if (row.operation === 'dynamodb:Query') return baseline('rollback');
  return { ...rolledBack(RECOVERED), endState: 'Rollback failed' };
}

/** The invariants every run is checked against, in the words of the report. */
export const INVARIANTS = [
  'the execution ended (bounded wait, no hang)',
  'the execution ended in the expected state',
  'the listener weights are exactly 100/0 on one slot (after Rollback failed too, once the reconcile function recovered the service)',
  'all traffic is on a registered (ACTIVE) revision',
  'the retained revision is still registered',
  'no duplicate revision was registered',
  'the lock is released (after Rollback failed too, by the reconcile function)',
  'the history record says what happened: outcome and reason',
  'both slots run the expected revision at the expected count',
] as const;

export type { FaultKind, FaultMode };
