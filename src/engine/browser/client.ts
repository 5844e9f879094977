/** The browser build of the plugin client (dist/browser/switchboard-engine-client.js). */
export {
  createClient,
  PluginClient,
  withContext,
  type ClientConnector,
  type ClientOptions,
  type MethodContext,
} from '../client/client.js';
export { iframeConnector, webWorkerConnector, type IframeConnectorOptions } from '../client/connectors/browser.js';
