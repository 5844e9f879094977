/**
 * The hub's `LIST_SERVICES` reply (`SERVICES services=<JSON>`), validated: it crosses a process
 * boundary, and discovery builds its registry cache on it.
 */
import { z } from 'zod';
import { InvalidMessageError } from '../core/errors.js';
import type { Message } from '../core/message.js';

const instanceSchema = z.looseObject({
  instance: z.string(),
  id: z.string(),
  since: z.number().optional(),
  commands: z.array(z.string()).default([]),
  endpoints: z.array(z.unknown()).optional(),
  params: z.record(z.string(), z.unknown()).optional(),
});

const serviceSchema = z.looseObject({
  name: z.string(),
  server: z.string(),
  status: z.enum(['up', 'down']),
  since: z.number().optional(),
  instances: z.array(instanceSchema).default([]),
});

export type ServiceInstance = z.infer<typeof instanceSchema>;
export type ServiceEntry = z.infer<typeof serviceSchema>;

/** Reads `services` (a JSON string in the text form, the array itself in the JSON form). */
export function parseServiceList(msg: Message): ServiceEntry[] {
  const raw = msg.params.services;
  let value: unknown = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch (err) {
      throw new InvalidMessageError(
        `the hub's SERVICES reply does not hold JSON in "services": ${(err as Error).message}`,
      );
    }
  }
  const parsed = z.array(serviceSchema).safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidMessageError(
      `the hub's SERVICES reply is not a service list (${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'bad value'})`,
    );
  }
  return parsed.data;
}
