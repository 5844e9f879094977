/** The public core: the message model, codecs, addresses, channels and errors. */
export * from './message.js';
export * from './errors.js';
export type { Channel, ChannelEvents, ChannelState, ChannelStats } from './channel.js';
export {
  decodeLine,
  encodeLine,
  decodeText,
  encodeText,
  decodeJson,
  encodeJson,
  lineFormat,
  isCommandName,
  isParamName,
  isServerName,
  isServiceName,
  type WireFormat,
} from './codec/index.js';
export * from './address.js';
export {
  LineFramer,
  readLines,
  DEFAULT_MAX_LINE_LENGTH,
  type LineSink,
  type LineFramerOptions,
  type OverLongPolicy,
} from './framing.js';
export {
  connect,
  listen,
  streamChannel,
  StreamChannel,
  memoryChannelPair,
  MemoryChannel,
  BaseChannel,
  DEFAULT_CLOSE_TIMEOUT_MS,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_MAX_QUEUED_BYTES,
  MAX_DATAGRAM_BYTES,
  type ChannelOptions,
  type ConnectOptions,
  type Listener,
  type ListenerStats,
  type ListenOptions,
  type OnChannel,
  type TlsOptions,
  type StreamChannelInfo,
} from './transports/index.js';
export { getLogger, type Logger } from './log.js';
export {
  MessageConnection,
  Outgoing,
  encodeMessage,
  guessCommand,
  restamp,
  type AdmitCheck,
  type MessageConnectionOptions,
  type MessageHandler,
  type Received,
  type TextShortcut,
} from './message-connection.js';
export * from './protocol/index.js';
export * from './result.js';
