/**
 * Fault matrix, rollout (second half): every AWS operation that check-alarms, shift, bake, finalize and
 * retire call, failing once or until every retry is spent, in every way AWS fails.
 */
import { matrixRows } from './fault-matrix';
import { faultMatrixSuite } from './fault-suite';

const FUNCTIONS = ['check-alarms', 'shift', 'bake', 'finalize', 'retire'];

faultMatrixSuite(
  'rollout',
  matrixRows().filter((r) => r.scenario === 'rollout' && FUNCTIONS.includes(r.fn)),
);
