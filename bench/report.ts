/**
 * The results as Markdown: what `npm run bench` prints and the README quotes. Every timing is "median /
 * p95"; every comparison is a ratio from the same run; every target says whether it was met.
 */
import { ANALYSIS_CAPTION, SERVICE_WIDE_ALARM, type AnalysisResult, type RegressionSummary } from './analysis';
import type { BundlesResult } from './bundles';
import type { ChatResult } from './chat';
import type { GateEstimate } from './cost';
import type { ReactionResult } from './reaction';
import type { ReactionModel } from './bench';
import type { RolloutSummary } from './rollouts';
import type { ScaleResult } from './scale';
import type { Summary } from './stats';

export interface Target {
  readonly name: string;
  readonly target: string;
  readonly measured: string;
  readonly met: boolean;
}

export interface CostRow {
  readonly variant: string;
  readonly transitions: number;
  readonly invocations: number;
  readonly gbSeconds: number;
  readonly historyEvents: number;
  readonly totalUsd: number;
  readonly stepFunctionsUsd: number;
}

export interface Report {
  readonly command: string;
  readonly reaction?: ReactionResult;
  readonly reactionModel?: ReactionModel;
  readonly rollouts?: readonly RolloutSummary[];
  readonly cost?: readonly CostRow[];
  readonly gate?: { readonly hours: number; readonly rows: readonly GateEstimate[] };
  readonly bundles?: BundlesResult;
  readonly scale?: ScaleResult;
  readonly chat?: ChatResult;
  readonly analysis?: AnalysisResult;
  readonly targets: readonly Target[];
  readonly ratios: Readonly<Record<string, number>>;
}

const f = (n: number, digits = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a');
const mp = (s: Summary | undefined, digits = 0, unit = '') => (s?.n ? `${f(s.median, digits)} / ${f(s.p95, digits)}${unit}` : 'n/a');
const ratio = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? 'n/a' : `${f(x, x >= 10 ? 0 : 1)}×`);
const row = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
const usd = (x: number) => `$${x < 0.01 ? x.toFixed(5) : x.toFixed(4)}`;

