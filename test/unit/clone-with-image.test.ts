import { describe, expect, it } from 'vitest';
import { ErrorName, InvalidInputError } from '../../functions/core/errors';
import type { TaskDefinitionDoc } from '../../functions/core/ports';
import { cloneWithImage } from '../../functions/register/register';
import { LOG_ROUTER_IMAGE, describedTaskDefinition } from '../fixtures/ecs';
import { IMAGE_URI } from '../fixtures/state';

const READ_ONLY = ['taskDefinitionArn', 'revision', 'status', 'requiresAttributes', 'compatibilities', 'registeredAt', 'registeredBy', 'deregisteredAt'];

const described = (): TaskDefinitionDoc => ({ ...describedTaskDefinition(), deregisteredAt: new Date('2026-11-21T00:00:00Z') }) as unknown as TaskDefinitionDoc;

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

describe('cloneWithImage', () => {
  it.each(READ_ONLY)('strips the read-only field %s that RegisterTaskDefinition refuses', (field) => {
    const input = described();
    expect(input).toHaveProperty(field);

    const clone = cloneWithImage(input, 'app', IMAGE_URI);

    expect(clone).not.toHaveProperty(field);
  });

  it('replaces the image of the named container only', () => {
    const clone = cloneWithImage(described(), 'app', IMAGE_URI);

    expect(clone.containerDefinitions.map((c) => [c.name, c.image])).toEqual([
      ['app', IMAGE_URI],
      ['log-router', LOG_ROUTER_IMAGE],
    ]);
  });

  it('keeps every other field of the definition and its containers as it was', () => {
    const input = described();

    const clone = cloneWithImage(input, 'app', IMAGE_URI);

    const { taskDefinitionArn, revision, status, requiresAttributes, compatibilities, registeredAt, registeredBy, deregisteredAt, containerDefinitions, ...rest } = input as Record<string, unknown> &
      TaskDefinitionDoc;
    const [app, router] = input.containerDefinitions;
    expect(clone).toEqual({ ...rest, containerDefinitions: [{ ...app, image: IMAGE_URI }, router] });
  });

  it('does not change the definition it is given', () => {
    const input = deepFreeze(described());
    const before = structuredClone(input);

    const clone = cloneWithImage(input, 'log-router', 'public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.0');

    expect(input).toEqual(before);
    expect(clone.containerDefinitions[0]).not.toBe(input.containerDefinitions[0]);
  });

  it('returns a copy that shares no container with its input', () => {
    const input = described();
    const clone = cloneWithImage(input, 'app', IMAGE_URI) as unknown as { containerDefinitions: Array<Record<string, any>> };

    clone.containerDefinitions[1]!.environment = [{ name: 'X', value: '1' }];
    clone.containerDefinitions[0]!.portMappings[0].containerPort = 9999;

    expect(input.containerDefinitions[1]).not.toHaveProperty('environment');
    expect((input.containerDefinitions[0] as Record<string, any>).portMappings[0].containerPort).toBe(8080);
  });

  it('throws InvalidInput naming the container and family when the container is unknown', () => {
    const attempt = () => cloneWithImage(described(), 'web', IMAGE_URI);

    expect(attempt).toThrow(InvalidInputError);
    expect(attempt).toThrow('container web is not in task definition checkout');
    expect(attempt).toThrow(expect.objectContaining({ name: ErrorName.InvalidInput }));
  });
});
