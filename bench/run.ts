/**
 * `npm run bench`: runs every benchmark, writes bench/results.json and prints the Markdown tables the
 * README quotes. Progress goes to stderr, the tables to stdout.
 *
 * @example
 * npm run bench                          # everything; about 11 minutes on 2 cores
 * npm run bench -- --only bundles,scale  # some of it (results.json is not written)
 * npm run bench -- --only chat           # the chat function's cold path against Slack's 3 s
 * npm run bench -- --only analysis       # canary analysis vs a service-wide alarm, in simulated time
 * npm run bench -- --quick               # tiny sizes, to try the harness (results.json is not written)
 */
// Before any SDK client exists: the pinned SDK's notice about future Node.js versions would interleave.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { writeFileSync } = await import('node:fs');
const { fileURLToPath } = await import('node:url');
const { FULL, runBench } = await import('./bench');
type Config = import('./bench').BenchConfig;

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const onlyArg = args.find((a) => a.startsWith('--only'));
const only = onlyArg ? (onlyArg.includes('=') ? onlyArg.split('=')[1] : args[args.indexOf(onlyArg) + 1])?.split(',') : undefined;
const wanted = (part: string) => !only || only.includes(part);

const QUICK: Omit<Config, 'command'> = {
  bundles: { spawns: 2, functions: ['bake'], checkCdk: false },
  reaction: { trials: 1, timeScale: 0.01, bakeSeconds: 60 },
  rollouts: { eventRuns: 1, pollingRuns: 1, timeScale: 0.0005, warmup: 0 },
  gate: { hours: 24 },
  scale: { sizes: [2], timeScale: 0.001, budgetSeconds: 120 },
  chat: { spawns: 1 },
  analysis: { seeds: [1], timeScale: 0.005 },
  pollIntervals: [10, 60],
};
const base = quick ? QUICK : FULL;
const config: Config = {
  command: `npm run bench${args.length ? ` -- ${args.join(' ')}` : ''}`,
  pollIntervals: base.pollIntervals,
  bundles: wanted('bundles') ? base.bundles : undefined,
  reaction: wanted('reaction') ? base.reaction : undefined,
  rollouts: wanted('rollouts') || wanted('cost') || wanted('gate') ? base.rollouts : undefined,
  gate: wanted('gate') ? base.gate : undefined,
  scale: wanted('scale') ? base.scale : undefined,
  chat: wanted('chat') ? base.chat : undefined,
  analysis: wanted('analysis') ? base.analysis : undefined,
  progress: (line) => process.stderr.write(`bench: ${line}\n`),
};

const results = await runBench(config);
if (!quick && !only) {
  const file = fileURLToPath(new URL('./results.json', import.meta.url));
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  process.stderr.write(`bench: wrote ${file} in ${String(results.meta.seconds)} s\n`);
}
process.stdout.write(`${results.markdown}\n`);
