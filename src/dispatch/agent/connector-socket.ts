/**
 * The connector in its own container (the seed's parallel containers): it serves the same line
 * protocol on a TCP port (the SDK does when SWITCHBOARD_CONNECTOR_LISTEN is set) and the agent
 * connects to it, reconnecting with a bounded back-off when the connection drops.
 */
import { connect } from '../../core/transports/index.js';
import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { ConnectorLink } from './connector-link.js';

export class ConnectorSocket extends ConnectorLink {
  private stopping = false;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;

  constructor(
    private readonly url: string,
    log: Logger,
    private readonly maxDelayMs = 10_000,
  ) {
    super(log);
  }

  get running(): boolean {
    return this.channel !== undefined && this.channel.state === 'open';
  }

  start(): void {
    this.stopping = false;
    void this.dial();
  }

  private async dial(): Promise<void> {
    if (this.stopping) return;
    try {
      const ch = await connect(this.url);
      if (this.stopping) {
        ch.close();
        return;
      }
      this.failures = 0;
      this.counters.starts++;
      this.attach(ch);
      this.log.info({ url: this.url }, 'connected to the connector');
      this.emit('started', 0);
      ch.on('close', () => {
        this.detach('connection closed');
        this.emit('exited', null, null);
        if (this.stopping) return;
        this.counters.restarts++;
        this.log.warn({ url: this.url }, 'connection to the connector closed; reconnecting');
        this.retry();
      });
    } catch (err) {
      if (this.failures === 0 || this.failures % 10 === 0)
        this.log.warn({ url: this.url, err: errorMessage(err) }, 'cannot reach the connector; retrying');
      this.retry();
    }
  }

  private retry(): void {
    const delay = Math.min(this.maxDelayMs, 200 * 2 ** this.failures);
    this.failures++;
    this.timer = setTimeout(() => {
      void this.dial();
    }, delay);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    this.channel?.close();
  }
}
