/**
 * EventBridge events shaped as AWS sends them, for the local runtime to deliver.
 * @see https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-eventbridge.html
 * @see https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html
 */
import { randomUUID } from 'node:crypto';
import { DEMO } from './environment';

/** ECR's `ECR Image Action` event for a completed push (with the manifest's media types when given). */
export function ecrPushEvent(p: { repository: string; digest: string; tag?: string; manifestMediaType?: string; artifactMediaType?: string; time?: Date; account?: string; region?: string }) {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'ECR Image Action',
    source: 'aws.ecr',
    account: p.account ?? DEMO.account,
    time: (p.time ?? new Date()).toISOString().replace(/\.\d+Z$/, 'Z'),
    region: p.region ?? DEMO.region,
    resources: [],
    detail: {
      result: 'SUCCESS',
      'repository-name': p.repository,
      'image-digest': p.digest,
      'action-type': 'PUSH',
      ...(p.tag ? { 'image-tag': p.tag } : {}),
      ...(p.manifestMediaType ? { 'manifest-media-type': p.manifestMediaType } : {}),
      ...(p.artifactMediaType ? { 'artifact-media-type': p.artifactMediaType } : {}),
    },
  };
}

/** ECR's `ECR Image Scan` event: a basic scan of the image completed (or failed). */
export function ecrScanEvent(p: { repository: string; digest: string; status?: string; time?: Date; account?: string; region?: string }) {
  const account = p.account ?? DEMO.account;
  const region = p.region ?? DEMO.region;
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'ECR Image Scan',
    source: 'aws.ecr',
    account,
    time: (p.time ?? new Date()).toISOString().replace(/\.\d+Z$/, 'Z'),
    region,
    resources: [`arn:aws:ecr:${region}:${account}:repository/${p.repository}`],
    detail: { 'scan-status': p.status ?? 'COMPLETE', 'repository-name': p.repository, 'image-digest': p.digest, 'image-tags': [] },
  };
}

export function alarmStateChangeEvent(p: { alarmName: string; state: string; previous?: string; reason?: string; time?: Date; account?: string; region?: string }) {
  const account = p.account ?? DEMO.account;
  const region = p.region ?? DEMO.region;
  const time = (p.time ?? new Date()).toISOString();
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'CloudWatch Alarm State Change',
    source: 'aws.cloudwatch',
    account,
    time: time.replace(/\.\d+Z$/, 'Z'),
    region,
    resources: [`arn:aws:cloudwatch:${region}:${account}:alarm:${p.alarmName}`],
    detail: {
      alarmName: p.alarmName,
      state: { value: p.state, reason: p.reason ?? '', timestamp: time.replace('Z', '+0000') },
      previousState: { value: p.previous ?? 'OK', reason: '', timestamp: time.replace('Z', '+0000') },
      configuration: { description: '', metrics: [] },
    },
  };
}
