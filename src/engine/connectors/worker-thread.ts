/**
 * WorkerThreadPlugin: a plugin running in a Node worker thread (`new Worker(url)`), talking over
 * the worker's MessagePort with structured clone. The plugin side uses `workerThreadConnector()`.
 * A worker that exits or throws while active is a crash: calls reject, the plugin becomes inactive.
 */
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { SwitchboardError } from '../../core/errors.js';
import { PluginConnector, type ConnectorOptions } from '../connector.js';
import { connectionLost } from '../errors.js';
import type { Profile } from '../profile.js';
import type { RemixMessage } from '../protocol.js';

export interface WorkerThreadPluginOptions extends ConnectorOptions {
  /** Passed to `new Worker()` (env, execArgv, resourceLimits, workerData, ...). */
  worker?: WorkerOptions;
}

export class WorkerThreadPlugin extends PluginConnector {
  declare options: WorkerThreadPluginOptions;
  private worker: Worker | undefined;

  constructor(profile: Profile & { url: string }, options: WorkerThreadPluginOptions = {}) {
    super(profile, options);
  }

  protected connect(url: string): void {
    const worker = /\.[mc]?ts$/.test(url)
      ? this.typescriptWorker(url)
      : new Worker(url.startsWith('file:') ? new URL(url) : url, this.options.worker ?? {});
    this.worker = worker;
    let lastError: Error | undefined;
    worker.on('message', (msg: unknown) => this.getMessage(msg));
    worker.on('error', (err) => {
      lastError = err;
    });
    worker.on('exit', (code) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      const why = lastError ? `threw "${lastError.message}"` : `exited with code ${code}`;
      this.connectionLost(connectionLost(`plugin "${this.name}" (worker thread ${url}) ${why}`, lastError));
    });
  }

  /** A `.ts` entry runs through tsx (a dev convenience; ship `.js` plugins in production). */
  private typescriptWorker(url: string): Worker {
    let tsxApi: string;
    try {
      tsxApi = import.meta.resolve('tsx/esm/api');
    } catch (err) {
      throw new SwitchboardError(
        'INVALID_CONFIG',
        `plugin "${this.name}" is a TypeScript file (${url}); install tsx or point the profile at compiled JavaScript`,
        { cause: err },
      );
    }
    const entry = url.startsWith('file:') ? url : pathToFileURL(url).href;
    const code = `import { register } from ${JSON.stringify(tsxApi)}; register(); await import(${JSON.stringify(entry)});`;
    return new Worker(code, { ...this.options.worker, eval: true });
  }

  protected async disconnect(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (worker) await worker.terminate();
  }

  protected override supportsBatch(): boolean {
    return true;
  }

  protected send(message: RemixMessage): void {
    if (!this.worker) throw connectionLost(`plugin "${this.name}" has no running worker thread`);
    this.worker.postMessage(message);
  }
}
