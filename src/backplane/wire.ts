/**
 * What hubs tell each other over the backplane besides messages: their service tables, heartbeats
 * and goodbyes, as small JSON documents. Anyone holding the NATS credentials can publish on these
 * subjects, so every payload is size-checked and parsed with zod before it is believed; a bad one
 * is logged and dropped.
 */
import { InvalidMessageError } from '../core/errors.js';
import { z } from 'zod';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const INSTANCE = /^[A-Za-z0-9_]+$/;

const Name = z.string().max(128).regex(NAME, 'must be letters, digits and _, not starting with a digit');

export const MAX_SERVICES = 50_000;

export const ServiceState = z.object({
  name: Name,
  /** Epoch seconds the service came up. */
  since: z.number().int().nonnegative(),
  instances: z.array(z.string().max(64).regex(INSTANCE)).max(10_000),
});
export type ServiceState = z.infer<typeof ServiceState>;

export const HubState = z.object({
  v: z.literal(1),
  hub: Name,
  /** Epoch ms the hub started: a larger epoch is a later life of the same hub. */
  epoch: z.number().int().positive(),
  /** Grows with every change of the table within one life. */
  seq: z.number().int().nonnegative(),
  /** The NATS server the hub is connected to (shown by cluster-status and the Network page). */
  address: z.string().max(512),
  cluster: z.string().max(64).nullable(),
  services: z.array(ServiceState).max(MAX_SERVICES),
  /** Services this hub knows without their being up (configured, or registered earlier): messages for them are kept. */
  known: z.array(Name).max(MAX_SERVICES),
});
export type HubState = z.infer<typeof HubState>;

export const Alive = z.object({ hub: Name, epoch: z.number().int().positive(), seq: z.number().int().nonnegative() });
export type Alive = z.infer<typeof Alive>;

export const Bye = z.object({ hub: Name, epoch: z.number().int().positive() });

export const Hello = z.object({ hub: Name, epoch: z.number().int().positive() });

/** `NS.ctl.SHUTDOWN` and `NS.ctl.FORGET` (which names the hub to forget). */
export const Control = z.object({
  hub: Name,
  epoch: z.number().int().positive(),
  server_name: Name.optional(),
  // Who started it, and the proof (src/trust/cluster-commands.ts).
  by: z.string().max(64).optional(),
  at: z.number().optional(),
  nonce: z.string().max(64).optional(),
  proof: z.string().max(128).optional(),
});

const decoder = new TextDecoder('utf-8', { fatal: true });

/** Parses a payload with `schema`; throws a sentence saying what is wrong. */
export function readPayload<T>(schema: z.ZodType<T>, data: Uint8Array, maxBytes: number): T {
  if (data.length > maxBytes)
    throw new InvalidMessageError(`payload of ${data.length} bytes is over the limit of ${maxBytes}`);
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(data));
  } catch {
    throw new InvalidMessageError('payload is not UTF-8 JSON');
  }
  const r = schema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new InvalidMessageError(`payload: ${issue.path.join('.') || 'document'} ${issue.message}`);
  }
  return r.data;
}

/** Decodes a message line from NATS (UTF-8, at most `maxBytes`); throws a sentence. */
export function readLine(data: Uint8Array, maxBytes: number): string {
  if (data.length > maxBytes)
    throw new InvalidMessageError(`message of ${data.length} bytes is over max_line_length (${maxBytes})`);
  try {
    return decoder.decode(data);
  } catch {
    throw new InvalidMessageError('message is not UTF-8');
  }
}
