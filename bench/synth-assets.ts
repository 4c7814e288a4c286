/**
 * Child process of the bundle benchmark: synthesizes the example app into the directory given as the first
 * argument, so each function's asset is exactly what the construct deploys (the prebuilt bundle of
 * `npm run build`, copied by CDK). Its output (CDK's progress lines) is the parent's to keep or drop.
 *
 * @example
 * node --import tsx bench/synth-assets.ts /tmp/cutover-assets
 */
import { App } from 'aws-cdk-lib';
import { CutoverExampleStack } from '../infra/example-environment';

const outdir = process.argv[2];
if (!outdir) throw new Error('usage: synth-assets.ts <outdir>');
const app = new App({ outdir });
new CutoverExampleStack(app, 'CutoverExample');
app.synth();
