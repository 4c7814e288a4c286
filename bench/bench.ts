/**
 * The benchmark: every measurement in one run, so every comparison is a ratio measured side by side.
 * `bench/run.ts` is the command (`npm run bench`); the smoke test calls {@link runBench} with tiny sizes.
 */
import { execFileSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { canary } from '../functions/core/plan';
import { startEmulator } from '../infra/local/moto';
import { runAnalysis, type AnalysisResult } from './analysis';
import { BUNDLE_TARGET_KB, runBundles, type BundlesOptions, type BundlesResult } from './bundles';
import { ANSWER_BUDGET_MS } from '../functions/chat/chat';
import { runChat, SLACK_LIMIT_MS, type ChatResult } from './chat';
import { EVENT_BAKE_HISTORY_EVENTS, HISTORY_LIMIT, HISTORY_LIMIT_SOURCE, pollingBakeHistoryEvents, pollingGate, price, PRICES, type GateEstimate } from './cost';
import { EVENT_DRIVEN, polling, TWO_HOPS, variantName } from './harness';
import { AWS_FIGURES, reactionBudget, type ReactionBudget } from './reaction-model';
import { runReaction, type ReactionResult } from './reaction';
import { renderMarkdown, type CostRow, type Report, type Target } from './report';
import { runRollouts, type RolloutSummary, type RolloutsResult } from './rollouts';
import { runScale, type ScaleResult } from './scale';

export interface BenchConfig {
  readonly command: string;
  readonly bundles?: BundlesOptions;
  readonly reaction?: { readonly trials: number; readonly warmup?: number; readonly timeScale: number; readonly bakeSeconds: number; readonly seed?: number };
  readonly rollouts?: { readonly eventRuns: number; readonly pollingRuns: number; readonly timeScale: number; readonly warmup: number };
  /** The long-gate rollout: one bake of `hours`, run so that it lasts about one local second. */
  readonly gate?: { readonly hours: number };
  readonly scale?: { readonly sizes: readonly number[]; readonly timeScale: number; readonly budgetSeconds: number };
  /** The chat function's cold path: fresh processes per command (`bench/chat.ts`). */
  readonly chat?: { readonly spawns: number };
  /** Canary-vs-stable analysis in simulated time (`bench/analysis.ts`): one seeded run per seed. */
  readonly analysis?: { readonly seeds: readonly number[]; readonly timeScale: number };
  /** Polling intervals of the baseline, s. The first is the one the targets compare against. */
  readonly pollIntervals: readonly number[];
  /** Progress lines (stderr). */
  readonly progress?: (line: string) => void;
}

/** The full benchmark, sized to finish in well under 10 minutes on 2 cores. */
export const FULL: Omit<BenchConfig, 'command'> = {
  bundles: { spawns: 7 },
  reaction: { trials: 12, warmup: 1, timeScale: 0.01, bakeSeconds: 120 },
  rollouts: { eventRuns: 8, pollingRuns: 2, timeScale: 0.0005, warmup: 1 },
  gate: { hours: 24 },
  scale: { sizes: [10, 50, 200], timeScale: 0.001, budgetSeconds: 330 },
  chat: { spawns: 5 },
  analysis: { seeds: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], timeScale: 0.005 },
  pollIntervals: [10, 60],
};

export interface BenchResults {
  readonly meta: Record<string, unknown>;
  readonly config: Omit<BenchConfig, 'progress'>;
  readonly targets: readonly Target[];
  readonly ratios: Readonly<Record<string, number>>;
  readonly reaction?: ReactionResult;
  readonly reactionModel?: ReactionModel;
  readonly rollouts?: RolloutsResult;
  readonly cost?: { readonly prices: typeof PRICES; readonly perRollout: readonly CostRow[] };
  readonly gate?: {
    readonly hours: number;
    readonly historyLimit: number;
    readonly source: string;
    readonly rows: readonly GateEstimate[];
    readonly modelCheck: ReadonlyArray<{ variant: string; predicted: number; measured: number }>;
  };
  readonly bundles?: BundlesResult;
  readonly scale?: ScaleResult;
  readonly chat?: ChatResult;
  readonly analysis?: AnalysisResult;
  readonly quotaSources: Readonly<Record<string, string>>;
  readonly markdown: string;
}

