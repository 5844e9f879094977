/**
 * `switchboard/engine`: host plugins that run anywhere (child process, worker thread, WebSocket,
 * a Switchboard hub; iframes and web workers in the browser bundle) and let them call each other,
 * over the Remix plugin protocol.
 */
import { getLogger } from '../core/log.js';
import { setEngineLogger } from './log.js';

// Created on first use, so SWITCHBOARD_LOG_LEVEL set after import still applies.
let pinoLogger: ReturnType<typeof getLogger> | undefined;
const pino = () => (pinoLogger ??= getLogger('engine'));
setEngineLogger({
  error: (fields, message) => pino().error(fields, message),
  warn: (fields, message) => pino().warn(fields, message),
  debug: (fields, message) => pino().debug(fields, message),
});

export { Engine, type EngineOptions } from './engine.js';
export { PluginManager } from './manager.js';
export {
  Plugin,
  type CallOptions,
  type PluginOptions,
  type PluginState,
  type EngineErrorContext,
  type ErrorSource,
} from './plugin.js';
export { PluginConnector, type ConnectorOptions, type ConnectorStats } from './connector.js';
export { ChildProcessPlugin, type ChildProcessPluginOptions } from './connectors/child-process.js';
export { WorkerThreadPlugin, type WorkerThreadPluginOptions } from './connectors/worker-thread.js';
export { WebsocketPlugin, type WebsocketPluginOptions } from './connectors/websocket.js';
export { HubPlugin, PLUGIN_COMMAND, type HubPluginOptions } from './connectors/hub.js';
export type { CallContext } from './call-queue.js';
export { type Profile, managerProfile } from './profile.js';
export { profileSchema } from './profile-schema.js';
export { parseMessage, isHandshake, eventKey, type RemixMessage, type RequestInfo, type Action } from './protocol.js';
export { setEngineLogger, type EngineLogger } from './log.js';
