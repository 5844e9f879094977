/**
 * Test and benchmark helper (not public API): a NATS cluster of Debian's nats-server processes on
 * loopback, each with its own client port, route port and JetStream store in a temp folder, full
 * mesh routes. Nodes can be killed (SIGKILL) and started again on the same ports and store. The
 * shared nats-server on 4222 is never touched.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, portOpen } from '../../core/test/support.js';

export const NATS_SERVER = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server';

/**
 * For `describe(..., { skip })`: the reason to skip when nats-server is not installed, outside CI;
 * false otherwise (under CI=true a missing server makes the suite fail when it starts one).
 */
export function natsServerMissing(): string | false {
  if (existsSync(NATS_SERVER) || process.env.CI === 'true') return false;
  return `${NATS_SERVER} is not installed (Debian package nats-server)`;
}

interface Node {
  client: number;
  route: number;
  child: ChildProcess | undefined;
  output: string;
}

export class NatsCluster {
  private constructor(
    private readonly nodes: Node[],
    readonly dir: string,
    private readonly name: string,
    private readonly jetstream: boolean,
  ) {}

  /** Starts `size` servers and waits until each accepts clients. */
  static async start(size = 3, options: { jetstream?: boolean; name?: string } = {}): Promise<NatsCluster> {
    const nodes: Node[] = [];
    for (let i = 0; i < size; i++)
      nodes.push({ client: await freePort(), route: await freePort(), child: undefined, output: '' });
    const cluster = new NatsCluster(
      nodes,
      mkdtempSync(join(tmpdir(), 'switchboard-nats-')),
      options.name ?? `sbtest${process.pid}`,
      options.jetstream ?? true,
    );
    try {
      await Promise.all(nodes.map((_, i) => cluster.startNode(i)));
    } catch (err) {
      await cluster.dispose();
      throw err;
    }
    return cluster;
  }

  get urls(): string[] {
    return this.nodes.map((n) => `nats://127.0.0.1:${n.client}`);
  }

  url(i: number): string {
    return `nats://127.0.0.1:${this.nodes[i]!.client}`;
  }

  running(i: number): boolean {
    const c = this.nodes[i]?.child;
    return c !== undefined && c.exitCode === null && c.signalCode === null;
  }

  /** What the node printed (for failure messages). */
  output(i: number): string {
    return this.nodes[i]?.output ?? '';
  }

  async startNode(i: number): Promise<void> {
    const node = this.nodes[i]!;
    if (this.running(i)) return;
    const routes = this.nodes
      .filter((_, j) => j !== i)
      .map((q) => `nats://127.0.0.1:${q.route}`)
      .join(',');
    const args = [
      '-a',
      '127.0.0.1',
      '-p',
      String(node.client),
      '--server_name',
      `n${i}`,
      // One server alone is no cluster (JetStream refuses a cluster without routes).
      ...(this.nodes.length > 1
        ? ['--cluster_name', this.name, '--cluster', `nats://127.0.0.1:${node.route}`, '--routes', routes]
        : []),
      ...(this.jetstream ? ['-js', '-sd', join(this.dir, `n${i}`)] : []),
    ];
    node.output = '';
    const child = spawn(NATS_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: this.dir });
    const keep = (d: Buffer): void => {
      node.output = (node.output + d.toString()).slice(-20_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    node.child = child;
    const deadline = Date.now() + 15_000;
    while (!(await portOpen(node.client, '127.0.0.1', 200))) {
      if (child.exitCode !== null) throw new Error(`nats-server n${i} exited with ${child.exitCode}:\n${node.output}`);
      if (Date.now() > deadline) throw new Error(`nats-server n${i} did not open ${node.client}:\n${node.output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** SIGKILL, like a crash; resolves when the process is gone. */
  async kill(i: number): Promise<void> {
    const node = this.nodes[i]!;
    const child = node.child;
    node.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  async dispose(): Promise<void> {
    await Promise.all(this.nodes.map((_, i) => this.kill(i)));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
