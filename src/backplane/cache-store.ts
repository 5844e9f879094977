/**
 * Messages kept for a service that is not connected (`cache=ttl=N`), in a JetStream stream so
 * they outlive the hub that took them. One stream per namespace (`NS_cache`, subjects
 * `NS.cache.PIN.SERVICE.INST`, replicated on up to three NATS servers). The server we run on
 * (2.9) has no per-message TTL, so each message carries its deadline in a header and the stream
 * keeps messages at most the longest TTL the hub accepts; an expired one is deleted when met.
 *
 * Writing: `hold` queues (bounded by bytes) and one writer publishes in order, retrying while
 * JetStream is unreachable (a NATS server died, a stream leader is being elected); a message ID
 * makes a retried write count once. After each write a poke on `NS.poke.PIN.SERVICE` tells hubs
 * that have the service to drain.
 *
 * Reading: a hub with the service drains by walking the stream (`next_by_subj`) and claiming each
 * message by deleting it: of two hubs that drain at once, exactly one gets each message.
 */
import type { NatsConnection } from '@nats-io/nats-core';
import { headers as natsHeaders } from '@nats-io/nats-core';
import {
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type JetStreamClient,
  type JetStreamManager,
  type MsgRequest,
  type StreamConfig,
} from '@nats-io/jetstream';
import { SwitchboardError, asSwitchboardError, errorMessage } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { MAX_TTL_SECONDS } from '../core/protocol/index.js';
import type { Subjects } from './subjects.js';

export const EXPIRES_HEADER = 'Sb-Expires';

interface Pending {
  subject: string;
  pin: string;
  service: string;
  data: Uint8Array;
  /** Epoch ms. */
  expires: number;
  id: string;
}

export interface CacheStoreOptions {
  replicas: number | 'auto';
  maxPendingBytes: number;
  maxStoredBytes: number;
  maxPerService: number;
  maxLineLength: number;
  retryMs: number;
  /** Used in message IDs: a retried write is stored once. */
  writer: string;
}

export interface CacheStats {
  /** Written to JetStream / delivered from it / dropped (expired or over a bound) / waiting to be written. */
  stored: number;
  delivered: number;
  expired: number;
  dropped: number;
  pending: number;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

function isNotFound(err: unknown, code: number): boolean {
  return err instanceof JetStreamApiError && err.code === code;
}

export class CacheStore {
  private jsm: JetStreamManager | undefined;
  private js: JetStreamClient | undefined;
  private readyPromise: Promise<void> | undefined;
  private readonly pending: Pending[] = [];
  private pendingBytes = 0;
  private writing = false;
  private closed = false;
  private seq = 0;
  private replicas = 0;
  readonly stats: CacheStats = { stored: 0, delivered: 0, expired: 0, dropped: 0, pending: 0 };

  constructor(
    private readonly nc: NatsConnection,
    private readonly subjects: Subjects,
    private readonly options: CacheStoreOptions,
    private readonly log: Logger,
    /** After a message is written: hubs with the service may drain. */
    private readonly onStored: (pin: string, service: string) => void,
  ) {}

  /** Sets up the stream in the background (retrying until JetStream answers); resolves once it is there. */
  ready(): Promise<void> {
    this.readyPromise ??= this.setUp();
    return this.readyPromise;
  }

  get streamReplicas(): number {
    return this.replicas;
  }

  private async setUp(): Promise<void> {
    let wait = this.options.retryMs;
    let said = false;
    while (!this.closed) {
      try {
        this.jsm = await jetstreamManager(this.nc, { timeout: 5000 });
        this.js = jetstream(this.nc, { timeout: 5000 });
        this.replicas = await this.ensureStream(this.jsm);
        this.log.info({ stream: this.subjects.stream, replicas: this.replicas }, 'backplane message cache ready');
        return;
      } catch (err) {
        if (!said)
          this.log.warn(
            { stream: this.subjects.stream, err: errorMessage(err) },
            'JetStream is not ready for the backplane message cache yet; retrying (is nats-server running with -js?)',
          );
        said = true;
        await sleep(wait);
        wait = Math.min(wait * 2, 2000);
      }
    }
  }

  private wantedReplicas(): number[] {
    if (this.options.replicas !== 'auto') return [this.options.replicas];
    const info = this.nc.info;
    if (!info?.cluster) return [1];
    // Every server of the cluster advertises its client URL; up to three copies.
    const servers = Math.max(1, info.connect_urls?.length ?? 1);
    const top = Math.min(3, servers);
    return Array.from({ length: top }, (_, i) => top - i);
  }

  private async ensureStream(jsm: JetStreamManager): Promise<number> {
    const name = this.subjects.stream;
    try {
      const info = await jsm.streams.info(name);
      if (!info.config.subjects?.includes(this.subjects.cacheAll))
        throw new SwitchboardError(
          'CONFLICT',
          `stream ${name} exists but does not hold ${this.subjects.cacheAll}: another program uses the name`,
        );
      return info.config.num_replicas;
    } catch (err) {
      if (!isNotFound(err, JetStreamApiCodes.StreamNotFound)) throw err;
    }
    const base: Partial<StreamConfig> & { name: string } = {
      name,
      subjects: [this.subjects.cacheAll],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      // No per-message TTL before NATS 2.11: the longest the hub accepts, each message's own deadline in a header.
      max_age: MAX_TTL_SECONDS * 1_000_000_000,
      max_bytes: this.options.maxStoredBytes,
      max_msgs_per_subject: this.options.maxPerService,
      max_msg_size: this.options.maxLineLength + 1024,
      duplicate_window: 120 * 1_000_000_000,
    };
    const tries = this.wantedReplicas();
    let last: unknown;
    for (const replicas of tries) {
      try {
        await jsm.streams.add({ ...base, num_replicas: replicas });
        return replicas;
      } catch (err) {
        last = err;
        // Another hub created it meanwhile.
        try {
          const info = await jsm.streams.info(name);
          return info.config.num_replicas;
        } catch {
          // Too few servers for this many copies: try fewer (auto only).
        }
        this.log.info({ replicas, err: errorMessage(err) }, 'backplane message cache: stream not created');
      }
    }
    throw asSwitchboardError(last, 'UNAVAILABLE');
  }