/** Renders the whole report. */
export function renderMarkdown(r: Report): string {
  const out: string[] = [`Measured with \`${r.command}\` on the local runtime (moto_server on loopback, the real state machine and handlers).`, ''];

  if (r.reaction) {
    const byVariant = (name: string) => r.reaction!.variants.find((v) => v.variant === name);
    const names = r.reaction.variants.map((v) => v.variant);
    const ev = byVariant('event-driven');
    out.push(
      `#### Alarm → weights back on the retained slot (${r.reaction.variants[0]?.trials ?? 0} trials per variant${r.reaction.warmup ? ` after ${r.reaction.warmup} warm-up` : ''}, alarm at a random moment of the first 90% of a ${r.reaction.bakeSeconds} s bake, time scale ${r.reaction.timeScale})`,
      '',
    );
    out.push(row(['median / p95', ...names, ...names.filter((n) => n !== 'event-driven').map((n) => `${n} ÷ event-driven`)]));
    out.push(row(Array(1 + names.length + names.length - 1).fill('---')));
    const others = names.filter((n) => n !== 'event-driven');
    out.push(
      row([
        'reaction, real s (waiting + orchestration)',
        ...names.map((n) => mp(byVariant(n)?.reactionSeconds, 2, ' s')),
        ...others.map((n) => `${ratio(byVariant(n)!.reactionSeconds.median / ev!.reactionSeconds.median)} / ${ratio(byVariant(n)!.reactionSeconds.p95 / ev!.reactionSeconds.p95)}`),
      ]),
    );
    out.push(row(['… waiting for the next poll, real s', ...names.map((n) => mp(byVariant(n)?.waitingSeconds, 1, ' s')), ...others.map(() => '')]));
    out.push(row(['… orchestration, local ms', ...names.map((n) => mp(byVariant(n)?.orchestrationMs, 0, ' ms')), ...others.map(() => '')]));
    out.push(row(['rolled back, traffic 100% on the retained slot', ...names.map((n) => (byVariant(n)?.allRolledBack ? 'every trial' : 'NOT every trial')), ...others.map(() => '')]));
    out.push(row(['functions invoked before the listener write (cold starts on AWS)', ...names.map((n) => mp(byVariant(n)?.coldStarts)), ...others.map(() => '')]));
    out.push(
      row(['AWS calls before the listener write (of which one after the other)', ...names.map((n) => `${mp(byVariant(n)?.awsCalls)} (${mp(byVariant(n)?.roundTrips)})`), ...others.map(() => '')]),
    );
    out.push('');
    for (const n of names.filter((x) => x.startsWith('event-driven'))) {
      const path = byVariant(n)!.path;
      out.push(`- ${n}, alarm → listener write (first trial): functions ${path.invocations.join(' → ') || 'none'}; calls ${path.calls.join(', ') || 'none'}`);
    }
    out.push('');
  }

  if (r.reactionModel) {
    const { figures, rows } = r.reactionModel;
    out.push('#### Modelled AWS reaction: alarm event at its function → listener written', '');
    out.push(row(['path', 'cold starts', 'calls one after the other (with the write)', 'modelled ms', 'how']));
    out.push(row(['---', '---', '---', '---', '---']));
    for (const x of rows) out.push(row([x.variant, f(x.path.invocations.length), f(x.path.roundTrips + 1), x.budget ? f(x.budget.ms) : 'n/a (run the bundles part too)', x.budget?.parts ?? '']));
    out.push('');
    for (const fig of Object.values(figures)) out.push(`- ${fig.value} ms: ${fig.what} (${fig.source})`);
    out.push(
      "- Left out: CloudWatch's evaluation period and EventBridge's delivery (alike for both), and the Step Functions transition of the two-hop path (no published figure: its row is a lower bound).",
      '',
    );
  }

  if (r.rollouts) {
    const names = r.rollouts.map((s) => s.variant);
    const by = (n: string) => r.rollouts!.find((s) => s.variant === n)!;
    const cost = (n: string) => r.cost?.find((c) => c.variant === n);
    const ev = cost('event-driven');
    out.push(`#### One rollout of the default plan (10% → 5m → 25% → 5m → 50% → 5m → 100%), per rollout`, '');
    out.push(row(['', ...names, ...names.filter((n) => n !== 'event-driven').map((n) => `${n} ÷ event-driven`)]));
    out.push(row(Array(names.length * 2).fill('---')));
    const others = names.filter((n) => n !== 'event-driven');
    out.push(row(['push → first weight change, ms (median / p95)', ...names.map((n) => mp(by(n).pushToFirstShiftMs, 0, ' ms')), ...others.map(() => '')]));
    out.push(row(['last bake end → execution end, ms (median / p95)', ...names.map((n) => mp(by(n).lastBakeToEndMs, 0, ' ms')), ...others.map(() => '')]));
    out.push(row(['whole rollout without waits, ms (median / p95)', ...names.map((n) => mp(by(n).orchestrationMs, 0, ' ms')), ...others.map(() => '')]));
    if (ev) {
      out.push(row(['state transitions', ...names.map((n) => f(cost(n)!.transitions)), ...others.map((n) => ratio(cost(n)!.transitions / ev.transitions))]));
      out.push(row(['Lambda invocations', ...names.map((n) => f(cost(n)!.invocations)), ...others.map((n) => ratio(cost(n)!.invocations / ev.invocations))]));
      out.push(row(['Lambda GB-s (256 MB, measured ms)', ...names.map((n) => f(cost(n)!.gbSeconds, 3)), ...others.map((n) => ratio(cost(n)!.gbSeconds / ev.gbSeconds))]));
      out.push(row(['execution history events', ...names.map((n) => f(cost(n)!.historyEvents)), ...others.map((n) => ratio(cost(n)!.historyEvents / ev.historyEvents))]));
      out.push(row(['cost per rollout, USD', ...names.map((n) => usd(cost(n)!.totalUsd)), ...others.map((n) => ratio(cost(n)!.totalUsd / ev.totalUsd))]));
      out.push(row(['cost per 1,000 rollouts, USD', ...names.map((n) => `$${f(cost(n)!.totalUsd * 1000, 2)}`), ...others.map(() => '')]));
    }
    out.push('');
  }

  if (r.gate) {
    out.push(`#### One ${r.gate.hours} h bake (or manual gate) against the 25,000-event history limit`, '');
    out.push(row(['', 'history events per rollout', 'share of the limit', 'state transitions', 'outcome']));
    out.push(row(['---', '---', '---', '---', '---']));
    for (const g of r.gate.rows) {
      out.push(row([g.variant, f(g.historyEvents), `${f(g.shareOfLimit * 100, 1)}%`, f(g.transitions), g.withinLimit ? 'completes' : `fails after ~${f(g.failsAfterHours ?? 0, 1)} h (history full)`]));
    }
    out.push('');
  }

  if (r.bundles) {
    const b = r.bundles;
    out.push(`#### Bundles: minified size and cold import in a fresh \`node\` (${b.spawns} processes each, Node ${b.node}; a bare \`node\` process: ${mp(b.emptyProcessMs, 0, ' ms')})`, '');
    out.push(row(['function', 'as deployed: SDK bundled, KB', 'cold import, ms', 'SDK external, KB', 'cold import, ms', 'heaviest dependencies (as deployed, KB)']));
    out.push(row(['---', '---', '---', '---', '---', '---']));
    for (const fn of b.functions) {
      out.push(
        row([
          `${fn.fn}${fn.matchesCdkAsset === false ? ' (differs from the deployed asset!)' : ''}`,
          `${f(fn.bundled.kb, 1)}${fn.bundled.underTarget ? '' : ' ✗'}`,
          mp(fn.bundled.importMs, 0),
          `${f(fn.sdkExternal.kb, 1)}${fn.sdkExternal.underTarget ? '' : ' ✗'}`,
          fn.sdkExternal.importError ? `error: ${fn.sdkExternal.importError}` : mp(fn.sdkExternal.importMs, 0),
          fn.bundled.heaviest
            .slice(0, 4)
            .map((h) => `${h.name} ${f(h.kb, 0)}`)
            .join(', '),
        ]),
      );
    }
    out.push(
      '',
      `✗: over the ${250} KB target. "as deployed" is byte-identical to the asset a synth of the construct deploys (the prebuilt bundle): ${b.functions.every((fn) => fn.matchesCdkAsset) ? 'yes, every function' : b.functions.some((fn) => fn.matchesCdkAsset === undefined) ? 'not checked' : 'NO'}.`,
      '',
    );
  }

  if (r.scale) {
    out.push(`#### N rollouts at once on N services, one emulator (time scale ${r.scale.timeScale}; every 10th service also gets a competing push)`, '');
    out.push(
      row([
        'N',
        'executions',
        'end states',
        'rolled back because',
        'all complete',
        'lock violations',
        'listeners left split',
        'wall, s',
        'rollouts / min',
        'per rollout without waits, ms (median / p95)',
        'push → first weight, ms (median / p95)',
      ]),
    );
    out.push(row(Array(11).fill('---')));
    for (const s of r.scale.rounds) {
      out.push(
        row([
          f(s.n),
          f(s.executions),
          Object.entries(s.endStates)
            .map(([k, v]) => `${v} ${k}`)
            .join(', '),
          Object.entries(s.rollbackReasons)
            .map(([k, v]) => `${v.count} ${k}${v.example.includes('superseded') ? ' (superseded by the competing push)' : ''}`)
            .join('; ') || '—',
          s.allComplete ? 'yes' : 'NO',
          f(s.lockViolations),
          f(s.splitListeners),
          f(s.wallSeconds, 1),
          f(s.rolloutsPerMinute),
          mp(s.orchestrationMs),
          mp(s.pushToFirstShiftMs),
        ]),
      );
    }
    for (const s of r.scale.skipped) out.push(row([f(s.n), `not run: ${s.reason}`, '', '', '', '', '', '', '', '', '']));
    for (const s of r.scale.rounds.filter((x) => x.lockViolationDetails.length)) out.push('', `N = ${s.n}, lock violations: ${s.lockViolationDetails.join('; ')}`);
    out.push('');
  }

  if (r.chat) {
    const c = r.chat;
    out.push(`#### Slack: the chat function's cold path (${c.spawns} fresh \`node\` processes per command, Node ${c.node}; modelled for AWS at ${c.memoryMb} MB)`, '');
    out.push(
      row([
        'command',
        'answer',
        'cold import, ms',
        'first request, ms (local)',
        'CPU, import + request, ms',
        'AWS calls (first trial)',
        'modelled: from the invocation, ms',
        'modelled: cold, Lambda included, ms',
        'every trial ok',
      ]),
    );
    out.push(row(Array(9).fill('---')));
    for (const cmd of c.commands) {
      out.push(
        row([
          `\`${cmd.command}\``,
          cmd.path,
          mp(cmd.importMs, 0),
          mp(cmd.requestMs, 0),
          mp(cmd.cpuMs, 0),
          Object.entries(cmd.calls)
            .map(([service, n]) => `${service} ${n}`)
            .join(', ') || '—',
          mp(cmd.modelledRequestMs, 0),
          mp(cmd.modelledColdMs, 0),
          cmd.allOk ? 'yes' : '**NO**',
        ]),
      );
    }
    out.push(
      '',
      `Modelled: CPU × ${f(c.cpuScale, 1)} (1,769 MB is one vCPU, Lambda gives ${c.memoryMb} MB that share), ${c.model.callMs} ms per AWS call, ` +
        `${c.model.connectMs} ms per service's first connection (assumed), ${c.model.coldStartMs} ms for Lambda's own part of a cold start. ` +
        "The deferred run is not bound by Slack's 3 s: its outcome is posted to `response_url`.",
      '',
    );
  }

  if (r.analysis) out.push(...analysisTables(r.analysis));

  out.push('#### Targets', '');
  out.push(row(['target', 'goal', 'measured', 'met']));
  out.push(row(['---', '---', '---', '---']));
  for (const t of r.targets) out.push(row([t.name, t.target, t.measured, t.met ? 'yes' : '**no**']));
  return out.join('\n');
}

