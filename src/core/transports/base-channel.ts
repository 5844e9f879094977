/**
 * What every channel shares: identity, state, stats, typed events, and the rules that `close`
 * is reported exactly once and that an `error` with no listener is logged instead of thrown.
 */
import { EventEmitter } from 'node:events';
import type { Channel, ChannelEvents, ChannelState, ChannelStats } from '../channel.js';
import { errorMessage } from '../errors.js';
import { getLogger, type Logger } from '../log.js';

let nextId = 1;
/** Characters held for a channel nobody listens to yet; beyond this frames are dropped (and counted). */
const MAX_EARLY_CHARS = 1024 * 1024;
let logger: Logger | undefined;

export function channelLogger(): Logger {
  logger ??= getLogger('channel');
  return logger;
}

export class Stats implements ChannelStats {
  framesIn = 0;
  framesOut = 0;
  bytesIn = 0;
  bytesOut = 0;
  dropped = 0;
  lastInAt = Date.now();
  constructor(private readonly buffered: () => number) {}
  get bufferedBytes(): number {
    return this.buffered();
  }
  toJSON(): ChannelStats {
    const { framesIn, framesOut, bytesIn, bytesOut, dropped, bufferedBytes, lastInAt } = this;
    return { framesIn, framesOut, bytesIn, bytesOut, dropped, bufferedBytes, lastInAt };
  }
}

export abstract class BaseChannel implements Channel {
  readonly id: string;
  readonly stats: Stats;
  protected currentState: ChannelState = 'open';
  private readonly events = new EventEmitter();
  /**
   * Frames that arrive before anyone listens (between `connect()` resolving and the caller's
   * `on('frame')`) are held here, then delivered in order; undefined once a listener has them.
   */
  private early: string[] | undefined = [];
  private earlyChars = 0;
  private earlyScheduled = false;

  constructor(
    readonly transport: string,
    readonly remoteAddress: string,
  ) {
    this.id = `${transport}-${nextId++}`;
    this.stats = new Stats(() => this.bufferedBytes());
    this.events.setMaxListeners(0);
  }

  get state(): ChannelState {
    return this.currentState;
  }

  abstract send(frame: string): boolean;
  abstract close(reason?: Error): void;
  protected abstract bufferedBytes(): number;

  on<E extends keyof ChannelEvents>(event: E, listener: ChannelEvents[E]): this {
    this.events.on(event, listener);
    if (event === 'frame') this.releaseEarlyFrames();
    return this;
  }

  off<E extends keyof ChannelEvents>(event: E, listener: ChannelEvents[E]): this {
    this.events.off(event, listener);
    return this;
  }

  once<E extends keyof ChannelEvents>(event: E, listener: ChannelEvents[E]): this {
    this.events.once(event, listener);
    if (event === 'frame') this.releaseEarlyFrames();
    return this;
  }

  /** Delivers one inbound frame; a throwing listener is logged, it does not kill the connection. */
  protected emitFrame(frame: string): void {
    this.stats.framesIn++;
    if (this.early !== undefined) {
      if (this.earlyScheduled || this.events.listenerCount('frame') === 0) {
        if (this.earlyChars + frame.length <= MAX_EARLY_CHARS) {
          this.early.push(frame);
          this.earlyChars += frame.length;
        } else {
          this.stats.dropped++;
        }
        return;
      }
      this.early = undefined;
    }
    try {
      this.events.emit('frame', frame);
    } catch (err) {
      channelLogger().error({ channel: this.id, err: errorMessage(err) }, 'a frame listener threw');
    }
  }

  private releaseEarlyFrames(): void {
    if (this.early === undefined || this.earlyScheduled) return;
    if (this.early.length === 0) {
      this.early = undefined;
      return;
    }
    this.earlyScheduled = true;
    // Not inside on(): the caller may still be attaching its other listeners.
    queueMicrotask(() => {
      const frames = this.early ?? [];
      this.early = undefined;
      this.earlyChars = 0;
      this.earlyScheduled = false;
      for (const f of frames) {
        this.stats.framesIn--; // counted once already
        this.emitFrame(f);
      }
    });
  }

  protected emitDrain(): void {
    this.events.emit('drain');
  }

  protected emitError(err: Error): void {
    if (this.events.listenerCount('error') > 0) this.events.emit('error', err);
    else
      channelLogger().warn(
        { channel: this.id, remote: this.remoteAddress, code: (err as { code?: string }).code, err: err.message },
        'channel error',
      );
  }

  /** Marks the channel closed and emits `close` once. */
  protected finish(reason?: Error): void {
    if (this.currentState === 'closed') return;
    this.currentState = 'closed';
    this.early = undefined;
    this.events.emit('close', reason);
    this.events.removeAllListeners('frame');
  }
}
