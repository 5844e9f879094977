/** Plugin side of WorkerThreadPlugin: the worker's `parentPort`. */
import { parentPort, type MessagePort } from 'node:worker_threads';
import { SwitchboardError } from '../../../core/errors.js';
import type { RemixMessage } from '../../protocol.js';
import type { ClientConnector } from '../client.js';

export function workerThreadConnector(port: MessagePort | null = parentPort): ClientConnector {
  if (!port)
    throw new SwitchboardError(
      'UNAVAILABLE',
      'not running in a worker thread: start this file with WorkerThreadPlugin',
    );
  let onMessage: ((m: unknown) => void) | undefined;
  return {
    batch: true,
    send: (message: RemixMessage) => port.postMessage(message),
    on: (cb) => {
      onMessage = cb;
      port.on('message', cb);
    },
    close: () => {
      if (onMessage) port.off('message', onMessage);
      port.close();
    },
  };
}
