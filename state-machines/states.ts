/**
 * The state names of `rollout.asl.json`, in one place: the functions, the local runtime, the CLI and the
 * benchmark refer to states by these constants, and a test checks they are exactly the definition's states.
 */
export const StateName = {
  PrepareRollout: 'Prepare rollout',
  WaitForImageScan: 'Wait for image scan',
  ImageScanTimedOut: 'Image scan timed out',
  WaitForTurn: 'Wait for turn',
  RolloutSuperseded: 'Rollout superseded',
  RolloutRefused: 'Rollout refused',
  RegisterNewRevision: 'Register new revision',
  DeployToIdleSlot: 'Deploy to idle slot',
  WaitForNewTasks: 'Wait for new tasks',
  CheckNewTasksAreSteady: 'Check new tasks are steady',
  NewTasksSteady: 'New tasks steady?',
  StartCanary: 'Start canary',
  CheckAlarms: 'Check alarms',
  Paused: 'Paused?',
  HoldPaused: 'Hold (paused)',
  MoreSteps: 'More steps?',
  LoadStep: 'Load step',
  StepKind: 'Step kind?',
  UnknownStep: 'Unknown step',
  ShiftTraffic: 'Shift traffic',
  Bake: 'Bake',
  ManualGate: 'Manual gate',
  GateTimedOut: 'Gate timed out',
  GateTimeoutRollBack: 'Gate timeout: roll back',
  Promoted: 'Promoted?',
  JumpTo100: 'Jump to 100%',
  StepDone: 'Step done',
  FinalizeRollout: 'Finalize rollout',
  KeepOldSlotWarm: 'Keep old slot warm',
  ScaleDownOldSlot: 'Scale down old slot',
  RolloutSucceeded: 'Rollout succeeded',
  SucceededOldSlotLeftRunning: 'Succeeded, old slot left running',
  RollBack: 'Roll back',
  RolledBack: 'Rolled back',
  RollbackFailed: 'Rollback failed',
  OwnershipLost: 'Ownership lost',
} as const;

export type StateName = (typeof StateName)[keyof typeof StateName];
