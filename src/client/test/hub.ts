/**
 * A real hub for the client and tool tests: `node bin/switchboard.js hub` as a child process on a
 * free port (restartable on the same port, for reconnect tests). Not part of the public API.
 */
import { freePort } from '../../core/test/support.js';
import { HubChild } from '../../hub/test/hub-child.js';

export class TestHub extends HubChild {
  private constructor(
    readonly port: number,
    readonly signalPort: number,
  ) {
    super('the hub', 'switchboard-client-test-');
  }

  static async start(): Promise<TestHub> {
    const hub = new TestHub(await freePort(), await freePort());
    await hub.restart();
    return hub;
  }

  get url(): string {
    return `cd://127.0.0.1:${this.port}`;
  }

  /** Starts (again) on the same port; resolves when it accepts connections. */
  restart(): Promise<void> {
    return this.spawnHub(
      ['--local-listen', this.url, '--signal', `cdu://127.0.0.1:${this.signalPort}`],
      this.port,
      {},
      30_000,
    );
  }

  /** Kills the hub process (abruptly, like a crash) and waits for it to exit. */
  stop(): Promise<void> {
    return this.kill();
  }

  get log(): string {
    return this.output;
  }
}
