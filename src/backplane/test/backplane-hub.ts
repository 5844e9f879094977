/**
 * Test and benchmark helper (not public API): a `switchboard hub` process on a NATS backplane,
 * on its own loopback port and temporary home; killed like a crash, started again on the same
 * port and home.
 */
import { fetchMeshStatus } from '../../mesh/cluster-status.js';
import { HubChild } from '../../hub/test/hub-child.js';
import type { BackplaneStatus } from '../backplane.js';

export class BackplaneHub extends HubChild {
  constructor(
    readonly name: string,
    readonly localPort: number,
    /** The NATS servers, asked at each start (a test may kill some). */
    private readonly servers: () => string[],
    private readonly namespace: string,
    private readonly options: { replicas?: number; timings?: string } = {},
  ) {
    super(`hub ${name}`, 'switchboard-backplane-');
  }

  get localUrl(): string {
    return `cd://127.0.0.1:${this.localPort}`;
  }

  start(): Promise<void> {
    return this.spawnHub(
      [
        '--server-name',
        this.name,
        '--local-listen',
        this.localUrl,
        '--signal',
        'off',
        '--backplane',
        this.servers().join(','),
        '--backplane-namespace',
        this.namespace,
        ...(this.options.replicas ? ['--backplane-replicas', String(this.options.replicas)] : []),
      ],
      this.localPort,
      {
        SWITCHBOARD_DATA_PATH: this.home,
        ...(this.options.timings ? { SWITCHBOARD_BACKPLANE_TIMINGS: this.options.timings } : {}),
      },
    );
  }

  async status(): Promise<BackplaneStatus | undefined> {
    return (await fetchMeshStatus(this.localUrl, 5000)) as BackplaneStatus | undefined;
  }
}
