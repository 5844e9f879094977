// The limit for worker calls: MessagePort ping-pong, no framework.
import { parentPort } from 'node:worker_threads';

parentPort.on('message', (m) => parentPort.postMessage(m));
