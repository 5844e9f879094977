/** Validates the send/sniff flags into typed options with sentences a person can act on. */
import { z } from 'zod';
import { parseAddress } from '../core/address.js';
import { InvalidArgumentError } from '../core/errors.js';
import { COMMAND_NAME } from '../core/message.js';
import { resolveAddress } from '../client/options.js';
import type { OutgoingMessage } from '../client/types.js';

export interface SendOptions {
  address: string;
  wait: boolean;
  timeoutMs: number;
  json: boolean;
  as: string | undefined;
  /** The hub's signal_secret, sent as `secret_code=` on UDP signals. */
  secret: string | undefined;
  /** A CA (PEM file) for cds:// and wss:// (otherwise SWITCHBOARD_CA, then the system's). */
  ca: string | undefined;
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
  secret: z.string().min(1, 'must not be empty').max(512, 'is longer than 512 characters').optional(),
  ca: z.string().min(1, 'must name a PEM file').optional(),
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

export function parseSendOptions(raw: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): SendOptions {
  const r = sendSchema.safeParse(raw);
  if (!r.success) fail('send', r.error);
  const address = checkedAddress(r.data.address);
  const udp = parseAddress(address).transport === 'udp';
  if (r.data.wait && udp) {
    throw new InvalidArgumentError(
      `--wait needs a stream connection (cd://, cds://, ws://): a UDP signal to ${address} gets no reply`,
    );
  }
  if (r.data.secret !== undefined && !udp)
    throw new InvalidArgumentError(
      `--secret is the signal_secret of UDP signals (cdu://); ${address} is a stream connection, which is not checked with it`,
    );
  // The hub's own variable: one SWITCHBOARD_SIGNAL_SECRET serves the hub and the tools of a machine.
  const secret = r.data.secret ?? (udp ? env.SWITCHBOARD_SIGNAL_SECRET || undefined : undefined);
  return {
    address,
    wait: r.data.wait ?? false,
    timeoutMs: r.data.timeout,
    json: r.data.json ?? false,
    as: r.data.as,
    secret,
    ca: r.data.ca,
  };
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

/** `--ca` as the client's channel option (without it the transport falls back to SWITCHBOARD_CA). */
export function channelOptions(options: { ca: string | undefined }): { channel?: { ca: string } } {
  return options.ca !== undefined ? { channel: { ca: options.ca } } : {};
}

/** The message with `secret_code=` when a secret goes with it (UDP signals only). */
export function withSecret(msg: OutgoingMessage, options: { secret: string | undefined }): OutgoingMessage {
  return options.secret === undefined ? msg : { ...msg, params: { ...msg.params, secret_code: options.secret } };
}
