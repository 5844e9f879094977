/**
 * Test and benchmark helpers (not public API): real hub processes meshed on loopback addresses
 * (127.0.0.1, .2, .3, ... all work on Linux without setup), and a raw line client that registers
 * a service and collects what it receives.
 */
import type { Channel } from '../../core/channel.js';
import { decodeLine, encodeLine } from '../../core/codec/index.js';
import { createMessage, type JsonValue, type Message } from '../../core/message.js';
import { freePort, waitFor } from '../../core/test/support.js';
import { HubChild } from '../../hub/test/hub-child.js';
import { connect } from '../../core/transports/index.js';
import { fetchMeshStatus } from '../cluster-status.js';
import type { MeshStatus } from '../mesh.js';

export interface HubSpec {
  name: string;
  /** Loopback address of the remote listener, e.g. `127.0.0.2`. */
  ip: string;
  neighbors: string[];
  extraArgs?: string[];
  /** TLS links: `true` on the mesh's own `--remote-listen cds://`, `shared` on the hub's `--secure-listen`. */
  secure?: boolean | 'shared';
}

export class HubProcess extends HubChild {
  constructor(
    readonly spec: HubSpec,
    readonly localPort: number,
    readonly remotePort: number,
    private readonly argsFor: () => string[],
    private readonly timings = 'fast',
    private readonly env: Record<string, string> = {},
  ) {
    super(`hub ${spec.name}`, 'switchboard-mesh-');
  }

  get localUrl(): string {
    return `cd://127.0.0.1:${this.localPort}`;
  }

  get remoteAddress(): string {
    return `${this.spec.ip}:${this.remotePort}`;
  }

  start(): Promise<void> {
    return this.spawnHub(this.argsFor(), this.localPort, {
      SWITCHBOARD_DATA_PATH: this.home,
      SWITCHBOARD_MESH_TIMINGS: this.timings,
      ...this.env,
    });
  }

  status(): Promise<MeshStatus | undefined> {
    return fetchMeshStatus(this.localUrl, 5000);
  }
}

/** Hubs by name, each listening on its own loopback address; neighbors by hub name. */
/**
 * `secureCredentials` (`user:pass`): hubs with `secure: true` listen for TLS links on
 * `cds://user:pass@<ip>:<port>` and dial their neighbors with the same credentials.
 */
export async function startCluster(
  specs: HubSpec[],
  options: { timings?: string; extraArgs?: string[]; env?: Record<string, string>; secureCredentials?: string } = {},
): Promise<Map<string, HubProcess>> {
  const hubs = new Map<string, HubProcess>();
  for (const spec of specs) {
    const local = await freePort();
    const remote = await freePort(spec.ip);
    hubs.set(
      spec.name,
      new HubProcess(
        spec,
        local,
        remote,
        () => {
          const h = hubs.get(spec.name)!;
          const creds = options.secureCredentials ?? 'admin:admin';
          const neighbors = spec.neighbors.map((n) =>
            spec.secure ? `cds://${creds}@${hubs.get(n)!.remoteAddress}` : hubs.get(n)!.remoteAddress,
          );
          return [
            '--server-name',
            spec.name,
            '--local-listen',
            h.localUrl,
            '--signal',
            'off',
            ...(spec.secure === 'shared'
              ? ['--secure-listen', `cds://${creds}@${h.remoteAddress}`]
              : ['--remote-listen', spec.secure ? `cds://${creds}@${h.remoteAddress}` : `cd://${h.remoteAddress}`]),
            ...(neighbors.length ? ['--neighbors', neighbors.join(',')] : []),
            ...(options.extraArgs ?? []),
            ...(spec.extraArgs ?? []),
          ];
        },
        options.timings ?? 'fast',
        options.env ?? {},
      ),
    );
  }
  // A few at a time: every process compiles the sources through tsx, and the machine has 2 cores.
  const queue = [...hubs.values()];
  await Promise.all(
    Array.from({ length: Math.min(3, queue.length) }, async () => {
      for (let h = queue.shift(); h; h = queue.shift()) await h.start();
    }),
  );
  return hubs;
}

/** Waits until every running hub reports every other running hub reachable and `services` known. */
export async function waitConverged(
  hubs: Iterable<HubProcess>,
  check: (s: MeshStatus) => boolean = () => true,
  timeoutMs = 15_000,
): Promise<void> {
  const list = [...hubs].filter((h) => h.running);
  const names = list.map((h) => h.spec.name);
  await waitFor(
    async () => {
      for (const h of list) {
        const s = await h.status();
        if (!s) return false;
        const reach = new Set(s.hubs.filter((x) => x.reachable).map((x) => x.name));
        if (!names.every((n) => reach.has(n)) || !check(s)) return false;
      }
      return true;
    },
    { timeoutMs, intervalMs: 50, what: `mesh convergence of ${names.join(', ')}` },
  );
}

/** A raw line connection registered as one service: what it receives is kept in `inbox`. */
export class LineService {
  readonly inbox: Message[] = [];
  private waiters: (() => void)[] = [];

  private constructor(
    private readonly channel: Channel,
    readonly name: string,
  ) {
    channel.on('frame', (frame) => {
      try {
        this.inbox.push(decodeLine(frame));
      } catch {
        return;
      }
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static async register(url: string, name: string, commands: string[] = []): Promise<LineService> {
    const channel = await connect(url);
    const svc = new LineService(channel, name);
    svc.send(
      createMessage('REGISTER', {
        service: name,
        version: '1',
        format: 'json',
        ...(commands.length ? { commands: commands.join(',') } : {}),
      }),
    );
    await svc.next((m) => m.command === 'READY');
    if (commands.length) svc.send(createMessage('COMMANDS', { list: commands.join(',') }));
    return svc;
  }

  send(msg: Message): boolean {
    return this.channel.send(encodeLine(msg, 'json'));
  }

  /** Sends `command` to `service` (optionally on `server`). */
  to(service: string, command: string, params: Record<string, JsonValue> = {}, server = ''): boolean {
    return this.send(createMessage(command, params, { server, service }));
  }

  /** Resolves with the first message (already received or coming) that matches; removes it from the inbox. */
  async next(match: (m: Message) => boolean, timeoutMs = 10_000): Promise<Message> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.inbox.findIndex(match);
      if (i >= 0) return this.inbox.splice(i, 1)[0]!;
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `${this.name}: no matching message within ${timeoutMs} ms; inbox: ${this.inbox.map((m) => m.command).join(', ')}`,
        );
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  count(match: (m: Message) => boolean): number {
    return this.inbox.filter(match).length;
  }

  close(): void {
    this.channel.close();
  }
}
