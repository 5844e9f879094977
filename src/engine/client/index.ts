/**
 * `switchboard/engine/client`: write a plugin for the Switchboard engine (or a Remix engine).
 *
 *   import { createClient, workerThreadConnector } from 'switchboard/engine/client';
 *   const client = createClient(workerThreadConnector(), { add: (a: number, b: number) => a + b });
 */
export {
  createClient,
  PluginClient,
  withContext,
  type ClientConnector,
  type ClientOptions,
  type ClientCallOptions,
  type MethodContext,
} from './client.js';
export { childProcessConnector, stdioConnector } from './connectors/child-process.js';
export { workerThreadConnector } from './connectors/worker-thread.js';
export { websocketConnector, serveWebsocketPlugin, type WebsocketPluginServer } from './connectors/websocket.js';
export { hubConnector, serveHubPlugin, type HubPluginService } from './connectors/hub.js';
export { iframeConnector, webWorkerConnector, type IframeConnectorOptions } from './connectors/browser.js';
export type { RemixMessage, RequestInfo } from '../protocol.js';
