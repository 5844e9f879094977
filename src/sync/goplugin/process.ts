/**
 * The plugin's process: `sh -c <command>` in the connector's folder, in its own process group
 * (`detached`) so a kill reaches everything the command started. Stdout's first line is the
 * handshake; later stdout and all stderr lines become log entries, and stderr's tail is kept for
 * error reports.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { PluginExitedError, PluginTimeoutError } from './errors.js';
import { OutputTail, logLineFramer, parsePluginLine } from './plugin-log.js';
import type { PluginLogEntry } from './types.js';

export interface ExitInfo {
  code: number | null;
  signal: string | null;
  /** Set when the process could not be started at all (e.g. the folder does not exist). */
  error?: Error;
}

export interface SpawnPluginOptions {
  command: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  onLog: (entry: PluginLogEntry) => void;
}

export class PluginProcess {
  readonly tail = new OutputTail();
  readonly exited: Promise<ExitInfo>;
  private readonly child: ChildProcess;
  private exitInfo: ExitInfo | undefined;
  private firstLineWaiter: ((line: string) => void) | undefined;
  private firstLineSeen: string | undefined;
  /** Resolves once stdout/stderr are drained after exit, or shortly after exit if a grandchild holds them open. */
  private readonly drained: Promise<void>;

  constructor(options: SpawnPluginOptions) {
    this.child = spawn('sh', ['-c', options.command], {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stdout = logLineFramer((line) => {
      if (this.firstLineSeen === undefined) {
        this.firstLineSeen = line;
        this.firstLineWaiter?.(line);
        return;
      }
      if (line.trim() !== '') options.onLog(parsePluginLine(line, 'stdout'));
    });
    const stderr = logLineFramer((line) => {
      if (line.trim() === '') return;
      this.tail.push(line);
      options.onLog(parsePluginLine(line, 'stderr'));
    });
    this.child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
    this.child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
    const closed = new Promise<void>((resolve) =>
      this.child.once('close', () => {
        stdout.end();
        stderr.end();
        resolve();
      }),
    );
    this.exited = new Promise<ExitInfo>((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
      this.child.once('error', (error) => {
        // spawn failed (no exit event follows) or a signal could not be sent (the exit event still comes).
        if (this.child.pid === undefined || this.child.exitCode !== null) {
          this.exitInfo ??= { code: null, signal: null, error };
          resolve(this.exitInfo);
        }
      });
    });
    this.drained = this.exited.then(() => Promise.race([closed, new Promise<void>((r) => setTimeout(r, 200).unref())]));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get hasExited(): boolean {
    return this.exitInfo !== undefined;
  }

  /**
   * The first stdout line. Rejects with `PluginTimeoutError` after `timeoutMs`, with
   * `PluginExitedError` if the process ends first, or with `abortReason()` when `signal` fires.
   */
  firstLine(timeoutMs: number, signal: AbortSignal | undefined, abortReason: () => Error): Promise<string> {
    if (this.firstLineSeen !== undefined) return Promise.resolve(this.firstLineSeen);
    return new Promise<string>((resolve, reject) => {
      const done = (fn: () => void) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.firstLineWaiter = undefined;
        fn();
      };
      const timer = setTimeout(
        () =>
          done(() =>
            reject(
              new PluginTimeoutError(
                `the connector printed no go-plugin handshake line within ${timeoutMs} ms; is the command a go-plugin connector (magic cookie BASIC_PLUGIN=hello)?`,
                { stderrTail: this.tail.toString() },
              ),
            ),
          ),
        timeoutMs,
      );
      const onAbort = () => done(() => reject(abortReason()));
      signal?.addEventListener('abort', onAbort, { once: true });
      this.firstLineWaiter = (line) => done(() => resolve(line));
      void this.exited
        .then(() => this.drained)
        .then(() => {
          if (this.firstLineWaiter) done(() => reject(this.exitError('before printing its handshake line')));
        });
    });
  }

  /** A `PluginExitedError` describing how the process ended, with the stderr tail. */
  exitError(when: string): PluginExitedError {
    const info = this.exitInfo ?? { code: null, signal: null };
    const how = info.error
      ? `could not be started (${info.error.message})`
      : info.signal
        ? `was killed by ${info.signal}`
        : `exited with code ${info.code}`;
    return new PluginExitedError(`the connector ${how} ${when}`, {
      stderrTail: this.tail.toString(),
      exitCode: info.code,
      exitSignal: info.signal,
      cause: info.error,
    });
  }

  /** Waits for the exit and for its last output (bounded), for error reports. */
  async exitedAndDrained(): Promise<ExitInfo> {
    const info = await this.exited;
    await this.drained;
    return info;
  }

  /** True when the process has exited within `ms`. */
  async waitExit(ms: number): Promise<boolean> {
    if (this.exitInfo) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    });
    const result = await Promise.race([this.exited.then(() => true as const), timeout]);
    clearTimeout(timer);
    return result;
  }

  /** SIGKILL to the whole process group (the shell, the connector, anything they started). */
  killGroup(): void {
    const pid = this.child.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // ESRCH: the group is already gone.
    }
  }
}
