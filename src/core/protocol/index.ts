/** The protocol's vocabulary: addresses, delivery options, and the typed payloads of its notices. */
export * from './addressing.js';
export * from './delivery.js';
export * from './sniffed.js';
export * from './mesh-status.js';
export * from './error-reply.js';
export * from './loadavg.js';
