/** Client options with their defaults, validated once at `connect()`. */
import { z } from 'zod';
import { hubAddressFrom } from '../core/address.js';
import { InvalidArgumentError } from '../core/errors.js';
import type { WireFormat } from '../core/codec/index.js';
import type { ConnectOptions as ChannelOptions } from '../core/transports/index.js';
import { COMMUNICATOR_BACKOFF_MS } from './backoff.js';
import type { DropPolicy } from './outbound-queue.js';

export const DEFAULT_ADDRESS = 'cd://127.0.0.1:4040';
/** What a client keeps in bytes while disconnected, unless told otherwise. */
export const DEFAULT_QUEUE_MAX_BYTES = 16 * 1024 * 1024;

export interface ClientOptions {
  /** `text` (the communicator's line form, default) or `json` (typed parameter values). */
  format?: WireFormat;
  /** Reconnect after the connection drops (default true). */
  reconnect?: boolean;
  /** Delays between reconnect attempts; default the communicator's 1,1,1,3,5,10,20,30,60 s. */
  backoffMs?: readonly number[];
  /** Keep dialing (with the back-off) until the first connection succeeds instead of failing. */
  waitOnFirstConnect?: boolean;
  /**
   * Messages kept while disconnected: at most `capacity` (default 10 000) and `maxBytes` of them
   * (default 16 MiB), and which to drop when either is full.
   */
  queue?: { capacity?: number; maxBytes?: number; policy?: DropPolicy };
  /** Default request timeout (default 10 s). */
  requestTimeoutMs?: number;
  /** Passed to the transport (line limit, outbound buffer, TLS material). */
  channel?: ChannelOptions;
  /**
   * The token this client proves its identity with (`AUTH token=...` on every connection; see
   * SECURITY.md). Default: `$SWITCHBOARD_TOKEN`, else, for a hub on this machine, the admin token
   * in `$SWITCHBOARD_HOME/hub.token` when that file is this user's. `false`: send none.
   */
  token?: string | false;
}

export interface ResolvedOptions {
  format: WireFormat;
  reconnect: boolean;
  backoffMs: readonly number[];
  waitOnFirstConnect: boolean;
  queueCapacity: number;
  queueMaxBytes: number;
  dropPolicy: DropPolicy;
  requestTimeoutMs: number;
  channel: ChannelOptions | undefined;
  token: string | false | undefined;
}

const schema = z.object({
  format: z.enum(['text', 'json']).default('text'),
  reconnect: z.boolean().default(true),
  backoffMs: z
    .array(z.number().int().nonnegative())
    .min(1)
    .default([...COMMUNICATOR_BACKOFF_MS]),
  waitOnFirstConnect: z.boolean().default(false),
  queue: z
    .object({
      capacity: z.number().int().nonnegative().default(10_000),
      maxBytes: z.number().int().positive().default(DEFAULT_QUEUE_MAX_BYTES),
      policy: z.enum(['drop-oldest', 'drop-newest']).default('drop-oldest'),
    })
    .default({ capacity: 10_000, maxBytes: DEFAULT_QUEUE_MAX_BYTES, policy: 'drop-oldest' }),
  requestTimeoutMs: z.number().int().positive().default(10_000),
});

export function resolveOptions(options: ClientOptions = {}): ResolvedOptions {
  const { channel, token, ...rest } = options;
  if (token !== undefined && token !== false && typeof token !== 'string')
    throw new InvalidArgumentError('invalid client option token: a string, or false for none');
  const parsed = schema.safeParse(rest);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidArgumentError(
      `invalid client option ${issue?.path.join('.') || ''}: ${issue?.message ?? 'bad value'}`,
    );
  }
  const o = parsed.data;
  return {
    format: o.format,
    reconnect: o.reconnect,
    backoffMs: o.backoffMs,
    waitOnFirstConnect: o.waitOnFirstConnect,
    queueCapacity: o.queue.capacity,
    queueMaxBytes: o.queue.maxBytes,
    dropPolicy: o.queue.policy,
    requestTimeoutMs: o.requestTimeoutMs,
    channel,
    token,
  };
}

/**
 * The hub address: the argument, else `SWITCHBOARD_ADDRESS`, else `COMMUNICATOR_LISTEN`, else the
 * communicator's local default; `127.0.0.1:4040` and socket paths are taken as `cd:`.
 */
export function resolveAddress(url: string | undefined): string {
  const address = hubAddressFrom(url);
  if (address.trim() === '')
    throw new InvalidArgumentError('the hub address is empty: give a URL such as cd://127.0.0.1:4040');
  return address.trim();
}
