/** The go-plugin host: run a c1-core style connector (Go or the TypeScript SDK) as a subprocess. */
export { runConnector, DEFAULT_MAX_PAGE_BYTES } from './run-connector.js';
export { PAGE_SEQUENCE_HEADER } from './constants.js';
export { checkConnector, type CheckConnectorOptions, type CheckConnectorResult } from './check-connector.js';
export { startPlugin, HANDSHAKE, type PluginSession, type StartPluginOptions } from './session.js';
export { parseHandshake, formatHandshake, type Handshake } from './handshake.js';
export * from './errors.js';
export type { DataObject, PluginLogEntry, RunConnectorOptions, RunConnectorResult } from './types.js';
