/**
 * The traffic tap behind `switchboard sniff`: connections on the local listeners that sent
 * `SNIFF` receive a `SNIFFED` notice for every message passing the hub that matches their filter.
 * It costs one boolean test per message while nobody sniffs. With `countMessages()` (the
 * dashboard's /metrics) it also counts every message by command and outcome: one map lookup per
 * message, far cheaper than a sniffer (which encodes, and someone decodes, every message).
 */
import { encodeJson, encodeText } from '../core/codec/index.js';
import { createMessage, type JsonValue, type Message } from '../core/message.js';
import { isServiceOrInstance, sniffedParams, type SniffOutcome, type Sniffed } from '../core/protocol/index.js';
import type { HubConnection, SniffFilter } from './connection.js';
import { Outgoing } from '../core/message-connection.js';
import { redactSecrets } from '../trust/secrets.js';

export type { SniffOutcome } from '../core/protocol/index.js';

export function matches(filter: SniffFilter, msg: Message): boolean {
  if (filter.command !== undefined && msg.command !== filter.command) return false;
  if (
    filter.service !== undefined &&
    !isServiceOrInstance(filter.service, msg.to.service) &&
    !isServiceOrInstance(filter.service, msg.sentFrom.service)
  )
    return false;
  return true;
}

/** Distinct commands tallied; further ones are counted under `other` (command names come from clients). */
const MAX_TALLIED_COMMANDS = 500;

export type MessageTally = Map<string, Partial<Record<SniffOutcome, number>>>;

/** Sees every message like an unfiltered sniffer, in-process (the hub's `debug_all_messages` log). */
export type TapSink = (outcome: SniffOutcome, msg: Message, deliveredTo?: readonly string[], reason?: string) => void;

export class SniffTap {
  private readonly sniffers = new Set<HubConnection>();
  private tally: MessageTally | undefined;
  private sink: TapSink | undefined;
  /** Read on the hot path: false means no work at all. */
  active = false;

  constructor(private readonly serverName: string) {}

  get count(): number {
    return this.sniffers.size;
  }

  add(conn: HubConnection, filter: SniffFilter): void {
    conn.sniff = filter;
    this.sniffers.add(conn);
    this.active = true;
  }

  remove(conn: HubConnection): void {
    conn.sniff = undefined;
    this.sniffers.delete(conn);
    this.active = this.sniffers.size > 0 || this.tally !== undefined || this.sink !== undefined;
  }

  /** Hands every message to `sink` from now on (it costs what a sniffer costs: the fast path is off). */
  watchAll(sink: TapSink): void {
    this.sink = sink;
    this.active = true;
  }

  /** Someone is sniffing (the tally alone does not need the message's details). */
  get sniffing(): boolean {
    return this.sniffers.size > 0 || this.sink !== undefined;
  }

  /** Messages are being counted (the dashboard runs). */
  get counting(): boolean {
    return this.tally !== undefined;
  }

  /**
   * Starts counting messages by command and outcome (for good: metrics are cumulative); returns the
   * live tally. It makes `active` true, so every outcome passes through `publish`; a path that
   * routes without calling `publish` must call `countOne()` itself while `counting`.
   */
  countMessages(): MessageTally {
    this.tally ??= new Map();
    this.active = true;
    return this.tally;
  }

  /** Counts one message without publishing it (for routing paths that skip `publish`). */
  countOne(outcome: SniffOutcome, command: string): void {
    if (this.tally) this.tallyOne(outcome, command);
  }

  private tallyOne(outcome: SniffOutcome, command: string): void {
    const tally = this.tally!;
    let entry = tally.get(command);
    if (!entry) {
      if (tally.size >= MAX_TALLIED_COMMANDS && command !== 'other') return this.tallyOne(outcome, 'other');
      tally.set(command, (entry = {}));
    }
    entry[outcome] = (entry[outcome] ?? 0) + 1;
  }

  /** Publishes one event; `msg` is the message as routed (already stamped). */
  publish(outcome: SniffOutcome, msg: Message, deliveredTo?: readonly string[], reason?: string): void {
    if (this.tally) this.tallyOne(outcome, msg.command);
    // Watchers see credentials carried in bodies (an agent's sbt_ token in DISPATCH) as ***.
    let shown: Message | undefined;
    if (this.sink) this.sink(outcome, (shown ??= redactSecrets(msg)), deliveredTo, reason);
    if (this.sniffers.size === 0) return;
    let text: Outgoing | undefined;
    let json: Outgoing | undefined;
    for (const conn of this.sniffers) {
      const filter = conn.sniff;
      if (!filter || !matches(filter, msg)) continue;
      shown ??= redactSecrets(msg);
      if (conn.format === 'json') {
        json ??= this.notice(outcome, JSON.parse(encodeJson(shown)) as JsonValue, deliveredTo, reason, true);
        conn.write(json);
      } else {
        text ??= this.notice(outcome, encodeText(shown), deliveredTo, reason, false);
        conn.write(text);
      }
    }
  }

  /** A line that did not parse: every unfiltered sniffer sees it. */
  publishInvalid(line: string, reason: string): void {
    if (this.tally) this.tallyOne('invalid', 'other');
    const shown = line.length > 1000 ? line.slice(0, 1000) : line;
    if (this.sink) this.sink('invalid', createMessage('INVALID', { line: shown }), undefined, reason);
    let out: Outgoing | undefined;
    for (const conn of this.sniffers) {
      if (conn.sniff?.service !== undefined || conn.sniff?.command !== undefined) continue;
      out ??= new Outgoing(
        createMessage(
          'SNIFFED',
          sniffedParams({ outcome: 'invalid', at: Date.now(), message: shown, reason }, false),
          {},
          { server: this.serverName },
        ),
      );
      conn.write(out);
    }
  }

  private notice(
    outcome: SniffOutcome,
    message: JsonValue,
    deliveredTo: readonly string[] | undefined,
    reason: string | undefined,
    typed: boolean,
  ): Outgoing {
    const event: Sniffed = { outcome, at: Date.now(), message };
    if (deliveredTo !== undefined) event.deliveredTo = deliveredTo as string[];
    if (reason !== undefined) event.reason = reason;
    return new Outgoing(createMessage('SNIFFED', sniffedParams(event, typed), {}, { server: this.serverName }));
  }
}
