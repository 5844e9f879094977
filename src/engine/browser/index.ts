/**
 * The browser build of the engine (dist/browser/switchboard-engine.js): the same Engine,
 * PluginManager and Plugin, with the IframePlugin and WebWorkerPlugin connectors. Logs go to the console.
 */
export { Engine, type EngineOptions } from '../engine.js';
export { PluginManager } from '../manager.js';
export { Plugin, type CallOptions, type PluginOptions, type EngineErrorContext } from '../plugin.js';
export { PluginConnector, type ConnectorOptions } from '../connector.js';
export { IframePlugin, DEFAULT_SANDBOX, type IframePluginOptions } from './iframe.js';
export { WebWorkerPlugin, type WebWorkerPluginOptions } from './web-worker.js';
export { setEngineLogger, type EngineLogger } from '../log.js';
export type { Profile } from '../profile.js';