/** The modelled AWS reaction per event-driven variant (see reaction-model.ts). */
export interface ReactionModel {
  readonly figures: typeof AWS_FIGURES;
  readonly rows: ReadonlyArray<{ readonly variant: string; readonly path: ReactionResult['variants'][number]['path']; readonly budget?: ReactionBudget }>;
}

function git(args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { cwd: fileURLToPath(new URL('..', import.meta.url)), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

const costRow = (s: RolloutSummary): CostRow => {
  const p = price({ transitions: s.transitions, invocations: s.invocationCount, gbSeconds: s.gbSeconds.median });
  return {
    variant: s.variant,
    transitions: s.transitions,
    invocations: s.invocationCount,
    gbSeconds: s.gbSeconds.median,
    historyEvents: s.historyEvents,
    totalUsd: p.totalUsd,
    stepFunctionsUsd: p.stepFunctionsUsd,
  };
};

/** Runs what `config` names and returns the results (with their Markdown). */
export async function runBench(config: BenchConfig): Promise<BenchResults> {
  const t0 = performance.now();
  const progress = config.progress ?? (() => {});
  const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(0)} s`;
  const variants = [EVENT_DRIVEN, ...config.pollIntervals.map(polling)];
  const baseline = variantName(polling(config.pollIntervals[0]!));

  let bundles: BundlesResult | undefined;
  if (config.bundles) {
    progress(`bundles: building and cold-importing every function (${config.bundles.spawns} processes each)…`);
    bundles = await runBundles(config.bundles);
    progress(`bundles: done at ${elapsed()}`);
  }

  let reaction: ReactionResult | undefined;
  let rollouts: RolloutsResult | undefined;
  let gateRun: RolloutsResult | undefined;
  let scale: ScaleResult | undefined;
  let chat: ChatResult | undefined;
  let analysis: AnalysisResult | undefined;
  if (config.reaction || config.rollouts || config.gate || config.scale || config.chat || config.analysis) {
    const emulator = await startEmulator({ runningTasks: 2 });
    try {
      if (config.reaction) {
        // Beside the polling baselines: the abort path as it was before one hop.
        const reactionVariants = [EVENT_DRIVEN, TWO_HOPS, ...variants.slice(1)];
        progress(`reaction: ${config.reaction.warmup ?? 0} warm-up + ${config.reaction.trials} trials × ${reactionVariants.length} variants…`);
        reaction = await runReaction({ emulator, variants: reactionVariants, ...config.reaction });
        progress(`reaction: done at ${elapsed()}`);
      }
      if (config.rollouts) {
        const { eventRuns, pollingRuns, timeScale, warmup } = config.rollouts;
        progress(`rollouts: ${eventRuns} event-driven + ${pollingRuns} per polling variant…`);
        rollouts = await runRollouts({ emulator, timeScale, warmup, variants: variants.map((variant) => ({ variant, runs: variant.kind === 'event' ? eventRuns : pollingRuns })) });
        progress(`rollouts: done at ${elapsed()}`);
      }
      if (config.gate) {
        progress(`gate: one rollout with a ${config.gate.hours} h bake…`);
        const seconds = config.gate.hours * 3600;
        gateRun = await runRollouts({ emulator, name: 'gate', timeScale: 1 / seconds, warmup: 0, plan: canary([10, 100], seconds), variants: [{ variant: EVENT_DRIVEN, runs: 1 }] });
        progress(`gate: done at ${elapsed()}`);
      }
      if (config.scale) {
        const budget = config.scale.budgetSeconds;
        progress(`scale: N = ${config.scale.sizes.join(', ')} (budget ${budget} s)…`);
        scale = await runScale({ emulator, variant: EVENT_DRIVEN, sizes: config.scale.sizes, timeScale: config.scale.timeScale, budgetSeconds: budget, deadlineSeconds: budget });
        progress(`scale: done at ${elapsed()}`);
      }
      if (config.chat) {
        // The chat function runs at the construct's default memory: its CPU share scales the model.
        const { CutoverDefaults } = await import('../infra/cutover');
        progress(`chat: ${config.chat.spawns} fresh processes per command…`);
        chat = await runChat({ emulator, spawns: config.chat.spawns, memoryMb: CutoverDefaults.memorySize });
        progress(`chat: done at ${elapsed()}`);
      }
      if (config.analysis) {
        progress(`analysis: ${config.analysis.seeds.length} seeded runs (a 4% canary with and without analysis, a clean one), then its cost…`);
        analysis = await runAnalysis({ emulator, ...config.analysis, progress });
        progress(`analysis: done at ${elapsed()}`);
      }
    } finally {
      await emulator.stop();
    }
  }

  const ratios: Record<string, number> = {};
  const targets: Target[] = [];
  const ev = reaction?.variants.find((v) => v.variant === 'event-driven');
  if (reaction && ev) {
    for (const v of reaction.variants.filter((x) => x !== ev)) {
      ratios[`reaction median: ${v.variant} ÷ event-driven`] = v.reactionSeconds.median / ev.reactionSeconds.median;
      ratios[`reaction p95: ${v.variant} ÷ event-driven`] = v.reactionSeconds.p95 / ev.reactionSeconds.p95;
    }
    targets.push({
      name: 'reaction: alarm → weights restored, orchestration p95 (local runtime)',
      target: '≤ 25 ms',
      measured: `${ev.orchestrationMs.p95} ms`,
      met: ev.orchestrationMs.p95 <= 25 && ev.allRolledBack,
    });
    targets.push({
      name: 'reaction path: cold starts and AWS calls between the alarm and the listener write (every trial)',
      target: '1, ≤ 3',
      measured: `${ev.coldStarts.max}, ${ev.awsCalls.max}`,
      met: ev.coldStarts.max <= 1 && ev.awsCalls.max <= 3,
    });
  }
  const perRollout = rollouts?.summaries.map(costRow);
  const evRollout = rollouts?.summaries.find((s) => s.variant === 'event-driven');
  if (evRollout) {
    const worst = Math.max(evRollout.pushToFirstShiftMs.p95, evRollout.lastBakeToEndMs.p95);
    targets.push({
      name: 'orchestration overhead p95: push → first weight change, last bake end → execution end',
      target: '< 2,000 ms',
      measured: `${evRollout.pushToFirstShiftMs.p95} ms, ${evRollout.lastBakeToEndMs.p95} ms`,
      met: worst < 2000 && evRollout.allSucceeded,
    });
  }
  const evCost = perRollout?.find((c) => c.variant === 'event-driven');
  const baseCost = perRollout?.find((c) => c.variant === baseline);
  if (evCost && baseCost) {
    for (const c of perRollout!.filter((x) => x !== evCost)) {
      ratios[`state transitions: ${c.variant} ÷ event-driven`] = c.transitions / evCost.transitions;
      ratios[`cost per rollout: ${c.variant} ÷ event-driven`] = c.totalUsd / evCost.totalUsd;
    }
    const r = baseCost.transitions / evCost.transitions;
    targets.push({ name: `state transitions per rollout, ${baseline} ÷ event-driven`, target: '≥ 5×', measured: `${baseCost.transitions} ÷ ${evCost.transitions} = ${r.toFixed(1)}×`, met: r >= 5 });
  }
  if (bundles) {
    const over = bundles.functions.filter((fn) => !fn.bundled.underTarget);
    const largest = Math.max(...bundles.functions.map((fn) => fn.bundled.kb));
    targets.push({
      name: 'each bundle, minified, as deployed (SDK bundled)',
      target: `< ${BUNDLE_TARGET_KB} KB`,
      measured: over.length ? `${over.length} of ${bundles.functions.length} over; largest ${largest} KB` : `largest ${largest} KB`,
      met: over.length === 0,
    });
    const extOver = bundles.functions.filter((fn) => !fn.sdkExternal.underTarget);
    targets.push({
      name: 'each bundle, minified, with @aws-sdk/* external (not deployed)',
      target: `< ${BUNDLE_TARGET_KB} KB`,
      measured: `largest ${Math.max(...bundles.functions.map((fn) => fn.sdkExternal.kb))} KB`,
      met: extOver.length === 0,
    });
  }
  if (scale) {
    for (const s of scale.rounds) {
      targets.push({
        name: `${s.n} concurrent rollouts: all complete, no lock violation, no listener left split`,
        target: 'all, 0, 0',
        measured: `${s.allComplete ? 'all' : 'NOT all'}, ${s.lockViolations}, ${s.splitListeners}`,
        met: s.allComplete && s.lockViolations === 0 && s.splitListeners === 0,
      });
    }
    for (const s of scale.skipped) targets.push({ name: `${s.n} concurrent rollouts`, target: 'run', measured: `not run: ${s.reason}`, met: false });
  }

  let gate: BenchResults['gate'];
  const gateBase = gateRun?.runs[0];
  if (gateBase && config.gate) {
    const seconds = config.gate.hours * 3600;
    const rows: GateEstimate[] = [
      {
        variant: 'event-driven (measured)',
        bakeSeconds: seconds,
        historyEvents: gateBase.historyEvents,
        transitions: gateBase.transitions,
        shareOfLimit: gateBase.historyEvents / HISTORY_LIMIT,
        withinLimit: gateBase.historyEvents <= HISTORY_LIMIT,
      },
      ...config.pollIntervals.map((n) =>
        pollingGate({ historyEvents: gateBase.historyEvents, transitions: gateBase.transitions, eventsBeforeGate: gateBase.historyEventsBeforeFirstBake }, seconds, n),
      ),
    ];
    // The polling rows are computed; check the same arithmetic against the 5-minute runs measured above.
    const modelCheck = (rollouts?.summaries ?? [])
      .filter((s) => s.variant !== 'event-driven' && evRollout)
      .map((s) => {
        const n = Number(/polling (\d+)s/.exec(s.variant)?.[1]);
        return { variant: s.variant, predicted: evRollout!.historyEvents + 3 * (pollingBakeHistoryEvents(300, n) - EVENT_BAKE_HISTORY_EVENTS), measured: s.historyEvents };
      });
    gate = { hours: config.gate.hours, historyLimit: HISTORY_LIMIT, source: HISTORY_LIMIT_SOURCE, rows, modelCheck };
    const evGate = rows[0]!;
    targets.push({
      name: `a ${config.gate.hours} h bake stays far below the history limit (event-driven)`,
      target: `< 10% of ${HISTORY_LIMIT.toLocaleString('en-US')} events`,
      measured: `${evGate.historyEvents} events (${(evGate.shareOfLimit * 100).toFixed(1)}%)`,
      met: evGate.shareOfLimit < 0.1,
    });
  }

  if (chat) {
    const answered = chat.commands.filter((c) => c.path !== 'deferred run');
    const show = (pick: (c: ChatResult['commands'][number]) => number) => answered.map((c) => `${c.command} (${c.path}) ${pick(c).toLocaleString('en-US')} ms`).join(', ');
    const ok = answered.every((c) => c.allOk);
    targets.push({
      name: `chat: Slack answered on a cold start at ${chat.memoryMb} MB, modelled p95 (status directly, rollback acknowledged)`,
      target: `< ${SLACK_LIMIT_MS.toLocaleString('en-US')} ms`,
      measured: show((c) => c.modelledColdMs.p95),
      met: ok && answered.every((c) => c.modelledColdMs.p95 < SLACK_LIMIT_MS),
    });
    targets.push({
      name: "chat: from the invocation's start to the answer, modelled p95",
      target: `< ${ANSWER_BUDGET_MS.toLocaleString('en-US')} ms`,
      measured: show((c) => c.modelledRequestMs.p95),
      met: ok && answered.every((c) => c.modelledRequestMs.p95 < ANSWER_BUDGET_MS),
    });
  }

  if (analysis) {
    const c = analysis.clean;
    targets.push({
      name: `canary analysis: a clean canary (both revisions 0.5% 5xx) wrongly failed by a comparison, over ${c.runs} seeded runs`,
      target: 'never',
      measured: `${c.wronglyFailed} of ${c.runs}`,
      met: c.wronglyFailed === 0 && c.runs > 0,
    });
    const a = analysis.analysis;
    targets.push({
      name: 'canary analysis: a canary failing 4% against 0.5% caught during the first bake (10%), every seeded run',
      target: `${a.runs} of ${a.runs}`,
      measured: `${a.caughtAtWeight['10%'] ?? 0} of ${a.runs}`,
      met: a.runs > 0 && (a.caughtAtWeight['10%'] ?? 0) === a.runs,
    });
  }

  // The modelled AWS reaction of each event-driven path, from its measured parts and the cold imports of
  // the same run's bundles.
  let reactionModel: BenchResults['reactionModel'];
  if (reaction && bundles) {
    const importMs = Object.fromEntries(bundles.functions.map((fn) => [fn.fn, fn.bundled.importMs.median]));
    const rows = reaction.variants.filter((v) => v.variant.startsWith('event-driven')).map((v) => ({ variant: v.variant, path: v.path, budget: reactionBudget(v.path, importMs) }));
    reactionModel = { figures: AWS_FIGURES, rows };
    const [after, before] = rows;
    if (after?.budget && before?.budget) ratios['modelled AWS reaction: two hops ÷ one hop'] = before.budget.ms / after.budget.ms;
  }

  const report: Report = {
    command: config.command,
    reaction,
    reactionModel,
    rollouts: rollouts?.summaries,
    cost: perRollout,
    gate: gate ? { hours: gate.hours, rows: gate.rows } : undefined,
    bundles,
    scale,
    chat,
    analysis,
    targets,
    ratios,
  };
  const markdown = renderMarkdown(report);
  const { progress: _p, ...configOut } = config;
  return {
    meta: {
      date: new Date().toISOString(),
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      gitCommit: git(['rev-parse', 'HEAD']),
      gitUncommittedFiles: git(['status', '--porcelain'])?.split('\n').filter(Boolean).length,
      seconds: Math.round((performance.now() - t0) / 1000),
      note: 'Timings are local (moto_server on loopback, the handlers in-process); waits are scaled by the time scale and converted back to real seconds where stated. p95 is nearest-rank.',
    },
    config: configOut,
    targets,
    ratios,
    reaction,
    reactionModel,
    rollouts,
    cost: perRollout ? { prices: PRICES, perRollout } : undefined,
    gate,
    bundles,
    scale,
    chat,
    analysis,
    quotaSources: QUOTA_SOURCES,
    markdown,
  };
}

/** The AWS pages the README's scaling notes cite. */
export const QUOTA_SOURCES = {
  stepFunctions: 'https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html',
  lambda: 'https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html',
  cloudWatch: 'https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_limits.html',
  elasticLoadBalancing: 'https://docs.aws.amazon.com/elasticloadbalancing/latest/userguide/elb-api-throttling.html',
  ecs: 'https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html',
  dynamoDb: 'https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html',
  eventBridge: 'https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html',
} as const;
