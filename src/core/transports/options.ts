/** Options and shapes shared by every transport. */
import type { Channel } from '../channel.js';
import { DEFAULT_MAX_LINE_LENGTH } from '../framing.js';

export { DEFAULT_MAX_LINE_LENGTH };
/** Outbound bytes a channel holds for a peer that does not read before it drops new frames. */
export const DEFAULT_MAX_QUEUED_BYTES = 8 * 1024 * 1024;
/** A graceful close that cannot flush within this time (peer not reading) is forced. */
export const DEFAULT_CLOSE_TIMEOUT_MS = 2000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** The communicator's limit for one UDP message. */
export const MAX_DATAGRAM_BYTES = 1024;

export interface ChannelOptions {
  /** Longest accepted line (or WebSocket message) in bytes; default 1 MiB. */
  maxLineLength?: number;
  /**
   * Bound of the outbound queue; beyond it `send` drops the frame (newest) and counts it. Bytes in
   * the socket buffer plus characters of frames not yet written (cheap to count; exact for ASCII).
   */
  maxQueuedBytes?: number;
  /** How long a graceful close may wait for the peer before the connection is cut; default 2 s. */
  closeTimeoutMs?: number;
}

export interface TlsOptions {
  /** PEM text or a file path. Required to listen on `cds:`. */
  certificate?: string;
  /** PEM text or a file path. Required to listen on `cds:`. */
  privateKey?: string;
  /** Trusted CA certificate(s), PEM text or file paths (e.g. a self-signed hub certificate). */
  ca?: string | string[];
  /** Verify the peer's certificate (default true when connecting). */
  rejectUnauthorized?: boolean;
}

export interface ConnectOptions extends ChannelOptions, TlsOptions {
  /** Give up connecting after this long; default 10 s. */
  connectTimeoutMs?: number;
  signal?: AbortSignal;
}

export interface ListenOptions extends ChannelOptions, TlsOptions {
  /** WebSocket path to accept (default: the URL's path). */
  wsPath?: string;
  /** UDP: peers silent for this long get their channel closed; default 5 minutes. */
  udpIdleTimeoutMs?: number;
  /** UDP: most distinct remote addresses served at once; datagrams from more are dropped. */
  maxUdpPeers?: number;
  /** Unix socket file mode (e.g. 0o600). */
  socketMode?: number;
  /** Unix socket file group (a gid), e.g. the group allowed to connect with mode 0o660. */
  socketGroup?: number;
  /** Connections the system queues before they are accepted (listen backlog); default the system's. */
  backlog?: number;
  /** TLS: refuse clients without a certificate signed by `ca` (mutual TLS). */
  requireClientCertificate?: boolean;
  /**
   * WebSocket: looks at each handshake before it is accepted (a browser names its page in
   * `Origin`); a sentence refuses it with 403 and that sentence as the reason.
   */
  checkHandshake?: (handshake: WsHandshake) => string | undefined;
}

/** What a WebSocket handshake says about where it comes from. */
export interface WsHandshake {
  origin: string | undefined;
  host: string | undefined;
  /** `127.0.0.1:51234`. */
  remoteAddress: string;
}

export interface ListenerStats {
  /** Channels handed to `onChannel`. */
  accepted: number;
  /** Connections or datagrams refused (TLS handshake failures, oversized datagrams, too many UDP peers). */
  rejected: number;
}

export interface Listener {
  /** The actual URL, with the chosen port when 0 was asked. */
  readonly address: string;
  readonly transport: string;
  readonly stats: ListenerStats;
  /** Stops accepting and closes every channel it accepted. Idempotent. */
  close(): Promise<void>;
}

export type OnChannel = (channel: Channel) => void;

export interface ResolvedChannelOptions {
  maxLineLength: number;
  maxQueuedBytes: number;
  closeTimeoutMs: number;
}

export function resolveChannelOptions(o: ChannelOptions | undefined): ResolvedChannelOptions {
  return {
    maxLineLength: o?.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH,
    maxQueuedBytes: o?.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES,
    closeTimeoutMs: o?.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS,
  };
}
