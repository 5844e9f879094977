/**
 * A real hub for the client and tool tests: `node bin/switchboard.js hub` as a child process on a
 * free port (restartable on the same port, for reconnect tests). Not part of the public API.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, portOpen } from '../../core/testing.js';

const BIN = fileURLToPath(new URL('../../../bin/switchboard.js', import.meta.url));

export class TestHub {
  private child: ChildProcess | undefined;
  private output = '';
  readonly home = mkdtempSync(join(tmpdir(), 'switchboard-client-test-'));

  private constructor(readonly port: number, readonly signalPort: number) {}

  static async start(): Promise<TestHub> {
    const hub = new TestHub(await freePort(), await freePort());
    await hub.restart();
    return hub;
  }

  get url(): string {
    return `cd://127.0.0.1:${this.port}`;
  }

  /** Starts (again) on the same port; resolves when it accepts connections. */
  async restart(): Promise<void> {
    await this.stop();
    this.output = '';
    const child = spawn(process.execPath, [BIN, 'hub', '--local-listen', this.url, '--signal', `cdu://127.0.0.1:${this.signalPort}`], {
      env: { ...process.env, SWITCHBOARD_FROM_SOURCE: '1', SWITCHBOARD_LOG_LEVEL: process.env.SWITCHBOARD_LOG_LEVEL ?? 'warn', SWITCHBOARD_HOME: this.home },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (d: Buffer) => { this.output += d.toString(); });
    child.stderr?.on('data', (d: Buffer) => { this.output += d.toString(); });
    this.child = child;
    const deadline = Date.now() + 30_000;
    while (!(await portOpen(this.port, '127.0.0.1', 200))) {
      if (child.exitCode !== null) throw new Error(`the hub exited with ${child.exitCode}:\n${this.output}`);
      if (Date.now() > deadline) throw new Error(`the hub did not listen on ${this.url} within 30 s:\n${this.output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Kills the hub process (abruptly, like a crash) and waits for it to exit. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  /** Stops the hub and removes its home. */
  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.home, { recursive: true, force: true });
  }

  get log(): string {
    return this.output;
  }
}
