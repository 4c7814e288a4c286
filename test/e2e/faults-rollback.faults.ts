/**
 * Fault matrix, rollback: every AWS operation the alarm path and the rollback call, failing once or until
 * every retry is spent, in every way AWS fails, while an alarm rolls a rollout back from 10%.
 */
import { matrixRows } from './fault-matrix';
import { faultMatrixSuite } from './fault-suite';

faultMatrixSuite(
  'rollback',
  matrixRows().filter((r) => r.scenario === 'rollback'),
);
