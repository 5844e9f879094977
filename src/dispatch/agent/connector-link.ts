/**
 * What the agent holds on to: a link to its connector over a line channel, whatever carries it
 * (the connector's stdio when the agent starts it; a TCP connection when the connector runs in its
 * own container). Lines are parsed here: a line that is not protocol gets a clear log line and is
 * skipped; tasks the connector never answered get an error result when the link drops.
 */
import { EventEmitter } from 'node:events';
import type { Channel } from '../../core/channel.js';
import type { Logger } from '../../core/log.js';
import {
  encodeTask,
  parseConnectorLine,
  type EventLine,
  type HelloLine,
  type ResultLine,
  type TaskLine,
} from '../protocol/connector.js';

export interface LinkEvents {
  hello: [HelloLine];
  /** The event and the length of its line (the agent batches by size). */
  event: [EventLine, number];
  /** The result and the length of its line (absent for results the link makes up when a connector goes away). */
  result: [ResultLine, number?];
  started: [number];
  exited: [number | null, NodeJS.Signals | null];
}

export abstract class ConnectorLink extends EventEmitter<LinkEvents> {
  protected channel: Channel | undefined;
  private readonly outstanding = new Set<string>();
  readonly counters = { starts: 0, restarts: 0, garbage: 0, events: 0 };

  constructor(protected readonly log: Logger) {
    super();
  }

  abstract start(): void;
  abstract stop(graceMs?: number): Promise<void>;
  abstract get running(): boolean;
  /** The connector's process id when the agent runs it. */
  get pid(): number | undefined {
    return undefined;
  }

  /** Wires a freshly opened channel to the connector. */
  protected attach(channel: Channel): void {
    this.channel = channel;
    channel.on('frame', (text) => this.onLine(text));
    channel.on('error', (err) => {
      this.counters.garbage++;
      this.log.warn({ err: err.message }, 'connector output problem (the link closes and is opened again)');
    });
  }

  /** The link is gone: unanswered tasks fail. */
  protected detach(why: string): void {
    this.channel = undefined;
    for (const id of this.outstanding)
      this.emit('result', { type: 'result', id, error: `the connector ${why} before answering` });
    this.outstanding.clear();
  }

  private onLine(text: string): void {
    if (text.trim() === '') return;
    const parsed = parseConnectorLine(text);
    if (!parsed.ok) {
      this.counters.garbage++;
      this.log.warn(
        { line: text.length > 200 ? `${text.slice(0, 200)}...` : text },
        `ignored a connector stdout line: ${parsed.problem}`,
      );
      return;
    }
    const line = parsed.line;
    if (line.type === 'hello') this.emit('hello', line);
    else if (line.type === 'event') {
      this.counters.events++;
      this.emit('event', line, text.length);
    } else {
      if (!this.outstanding.delete(line.id)) {
        this.log.warn({ id: line.id }, 'connector answered a task it was not given (or answered twice); ignored');
        return;
      }
      this.emit('result', line, text.length);
    }
  }

  /** Passes a task to the connector. False when the link is down (the caller reports it). */
  sendTask(task: Omit<TaskLine, 'type'>): boolean {
    if (!this.channel || !this.running) return false;
    this.outstanding.add(task.id);
    if (!this.channel.send(encodeTask(task))) {
      this.outstanding.delete(task.id);
      return false;
    }
    return true;
  }
}
