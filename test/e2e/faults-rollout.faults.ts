/**
 * Fault matrix, rollout (first half): every AWS operation that start, prepare, register, deploy and
 * check-steady call, failing once or until every retry is spent, in every way AWS fails.
 */
import { matrixRows } from './fault-matrix';
import { faultMatrixSuite } from './fault-suite';

const FUNCTIONS = ['start', 'prepare', 'register', 'deploy', 'check-steady'];

faultMatrixSuite(
  'rollout',
  matrixRows().filter((r) => r.scenario === 'rollout' && FUNCTIONS.includes(r.fn)),
);
