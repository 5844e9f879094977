/**
 * ChildProcessPlugin: a plugin in a child process.
 * - `mode: 'ipc'` (default): `fork(url)` a Node script; messages go over the IPC channel (JSON).
 *   The plugin side uses `childProcessConnector()`.
 * - `mode: 'stdio'`: spawn any program (`command` + `args`, default: `url`); one JSON message per
 *   line on its stdin/stdout, so a plugin can be written in any language. stderr is passed through.
 * A child that exits while active is a crash: calls reject naming the exit code, the plugin becomes
 * inactive and can be activated again (a new process).
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { PluginConnector, type ConnectorOptions } from '../connector.js';
import { connectionLost } from '../errors.js';
import type { Profile } from '../profile.js';
import { DEFAULT_MAX_MESSAGE_BYTES, type RemixMessage } from '../protocol.js';
import { readLines } from '../../core/framing.js';

export interface ChildProcessPluginOptions extends ConnectorOptions {
  mode?: 'ipc' | 'stdio';
  /** stdio mode: the program to run (default: the profile's url). */
  command?: string;
  args?: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** ipc mode: Node flags for the child, e.g. `['--import', 'tsx']`. */
  execArgv?: string[];
  /** How long to wait for the child to exit after SIGTERM before SIGKILL. Default 2000 ms. */
  killTimeoutMs?: number;
}

export class ChildProcessPlugin extends PluginConnector {
  declare options: ChildProcessPluginOptions;
  private child: ChildProcess | undefined;

  constructor(profile: Profile, options: ChildProcessPluginOptions = {}) {
    super(profile, options);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  protected connect(url: string): Promise<void> {
    const o = this.options;
    const child =
      o.mode === 'stdio'
        ? spawn(o.command ?? url, o.args ?? [], {
            cwd: o.cwd,
            env: o.env ?? process.env,
            stdio: ['pipe', 'pipe', 'inherit'],
          })
        : fork(url, o.args ?? [], {
            cwd: o.cwd,
            env: o.env ?? process.env,
            execArgv: o.execArgv ?? [],
            serialization: 'json',
            stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
          });
    this.child = child;
    if (o.mode === 'stdio') {
      const limit = this.options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
      // A plugin's over-long line is skipped up to its newline and reported; the plugin keeps being served.
      readLines(
        child.stdout!,
        (line) => {
          if (line.trim().length > 0) this.getMessage(line);
        },
        {
          maxLineLength: limit,
          overLong: 'skip',
          onOverLong: (err) =>
            this.messageRejected(`a line of ${String(err.data?.received)} bytes is over the ${limit}-byte limit`),
        },
      );
      child.stdin!.on('error', () => undefined); // EPIPE after a crash: the exit handler reports it
    } else {
      child.on('message', (msg: unknown) => this.getMessage(msg));
    }
    child.once('exit', (code, signal) => {
      if (this.child !== child) return;
      this.child = undefined;
      this.connectionLost(
        connectionLost(
          `plugin "${this.name}" (process ${child.pid ?? '?'}) exited ${signal ? `on ${signal}` : `with code ${code}`}`,
        ),
      );
    });
    return new Promise((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', (err) => {
        reject(
          connectionLost(
            `cannot start plugin "${this.name}" (${o.mode === 'stdio' ? (o.command ?? url) : url}): ${err.message}`,
            err,
          ),
        );
      });
    });
  }

  protected async disconnect(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    if (child.connected) child.disconnect();
    child.kill('SIGTERM');
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      exited,
      new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          child.kill('SIGKILL');
          resolve();
        }, this.options.killTimeoutMs ?? 2000);
      }),
    ]);
    clearTimeout(timer);
  }

  /** Fork IPC carries whole objects (batches); stdio lines have a size limit, so one message a line. */
  protected override supportsBatch(): boolean {
    return this.options.mode !== 'stdio';
  }

  protected send(message: RemixMessage): void {
    const child = this.child;
    if (!child) throw connectionLost(`plugin "${this.name}" has no running process`);
    if (this.options.mode === 'stdio') child.stdin!.write(JSON.stringify(message) + '\n');
    else if (child.connected) child.send(message);
    else throw connectionLost(`plugin "${this.name}" closed its IPC channel`);
  }
}
