/**
 * The connector as the agent's child process, spoken to over its stdio: stdout/stdin is the line
 * channel, stderr its log. A crash is followed by a restart after a bounded, growing delay (reset
 * once the connector stays up a while).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from '../../core/log.js';
import { ConnectorLink } from './connector-link.js';
import { openStdio } from './stdio.js';

export interface ConnectorProcessOptions {
  command: string[];
  /** The connector's whole environment (see connector-env.ts: an allow-list, never the agent's own). */
  env: Record<string, string>;
  cwd?: string;
  log: Logger;
  minRestartMs?: number;
  maxRestartMs?: number;
  /** A run at least this long resets the back-off. */
  stableMs?: number;
}

export class ConnectorProcess extends ConnectorLink {
  private child: ChildProcess | undefined;
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private startedAt = 0;
  /** The connector's last stderr lines, shown when it exits (its log may be below the log level). */
  private lastLog: string[] = [];

  constructor(private readonly opts: ConnectorProcessOptions) {
    super(opts.log);
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }
  override get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): void {
    this.stopping = false;
    this.spawnOnce();
  }

  private spawnOnce(): void {
    const [cmd, ...args] = this.opts.command;
    const log = this.log;
    const child = spawn(cmd!, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: this.opts.env,
      cwd: this.opts.cwd,
    });
    this.child = child;
    this.startedAt = Date.now();
    this.counters.starts++;
    const { channel, onLog } = openStdio(child);
    this.attach(channel);
    onLog((text) => {
      if (!text.trim()) return;
      log.info({ stream: 'stderr' }, text);
      this.lastLog.push(text.length > 300 ? `${text.slice(0, 300)}...` : text);
      if (this.lastLog.length > 5) this.lastLog.shift();
    });
    child.once('spawn', () => {
      log.info({ pid: child.pid, command: this.opts.command.join(' ') }, 'connector started');
      this.emit('started', child.pid ?? 0);
    });
    child.once('error', (err) =>
      log.error({ err: err.message, command: this.opts.command.join(' ') }, 'cannot start the connector'),
    );
    child.once('close', (code, signal) => this.onExit(child, code, signal));
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (child !== this.child) return;
    this.child = undefined;
    this.detach(`exited (${signal ?? `code ${code}`})`);
    this.emit('exited', code, signal);
    if (this.stopping) return;
    if (Date.now() - this.startedAt >= (this.opts.stableMs ?? 10_000)) this.failures = 0;
    const delay = Math.min(this.opts.maxRestartMs ?? 10_000, (this.opts.minRestartMs ?? 200) * 2 ** this.failures);
    this.failures++;
    this.counters.restarts++;
    this.log.warn(
      { code, signal, restartInMs: delay, failures: this.failures, lastStderr: this.lastLog },
      'connector exited; restarting',
    );
    this.lastLog = [];
    this.restartTimer = setTimeout(() => {
      if (!this.stopping) this.spawnOnce();
    }, delay);
  }

  /** SIGTERM, then SIGKILL after `graceMs`. Resolves when the process is gone. */
  async stop(graceMs = 5000): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const child = this.child;
    if (!child || !this.running) return;
    const gone = new Promise<void>((r) => child.once('close', () => r()));
    this.channel?.close();
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await gone;
    clearTimeout(timer);
  }
}
