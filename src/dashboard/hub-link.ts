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

export class HubLink extends EventEmitter<{ sniffed: [Sniffed] }> {
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
    this.emit('sniffed', event);
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
