/**
 * The dashboard's two in-process connections to its hub: one sniffs all traffic (JSON format)
 * for the Traffic page and the message counters; one asks the hub questions (MESH_STATUS).
 */
import { EventEmitter } from 'node:events';
import { decodeLine, encodeText } from '../core/codec/index.js';
import type { Channel } from '../core/channel.js';
import { createMessage, type JsonValue, type Message } from '../core/message.js';
import type { Hub } from '../hub/hub.js';

export interface Sniffed {
  outcome: string;
  at: number;
  message: JsonValue;
  deliveredTo?: string;
  reason?: string;
}

export interface MessageCounts { received: number; sent: number }

/** Most services counted; beyond it new names are not tracked (names come from clients). */
const MAX_COUNTED = 10_000;
const COUNTED_OUTCOMES = new Set(['delivered', 'broadcast', 'forwarded', 'cached']);

function serviceOf(value: JsonValue | undefined): string | undefined {
  if (typeof value !== 'string' || value === '' || value === '*' || value === '?' || value === '.') return undefined;
  const hash = value.indexOf('#');
  return hash === -1 ? value : value.slice(0, hash);
}

export class HubLink extends EventEmitter<{ sniffed: [Sniffed] }> {
  /** Messages routed to and from each service (by base name) since the dashboard started. */
  readonly counts = new Map<string, MessageCounts>();
  private readonly tap: Channel;
  private readonly ask: Channel;
  private waiting: { want: Set<string>; resolve: (m: Message | undefined) => void }[] = [];

  constructor(readonly hub: Hub) {
    super();
    this.tap = hub.connectInProcess('dashboard-sniff');
    this.tap.on('frame', (frame) => this.onSniffFrame(frame));
    this.tap.send(encodeText(createMessage('SNIFF', { format: 'json' })));
    this.ask = hub.connectInProcess('dashboard-ask');
    this.ask.on('frame', (frame) => this.onAskFrame(frame));
  }

  private onSniffFrame(frame: string): void {
    let msg: Message;
    try { msg = decodeLine(frame); } catch { return; }
    if (msg.command !== 'SNIFFED') return;
    const p = msg.params;
    const event: Sniffed = { outcome: String(p.outcome ?? ''), at: Number(p.at ?? Date.now()), message: p.message ?? null };
    if (p.delivered_to !== undefined) event.deliveredTo = String(p.delivered_to);
    if (p.reason !== undefined) event.reason = String(p.reason);
    this.count(event);
    this.emit('sniffed', event);
  }

  private count(event: Sniffed): void {
    if (!COUNTED_OUTCOMES.has(event.outcome) || !event.message || typeof event.message !== 'object' || Array.isArray(event.message)) return;
    const to = serviceOf(event.message.service);
    const from = serviceOf(event.message['sent-from-service']);
    const entry = (name: string) => {
      let c = this.counts.get(name);
      if (!c && this.counts.size < MAX_COUNTED) this.counts.set(name, (c = { received: 0, sent: 0 }));
      return c;
    };
    if (to) { const c = entry(to); if (c) c.received++; }
    if (from) { const c = entry(from); if (c) c.sent++; }
  }

  private onAskFrame(frame: string): void {
    let msg: Message;
    try { msg = decodeLine(frame); } catch { return; }
    const i = this.waiting.findIndex((w) => w.want.has(msg.command));
    if (i === -1) return;
    const [w] = this.waiting.splice(i, 1);
    w!.resolve(msg);
  }

  /** Sends a hub command and resolves with the first reply among `replies` (undefined after `timeoutMs`). */
  request(command: string, replies: readonly string[], timeoutMs = 3000): Promise<Message | undefined> {
    return new Promise((resolve) => {
      const entry = { want: new Set(replies), resolve: (m: Message | undefined) => { clearTimeout(timer); resolve(m); } };
      const timer = setTimeout(() => { this.waiting = this.waiting.filter((w) => w !== entry); resolve(undefined); }, timeoutMs);
      this.waiting.push(entry);
      this.ask.send(encodeText(createMessage(command)));
    });
  }

  close(): void {
    this.tap.close();
    this.ask.close();
    for (const w of this.waiting.splice(0)) w.resolve(undefined);
  }
}
