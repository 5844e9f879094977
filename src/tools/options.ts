/** Validates the send/sniff flags into typed options with sentences a person can act on. */
import { z } from 'zod';
import { parseAddress } from '../core/address.js';
import { InvalidArgumentError } from '../core/errors.js';
import { COMMAND_NAME } from '../core/message.js';
import { resolveAddress } from '../client/options.js';

export interface SendOptions {
  address: string;
  wait: boolean;
  timeoutMs: number;
  json: boolean;
  as: string | undefined;
}

export interface SniffOptions {
  address: string;
  service: string | undefined;
  command: string | undefined;
  json: boolean;
}

const SERVICE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const sendSchema = z.object({
  address: z.string().optional(),
  wait: z.boolean().optional(),
  timeout: z
    .string()
    .regex(/^\d+$/, 'must be a whole number of milliseconds, e.g. --timeout 5000')
    .transform(Number)
    .refine((n) => n > 0 && n <= 3_600_000, 'must be between 1 and 3600000 ms'),
  json: z.boolean().optional(),
  as: z.string().regex(SERVICE_NAME, 'a service name is letters, digits and _, not starting with a digit').optional(),
});

const sniffSchema = z.object({
  address: z.string().optional(),
  service: z
    .string()
    .regex(SERVICE_NAME, 'a service name is letters, digits and _, not starting with a digit')
    .optional(),
  command: z.string().regex(COMMAND_NAME, 'a command is upper case letters, digits and _ (e.g. STATUS)').optional(),
  json: z.boolean().optional(),
});

function fail(flagPrefix: string, error: z.ZodError): never {
  const issue = error.issues[0];
  const flag = issue?.path[0] !== undefined ? `--${String(issue.path[0])}` : flagPrefix;
  throw new InvalidArgumentError(`${flag} ${issue?.message ?? 'is invalid'}`);
}

/** Checks the URL now so a typo fails before any connection attempt. */
export function checkedAddress(url: string | undefined): string {
  const address = resolveAddress(url);
  parseAddress(address);
  return address;
}

export function parseSendOptions(raw: Record<string, unknown>): SendOptions {
  const r = sendSchema.safeParse(raw);
  if (!r.success) fail('send', r.error);
  const address = checkedAddress(r.data.address);
  if (r.data.wait && parseAddress(address).transport === 'udp') {
    throw new InvalidArgumentError(
      `--wait needs a stream connection (cd://, cds://, ws://): a UDP signal to ${address} gets no reply`,
    );
  }
  return { address, wait: r.data.wait ?? false, timeoutMs: r.data.timeout, json: r.data.json ?? false, as: r.data.as };
}

export function parseSniffOptions(raw: Record<string, unknown>): SniffOptions {
  const r = sniffSchema.safeParse(raw);
  if (!r.success) fail('sniff', r.error);
  return {
    address: checkedAddress(r.data.address),
    service: r.data.service,
    command: r.data.command,
    json: r.data.json ?? false,
  };
}
