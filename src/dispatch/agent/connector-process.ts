/**
 * Runs a connector as a child process and speaks the connector protocol over its stdio: stdout
 * lines are parsed (a line that is not protocol gets a clear log line and is skipped, the connector
 * keeps running), stderr lines become the connector's log, tasks are written to stdin. A crash is
 * followed by a restart after a bounded, growing delay (reset once the connector stays up a while);
 * tasks it never answered get an error result.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { Channel } from '../../core/channel.js';
import type { Logger } from '../../core/log.js';
import { encodeTask, parseConnectorLine, type EventLine, type HelloLine, type ResultLine, type TaskLine } from '../protocol/connector.js';
import { openStdio } from './stdio.js';

export interface ConnectorProcessOptions {
  command: string[];
  env?: Record<string, string>;
  cwd?: string;
  log: Logger;
  minRestartMs?: number;
  maxRestartMs?: number;
  /** A run at least this long resets the back-off. */
  stableMs?: number;
}

interface Events {
  hello: [HelloLine];
  event: [EventLine];
  result: [ResultLine];
  started: [number];
  exited: [number | null, NodeJS.Signals | null];
}

export class ConnectorProcess extends EventEmitter<Events> {
  private child: ChildProcess | undefined;
  private stdin: Channel | undefined;
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private startedAt = 0;
  private readonly outstanding = new Set<string>();
  /** The connector's last stderr lines, shown when it exits (its log may be below the log level). */
  private lastLog: string[] = [];
  readonly counters = { starts: 0, restarts: 0, garbage: 0, events: 0 };

  constructor(private readonly opts: ConnectorProcessOptions) { super(); }

  get running(): boolean { return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null; }
  get pid(): number | undefined { return this.child?.pid; }

  start(): void {
    this.stopping = false;
    this.spawnOnce();
  }

  private spawnOnce(): void {
    const [cmd, ...args] = this.opts.command;
    const log = this.opts.log;
    const child = spawn(cmd!, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...this.opts.env }, cwd: this.opts.cwd });
    this.child = child;
    this.startedAt = Date.now();
    this.counters.starts++;
    const { channel, onLog } = openStdio(child);
    this.stdin = channel;
    channel.on('frame', (text) => this.onLine(text));
    channel.on('error', (err) => { this.counters.garbage++; log.warn({ err: err.message }, 'connector output problem (the channel closes; the connector is restarted if it exits)'); });
    onLog((text) => {
      if (!text.trim()) return;
      log.info({ stream: 'stderr' }, text);
      this.lastLog.push(text.length > 300 ? `${text.slice(0, 300)}...` : text);
      if (this.lastLog.length > 5) this.lastLog.shift();
    });
    child.once('spawn', () => { log.info({ pid: child.pid, command: this.opts.command.join(' ') }, 'connector started'); this.emit('started', child.pid ?? 0); });
    child.once('error', (err) => log.error({ err: err.message, command: this.opts.command.join(' ') }, 'cannot start the connector'));
    child.once('close', (code, signal) => this.onExit(child, code, signal));
  }

  private onLine(text: string): void {
    if (text.trim() === '') return;
    const parsed = parseConnectorLine(text);
    if (!parsed.ok) {
      this.counters.garbage++;
      this.opts.log.warn({ line: text.length > 200 ? `${text.slice(0, 200)}...` : text }, `ignored a connector stdout line: ${parsed.problem}`);
      return;
    }
    const line = parsed.line;
    if (line.type === 'hello') this.emit('hello', line);
    else if (line.type === 'event') { this.counters.events++; this.emit('event', line); }
    else {
      if (!this.outstanding.delete(line.id)) { this.opts.log.warn({ id: line.id }, 'connector answered a task it was not given (or answered twice); ignored'); return; }
      this.emit('result', line);
    }
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (child !== this.child) return;
    this.child = undefined;
    this.stdin = undefined;
    this.emit('exited', code, signal);
    for (const id of this.outstanding) this.emit('result', { type: 'result', id, error: `the connector exited (${signal ?? `code ${code}`}) before answering` });
    this.outstanding.clear();
    if (this.stopping) return;
    if (Date.now() - this.startedAt >= (this.opts.stableMs ?? 10_000)) this.failures = 0;
    const delay = Math.min(this.opts.maxRestartMs ?? 10_000, (this.opts.minRestartMs ?? 200) * 2 ** this.failures);
    this.failures++;
    this.counters.restarts++;
    this.opts.log.warn({ code, signal, restartInMs: delay, failures: this.failures, lastStderr: this.lastLog }, 'connector exited; restarting');
    this.lastLog = [];
    this.restartTimer = setTimeout(() => { if (!this.stopping) this.spawnOnce(); }, delay);
  }

  /** Passes a task to the connector. False when the connector is not running (the caller reports it). */
  sendTask(task: Omit<TaskLine, 'type'>): boolean {
    if (!this.stdin || !this.running) return false;
    this.outstanding.add(task.id);
    if (!this.stdin.send(encodeTask(task))) { this.outstanding.delete(task.id); return false; }
    return true;
  }

  /** SIGTERM, then SIGKILL after `graceMs`. Resolves when the process is gone. */
  async stop(graceMs = 5000): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const child = this.child;
    if (!child || !this.running) return;
    const gone = new Promise<void>((r) => child.once('close', () => r()));
    this.stdin?.close();
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await gone;
    clearTimeout(timer);
  }
}
