/**
 * Test and benchmark helper (not public API): `node bin/switchboard.js hub ...` as a child process
 * with its own temporary home, its output kept for failure messages, started when its local port
 * accepts connections and killed like a crash.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { portOpen } from '../../core/test/support.js';

const BIN = fileURLToPath(new URL('../../../bin/switchboard.js', import.meta.url));

export class HubChild {
  private child: ChildProcess | undefined;
  output = '';
  readonly home: string;

  constructor(
    private readonly label: string,
    homePrefix: string,
  ) {
    this.home = mkdtempSync(join(tmpdir(), homePrefix));
  }

  /** The process id while it runs (benchmarks read its memory and I/O from /proc). */
  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** (Re)starts the hub with `args`; resolves when `port` on 127.0.0.1 accepts connections. */
  protected async spawnHub(
    args: string[],
    port: number,
    env: Record<string, string> = {},
    timeoutMs = 60_000,
  ): Promise<void> {
    await this.kill();
    this.output = '';
    const child = spawn(process.execPath, [BIN, 'hub', ...args], {
      env: {
        ...process.env,
        SWITCHBOARD_FROM_SOURCE: '1',
        SWITCHBOARD_LOG_LEVEL: process.env.SWITCHBOARD_LOG_LEVEL ?? 'warn',
        SWITCHBOARD_HOME: this.home,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (d: Buffer) => {
      this.output += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      this.output += d.toString();
    });
    this.child = child;
    // A hub that fails on its own (a port taken between freePort and its bind, a crash) leaves a
    // test with only ECONNREFUSED to go on: say so, with the end of its output (kill() is not news).
    child.once('exit', (code, signal) => {
      if (this.child !== child || code === 0) return;
      process.stderr.write(
        `${this.label} (pid ${child.pid}) exited on its own (${signal ?? `code ${code}`}); its output ends:\n${this.output.slice(-2000)}\n`,
      );
    });
    const deadline = Date.now() + timeoutMs;
    while (!(await portOpen(port, '127.0.0.1', 200))) {
      if (child.exitCode !== null) throw new Error(`${this.label} exited with ${child.exitCode}:\n${this.output}`);
      if (Date.now() > deadline)
        throw new Error(`${this.label} did not listen on port ${port} within ${timeoutMs / 1000} s:\n${this.output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Resolves with the exit code once the process ends on its own (STOP, SHUTDOWN). */
  waitExit(timeoutMs = 15_000): Promise<number | null> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child?.exitCode ?? null);
    return new Promise((resolve, reject) => {
      const t = setTimeout(
        () => reject(new Error(`${this.label} still running after ${timeoutMs} ms:\n${this.output}`)),
        timeoutMs,
      );
      child.once('exit', (code) => {
        clearTimeout(t);
        resolve(code);
      });
    });
  }

  /** SIGKILL, like a crash; resolves when the process is gone. */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  /** Kills the hub and removes its home. */
  async dispose(): Promise<void> {
    await this.kill();
    rmSync(this.home, { recursive: true, force: true });
  }
}
