import { describe, expect, it } from 'vitest';
import type { ScanSeverity } from '../../functions/core/config';
import type { ServiceState } from '../../functions/core/ports';
import { revisionsToRetire } from '../../functions/finalize/finalize';
import { driftProblems, scanProblems } from '../../functions/prepare/prepare';
import { OTHER_ROLLOUT_ID, RETAINED_TD, taskDefinitionArn } from '../fixtures/state';

/** checkout:n … checkout:1, newest first, as listRevisions answers. */
const revisionsDown = (from: number, to = 1) => Array.from({ length: from - to + 1 }, (_, i) => taskDefinitionArn(from - i));
const revisions = (...numbers: number[]) => numbers.map(taskDefinitionArn);

describe('revisionsToRetire', () => {
  it('keeps the newest N unprotected revisions and retires the older ones', () => {
    const retire = revisionsToRetire(revisionsDown(8), new Set(revisions(8, 7)), 2);

    expect(retire).toEqual(revisions(4, 3, 2, 1));
  });

  it('never retires a protected revision, however old', () => {
    // checkout:2 still runs on the warm old slot; checkout:9 is live, checkout:8 retained.
    const retire = revisionsToRetire(revisionsDown(9), new Set(revisions(9, 8, 2)), 1);

    expect(retire).toEqual(revisions(6, 5, 4, 3, 1));
  });

  it('with keep 0 retires every revision that is not protected', () => {
    const retire = revisionsToRetire(revisionsDown(5), new Set(revisions(5, 4)), 0);

    expect(retire).toEqual(revisions(3, 2, 1));
  });

  it.each<[string, string[], number[], number]>([
    ['fewer unprotected revisions than kept', revisionsDown(8, 5), [8, 7], 5],
    ['exactly as many unprotected revisions as kept', revisionsDown(8, 5), [8, 7], 2],
    ['only protected revisions', revisionsDown(8, 7), [8, 7], 0],
    ['no active revision', [], [8, 7], 0],
  ])('retires nothing with %s', (_name, active, protectedRevisions, keep) => {
    expect(revisionsToRetire(active, new Set(revisions(...protectedRevisions)), keep)).toEqual([]);
  });
});