/** The canary analysis part: a regression caught by the analysis vs a service-wide alarm, false alarms, cost. */
function analysisTables(a: AnalysisResult): string[] {
  const out: string[] = [];
  const n = a.seeds.length;
  const w = SERVICE_WIDE_ALARM;
  out.push(
    `#### Canary analysis: a new revision failing 4% of its requests against 0.5% on the old one (${n} seeded run${n === 1 ? '' : 's'}, default plan 10% → 5m → 25% → 5m → 50% → 5m → 100%, ${f(a.requestsPerSecond)} requests/s, time scale ${a.timeScale})`,
    '',
  );
  const caughtAt = (s: RegressionSummary) =>
    Object.entries(s.caughtAtWeight)
      .sort(([x], [y]) => Number.parseInt(x, 10) - Number.parseInt(y, 10))
      .map(([weight, count]) => `${weight}: ${count}`)
      .join(', ') || '—';
  const never = (s: RegressionSummary) => (s.caught === s.runs ? '' : ` (never in ${s.runs - s.caught}: the rollout completed on the bad revision)`);
  const cols = [a.analysis, a.serviceWide];
  out.push(
    row([
      'median / p95',
      `canary analysis (${ANALYSIS_CAPTION})`,
      `service-wide 5xx alarm alone (both target groups: 5xx ÷ requests > ${w.thresholdPercent}%, ${w.datapointsToAlarm} of ${w.evaluationPeriods} minutes)`,
    ]),
  );
  out.push(row(['---', '---', '---']));
  out.push(row(['rolled back', ...cols.map((s) => `${s.caught} of ${s.runs}${never(s)}`)]));
  out.push(row(['caught at canary weight (runs)', ...cols.map(caughtAt)]));
  out.push(row(["regression's start (first canary weight) → traffic 100% on the old slot, simulated min", ...cols.map((s) => mp(s.minutes, 1, ' min'))]));
  out.push(row(['… in simulated periods (60 s)', ...cols.map((s) => mp(s.periods, 0))]));
  out.push(row(['requests the new revision answered 5xx meanwhile', ...cols.map((s) => mp(s.failedRequests, 0))]));
  out.push('');
  const c = a.clean;
  out.push(
    `- Clean canary (both revisions 0.5%), analysis on, same plan and traffic: wrongly failed by a comparison in ${c.wronglyFailed} of ${c.runs} runs; ` +
      `rolled back for any reason in ${c.rolledBack}; ${c.bakesInconclusive} of ${c.bakesJudged} bakes at a canary weight inconclusive (too few requests on the canary; policy \`rollback\` in these runs).`,
  );
  if (a.cost) {
    const { with: on, without: off } = a.cost;
    const call = (x: typeof on, op: string) => x.calls[op] ?? 0;
    const delta = (op: string) => call(on, op) - call(off, op);
    out.push(
      `- Cost of the analysis per rollout (one clean rollout with it, one without): state transitions ${on.transitions} vs ${off.transitions}, ` +
        `Lambda invocations ${on.invocations} vs ${off.invocations} (no polling loop: CloudWatch evaluates the alarms); AWS calls added by the functions: ` +
        `PutMetricAlarm +${delta('cloudwatch:PutMetricAlarm')} (the comparison alarms, put again at each canary weight: idempotent), ` +
        `DeleteAlarms +${delta('cloudwatch:DeleteAlarms')}, DescribeAlarms +${delta('cloudwatch:DescribeAlarms')} (the cleanup's listing; the checks read the comparison alarms in the same DescribeAlarms as the service's own), ` +
        `GetMetricData +${on.bakeVerdicts} on AWS (one per bake end judged; locally the simulator answers it).`,
    );
  }
  if (a.simulatorErrors) out.push(`- **${a.simulatorErrors} ticks of the traffic simulator failed** in these runs: periods without traffic or evaluation; the figures above are suspect.`);
  out.push("- Simulated minutes are local ms ÷ time scale; they include the functions' and the emulator's own time, scaled up. CloudWatch's and EventBridge's delivery delays are not modelled.", '');
  return out;
}
