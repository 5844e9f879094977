/** The TypeScript connector SDK: `serveConnector({ async sync(options, { upsert, clean, signal }) { ... } })`. */
export { serveConnector, type ServedConnector } from './serve.js';
export { createLog, hclogLine, type ConnectorLog, type LogLevel } from './hclog.js';
export type { ConnectorDefinition, ConnectorObject, OptionsParser, ServeOptions, SyncContext } from './types.js';