describe('scanProblems', () => {
  const ALL: ReadonlyArray<{ name: string; severity: ScanSeverity }> = [
    { name: 'CVE-2026-0001', severity: 'CRITICAL' },
    { name: 'CVE-2026-0002', severity: 'HIGH' },
    { name: 'CVE-2026-0003', severity: 'MEDIUM' },
    { name: 'CVE-2026-0004', severity: 'LOW' },
    { name: 'CVE-2026-0005', severity: 'INFORMATIONAL' },
  ];
  const complete = (findings: ReadonlyArray<{ name: string; severity: string }>) => ({ status: 'COMPLETE', findings: [...findings] });

  it.each<[ScanSeverity, string]>([
    ['CRITICAL', '1 finding(s) at or above CRITICAL: CVE-2026-0001 (CRITICAL)'],
    ['HIGH', '2 finding(s) at or above HIGH: CVE-2026-0001 (CRITICAL), CVE-2026-0002 (HIGH)'],
    ['MEDIUM', '3 finding(s) at or above MEDIUM: CVE-2026-0001 (CRITICAL), CVE-2026-0002 (HIGH), CVE-2026-0003 (MEDIUM)'],
    ['LOW', '4 finding(s) at or above LOW: CVE-2026-0001 (CRITICAL), CVE-2026-0002 (HIGH), CVE-2026-0003 (MEDIUM), CVE-2026-0004 (LOW)'],
    ['INFORMATIONAL', '5 finding(s) at or above INFORMATIONAL: CVE-2026-0001 (CRITICAL), CVE-2026-0002 (HIGH), CVE-2026-0003 (MEDIUM), CVE-2026-0004 (LOW), CVE-2026-0005 (INFORMATIONAL)'],
  ])('with failOn %s refuses the findings at or above it, by name', (failOn, expected) => {
    expect(scanProblems(complete(ALL), failOn)).toEqual([`image scan: ${expected}`]);
  });

  it.each<[ScanSeverity, ScanSeverity]>([
    ['HIGH', 'CRITICAL'],
    ['MEDIUM', 'HIGH'],
    ['LOW', 'MEDIUM'],
    ['INFORMATIONAL', 'LOW'],
  ])('passes a %s finding when failOn is %s', (severity, failOn) => {
    expect(scanProblems(complete([{ name: 'CVE-2026-0100', severity }]), failOn)).toEqual([]);
  });

  it.each([['COMPLETE'], ['ACTIVE']])('passes a %s scan without findings', (status) => {
    expect(scanProblems({ status, findings: [] }, 'INFORMATIONAL')).toEqual([]);
  });

  it.each([['IN_PROGRESS'], ['FAILED'], ['NONE'], ['UNSUPPORTED_IMAGE']])('refuses an image whose scan is %s, whatever its findings', (status) => {
    expect(scanProblems({ status, findings: [] }, 'CRITICAL')).toEqual([`the image scan is ${status}, not COMPLETE: the scan gate cannot pass it`]);
  });

  it('names the first 10 blocking findings and counts them all', () => {
    const findings = Array.from({ length: 12 }, (_, i) => ({ name: `CVE-2026-${String(i + 1).padStart(4, '0')}`, severity: 'CRITICAL' }));
    const names = findings
      .slice(0, 10)
      .map((f) => `${f.name} (CRITICAL)`)
      .join(', ');

    expect(scanProblems(complete(findings), 'CRITICAL')).toEqual([`image scan: 12 finding(s) at or above CRITICAL: ${names}, …`]);
  });

  it('names all of exactly 10 blocking findings without an ellipsis', () => {
    const findings = Array.from({ length: 10 }, (_, i) => ({ name: `CVE-2026-${String(i + 1).padStart(4, '0')}`, severity: 'HIGH' }));
    const names = findings.map((f) => `${f.name} (HIGH)`).join(', ');

    expect(scanProblems(complete(findings), 'HIGH')).toEqual([`image scan: 10 finding(s) at or above HIGH: ${names}`]);
  });
});

describe('driftProblems', () => {
  const expected: ServiceState = {
    service: 'checkout',
    liveSlot: 'blue',
    liveTaskDefinitionArn: RETAINED_TD,
    desiredCount: 3,
    rolloutId: OTHER_ROLLOUT_ID,
    at: '2026-11-24T09:10:00.000Z',
  };
  const drift = (what: string) => [`drift since ${OTHER_ROLLOUT_ID}: ${what} (set adoptDrift to roll out from the current state)`];

  it('finds none when the live slot is as Cutover left it', () => {
    expect(driftProblems(expected, 'blue', { taskDefinition: RETAINED_TD, desiredCount: 3 })).toEqual([]);
  });

  it.each<[string, 'blue' | 'green', { taskDefinition: string; desiredCount: number }, string]>([
    ['the other slot made live', 'green', { taskDefinition: RETAINED_TD, desiredCount: 3 }, 'the live slot is green, Cutover left blue live'],
    ['another task definition', 'blue', { taskDefinition: taskDefinitionArn(6), desiredCount: 3 }, 'the live service runs checkout:6, Cutover left checkout:7'],
    ['another desired count', 'blue', { taskDefinition: RETAINED_TD, desiredCount: 5 }, 'the live service wants 5 tasks, Cutover left 3'],
  ])('reports %s', (_name, liveSlot, live, what) => {
    expect(driftProblems(expected, liveSlot, live)).toEqual(drift(what));
  });

  it('reports every kind of drift in one problem', () => {
    expect(driftProblems(expected, 'green', { taskDefinition: taskDefinitionArn(9), desiredCount: 0 })).toEqual(
      drift('the live slot is green, Cutover left blue live; the live service runs checkout:9, Cutover left checkout:7; the live service wants 0 tasks, Cutover left 3'),
    );
  });
});
