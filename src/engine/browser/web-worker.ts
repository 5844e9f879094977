/** WebWorkerPlugin (browser): a plugin in a Web Worker (`new Worker(url, { type: 'module' })`). */
import { PluginConnector, type ConnectorOptions } from '../connector.js';
import { connectionLost } from '../errors.js';
import type { Profile } from '../profile.js';
import type { RemixMessage } from '../protocol.js';

export interface WebWorkerPluginOptions extends ConnectorOptions {
  /** Default `{ type: 'module', name: <plugin name> }`. */
  worker?: WorkerOptions;
}

export class WebWorkerPlugin extends PluginConnector {
  declare options: WebWorkerPluginOptions;
  private worker: Worker | undefined;

  constructor(profile: Profile & { url: string }, options: WebWorkerPluginOptions = {}) {
    super(profile, options);
  }

  protected connect(url: string): void {
    const worker = new Worker(url, { type: 'module', name: this.name, ...this.options.worker });
    this.worker = worker;
    worker.onmessage = (event: MessageEvent) => this.getMessage(event.data);
    worker.onmessageerror = () => this.messageRejected('a message from the worker could not be deserialized');
    // An uncaught error in a worker does not end it; a script that fails to load does.
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      if (!this.connected)
        this.connectionLost(
          connectionLost(
            `plugin "${this.name}" (web worker ${url}) failed: ${event.message || 'the script could not be loaded'}`,
          ),
        );
    };
  }

  protected disconnect(): void {
    this.worker?.terminate();
    this.worker = undefined;
  }

  protected send(message: RemixMessage): void {
    if (!this.worker) throw connectionLost(`plugin "${this.name}" has no web worker`);
    this.worker.postMessage(message);
  }
}
