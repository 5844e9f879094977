/**
 * The sending half of batching, shared by the engine's connectors and the plugin-side client:
 * while `batching` is on (both sides agreed at handshake), the messages queued during one
 * microtask leave as one `batch` message (at most MAX_BATCH each). A batch the transport refuses
 * (one value that cannot be cloned) is sent again one message at a time, so only that one fails.
 */
import { MAX_BATCH, type RemixMessage } from './protocol.js';

export class Outbox {
  batching = false;
  private queue: RemixMessage[] = [];
  private flushQueued = false;

  /**
   * `sendRaw` writes to the transport and throws when it refuses; `sendOne` sends one message and
   * handles its refusal; `onBatch` counts a batch sent.
   */
  constructor(
    private readonly sendRaw: (message: RemixMessage) => void,
    private readonly sendOne: (message: RemixMessage) => void,
    private readonly onBatch: () => void = () => undefined,
  ) {}

  push(message: RemixMessage): void {
    if (!this.batching) {
      this.sendOne(message);
      return;
    }
    this.queue.push(message);
    if (this.queue.length >= MAX_BATCH) this.flush();
    else if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(this.flushLater);
    }
  }

  /** Sends what is queued now: one message as itself, more as one batch. */
  flush(): void {
    const out = this.queue;
    if (out.length === 0) return;
    this.queue = [];
    if (out.length > 1) {
      try {
        this.sendRaw({ action: 'batch', payload: out });
        this.onBatch();
        return;
      } catch {
        // One message may be the cause: one by one, so only its own call fails.
      }
    }
    for (const m of out) this.sendOne(m);
  }

  /** Stops batching and forgets what is queued (the transport is gone). */
  reset(): void {
    this.batching = false;
    this.queue = [];
  }

  private readonly flushLater = (): void => {
    this.flushQueued = false;
    this.flush();
  };
}
