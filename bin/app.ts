#!/usr/bin/env node
/**
 * The CDK app: the example environment (the `checkout` service on ECS behind an ALB) with a `Cutover`
 * that rolls it out, checked by cdk-nag's AWS Solutions pack at synth.
 *
 * @example
 * npm run synth          # offline, no credentials: bundles the functions with the local esbuild
 * npx cdk deploy CutoverExample
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CutoverExampleStack } from '../infra/example-environment';

const app = new App();
new CutoverExampleStack(app, 'CutoverExample');
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
