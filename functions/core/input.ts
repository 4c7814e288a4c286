/**
 * Validation of the execution state a function receives. Every function checks the part it relies on, so
 * a hand-started execution with a bad input fails with a clear InvalidInput before any change.
 */
import { validateServiceConfig } from './config';
import { InvalidInputError } from './errors';
import { isDigest, type LiveState, type RevisionState, type RolloutState } from './rollout';

/** Every problem with the rollout input (id, service, image), each with its path. */
export function rolloutInputProblems(state: unknown): string[] {
  if (typeof state !== 'object' || state === null) return ['input: must be an object'];
  const s = state as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof s.rolloutId !== 'string' || !/^[A-Za-z0-9_-]{1,80}$/.test(s.rolloutId)) problems.push('rolloutId: must be 1-80 letters, digits, - or _');
  problems.push(...validateServiceConfig(s.service, 'service'));
  const image = s.image as Record<string, unknown> | undefined;
  if (typeof image !== 'object' || image === null) {
    problems.push('image: must be an object');
  } else {
    if (typeof image.repository !== 'string' || image.repository === '') problems.push('image.repository: is required');
    if (!isDigest(image.digest)) problems.push('image.digest: must be sha256: followed by 64 hex characters');
    if (typeof image.uri !== 'string' || !isDigest(image.uri.split('@')[1])) problems.push('image.uri: must be <registry>/<repository>@sha256:<digest>');
  }
  return problems;
}

/** Throws InvalidInputError listing every problem. */
export function assertRolloutInput(state: unknown): asserts state is RolloutState {
  const problems = rolloutInputProblems(state);
  if (problems.length) throw new InvalidInputError('invalid rollout input', problems);
}

/** The prepare result, required by every later state. */
export function requireLive(state: RolloutState): LiveState {
  if (!state.live) throw new InvalidInputError('invalid rollout state', ['live: missing (prepare has not run)']);
  if (!Number.isInteger(state.live.generation)) throw new InvalidInputError('invalid rollout state', ['live.generation: must be the lock generation prepare took']);
  return state.live;
}

/** The register result, required from deploy on. */
export function requireRevision(state: RolloutState): RevisionState {
  if (!state.revision) throw new InvalidInputError('invalid rollout state', ['revision: missing (register has not run)']);
  return state.revision;
}
