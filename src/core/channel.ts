/**
 * One duplex abstraction every transport implements. A channel moves *frames*: a text line on
 * byte streams (TCP, Unix, TLS, WebSocket, stdio), a datagram on UDP, a whole message on message
 * transports (IPC, worker ports). Codecs (text line form, JSON form) sit above the channel.
 *
 * Back-pressure is explicit: `send` returns false when the frame was dropped because the peer is
 * not reading and the bounded outbound queue is full; `stats` counts bytes, frames and drops.
 * Byte-stream channels also offer flow control: `pauseInput`/`resumeInput` stop and restart reading
 * from the peer, and `drain` says the transport took what it had refused (the queue emptied).
 */

export type ChannelState = 'connecting' | 'open' | 'closing' | 'closed';

export interface ChannelStats {
  framesIn: number;
  framesOut: number;
  bytesIn: number;
  bytesOut: number;
  /** Frames dropped because the outbound queue was full (or, inbound, held past 1 MiB before any `frame` listener). */
  dropped: number;
  /** Bytes written but not yet flushed to the OS. */
  bufferedBytes: number;
  /** When input last arrived (ms since the epoch; until then, when the channel was made). */
  lastInAt: number;
}

export interface ChannelEvents {
  frame: (frame: string) => void;
  /** A recoverable problem with input (e.g. a line over the limit); the channel may close after it. */
  error: (err: Error) => void;
  close: (reason?: Error) => void;
  /** The transport's write buffer emptied after it had filled (byte streams only). */
  drain: () => void;
}

export interface Channel {
  /** Unique per process, for logs and the registry. */
  readonly id: string;
  /** `tcp`, `unix`, `tls`, `udp`, `ws`, `memory`, ... */
  readonly transport: string;
  /** Human-readable peer address (`127.0.0.1:51234`, `/path.sock`, ...). */
  readonly remoteAddress: string;
  /**
   * The subject of the certificate the peer presented and the listener verified (TLS listeners
   * that ask for client certificates), e.g. `CN=web,O=acme`; undefined otherwise.
   */
  readonly peerSubject?: string;
  readonly state: ChannelState;
  readonly stats: ChannelStats;
  /** Queue a frame; false when it was dropped (queue full or channel closed). */
  send(frame: string): boolean;
  /** Graceful close after flushing what is queued. Idempotent. */
  close(reason?: Error): void;
  /** Stop delivering frames until `resumeInput` (the peer's bytes wait in the OS); byte streams only. */
  pauseInput?(): void;
  resumeInput?(): void;
  on<E extends keyof ChannelEvents>(event: E, listener: ChannelEvents[E]): this;
  off<E extends keyof ChannelEvents>(event: E, listener: ChannelEvents[E]): this;
}
