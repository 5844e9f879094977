// Comlink over worker_threads with its node adapter: the same method.
import { parentPort } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';

Comlink.expose({ echo: (x) => x }, nodeEndpoint(parentPort));