  /** Queues a message for JetStream; false when the queue is full (the caller keeps it some other way). */
  hold(subject: string, pin: string, service: string, line: string, expires: number): boolean {
    const data = new TextEncoder().encode(line);
    if (this.closed || this.pendingBytes + data.length > this.options.maxPendingBytes) return false;
    this.pending.push({ subject, pin, service, data, expires, id: `${this.options.writer}-${++this.seq}` });
    this.pendingBytes += data.length;
    this.stats.pending = this.pending.length;
    if (!this.writing) void this.write();
    return true;
  }

  /** One writer, in order: a message is written before the next one is tried. */
  private async write(): Promise<void> {
    this.writing = true;
    try {
      await this.ready();
      let wait = this.options.retryMs;
      while (this.pending.length > 0 && !this.closed) {
        const p = this.pending[0]!;
        if (p.expires <= Date.now()) {
          this.stats.expired++;
          this.shift();
          continue;
        }
        try {
          const h = natsHeaders();
          h.set(EXPIRES_HEADER, String(p.expires));
          await this.js!.publish(p.subject, p.data, { msgID: p.id, headers: h, timeout: 5000 });
          this.stats.stored++;
          this.shift();
          wait = this.options.retryMs;
          this.onStored(p.pin, p.service);
        } catch (err) {
          this.log.debug({ subject: p.subject, err: errorMessage(err) }, 'JetStream write failed; retrying');
          await sleep(wait);
          wait = Math.min(wait * 2, 2000);
        }
      }
    } finally {
      this.writing = false;
    }
  }

  private shift(): void {
    const p = this.pending.shift();
    if (p) this.pendingBytes -= p.data.length;
    this.stats.pending = this.pending.length;
  }

  /**
   * Delivers the kept messages of `service` that `eligible(pin, instance)` accepts, oldest first.
   * `deliver` returns false when the service is gone: the walk stops and the rest stays kept.
   */
  async drain(
    service: string,
    eligible: (pin: string, instance: string) => boolean,
    deliver: (line: string) => boolean,
  ): Promise<number> {
    if (this.closed) return 0;
    await this.ready();
    const jsm = this.jsm!;
    const stream = this.subjects.stream;
    const filter = this.subjects.cacheOf(service);
    let seq = 1;
    let delivered = 0;
    for (;;) {
      if (this.closed) return delivered;
      // next_by_subj is understood by the stream leader (2.9+); the client types only list it for direct gets.
      const m = await jsm.streams.getMessage(stream, { seq, next_by_subj: filter } as unknown as MsgRequest);
      if (!m) return delivered;
      seq = m.seq + 1;
      const tokens = this.subjects.tokens(m.subject);
      const pin = tokens?.[1] ?? '';
      const instance = tokens?.[3] ?? '';
      if (!eligible(pin, instance)) continue;
      const expires = Number(m.header?.get(EXPIRES_HEADER));
      const expired = Number.isFinite(expires) && expires <= Date.now();
      // The claim: whoever deletes it delivers it.
      let claimed: boolean;
      try {
        claimed = await jsm.streams.deleteMessage(stream, m.seq, false);
      } catch (err) {
        if (isNotFound(err, JetStreamApiCodes.NoMessageFound)) continue;
        throw err;
      }
      if (!claimed) continue;
      if (expired) {
        this.stats.expired++;
        continue;
      }
      let line: string;
      try {
        line = new TextDecoder('utf-8', { fatal: true }).decode(m.data);
      } catch {
        this.stats.dropped++;
        this.log.warn({ subject: m.subject }, 'a kept message is not UTF-8: dropped');
        continue;
      }
      if (!deliver(line)) {
        // Gone between the claim and now: keep it again (a new write, at the end).
        this.hold(m.subject, pin, service, line, Number.isFinite(expires) ? expires : Date.now() + 60_000);
        return delivered;
      }
      delivered++;
      this.stats.delivered++;
    }
  }

  /** Messages and bytes in the stream (for cluster-status), or undefined while JetStream does not answer. */
  async info(): Promise<{ messages: number; bytes: number; replicas: number } | undefined> {
    if (!this.jsm) return undefined;
    try {
      const info = await this.jsm.streams.info(this.subjects.stream);
      return { messages: info.state.messages, bytes: info.state.bytes, replicas: info.config.num_replicas };
    } catch {
      return undefined;
    }
  }

  /** Waits up to `ms` for queued writes, then stops; what is still queued is lost (logged). */
  async stop(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.pending.length > 0 && Date.now() < deadline) await sleep(20);
    this.closed = true;
    if (this.pending.length > 0)
      this.log.warn(
        { messages: this.pending.length },
        'stopping with kept messages not yet written to JetStream: they are lost',
      );
  }
}
