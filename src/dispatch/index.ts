/**
 * `switchboard/dispatch`: the event dispatcher. Connectors use the SDK (`hello`, `emitEvent`,
 * `listenTask`); hosts run a dispatcher and agents; tools parse and match triggers.
 */
export { hello, emitEvent, listenTask, log, type TaskHandler } from './sdk/index.js';
export { parseTriggers, TriggerFileError, type TriggerProblem } from './trigger/parse.js';
export { triggerSpecSchema, FILTER_OPS, type TriggerSpec, type Filter, type FilterOp } from './trigger/schema.js';
export { TriggerIndex, type MatchableEvent, type CompiledTrigger } from './trigger/matcher.js';
export { resolveInputs, type EventEnvelope } from './trigger/inputs.js';
export { parseConnectorLine, type ConnectorLine, type TaskLine } from './protocol/connector.js';
export { startDispatcher, startAgent, type DispatcherRunOptions, type AgentRunOptions } from './run.js';
export { openDispatchDb } from './open.js';
export { Dispatcher } from './dispatcher/dispatcher.js';
export { DispatchDb } from './dispatcher/db.js';
export { Agent } from './agent/agent.js';
export type { ConnectorRecord, ExecutionRecord, TriggerRecord } from './dispatcher/types.js';
