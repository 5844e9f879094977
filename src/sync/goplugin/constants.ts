/** Wire constants both sides share (host in goplugin/, plugin in sdk/). */

/** c1-core's handshake: protocol version 1, cookie BASIC_PLUGIN=hello. */
export const HANDSHAKE = { appVersions: [1], cookieKey: 'BASIC_PLUGIN', cookieValue: 'hello' } as const;

/**
 * Metadata key the TypeScript SDK puts on each Upsert (1, 2, ...): it keeps a few pages in flight,
 * and concurrent calls may reach the handler out of order. Pages without it (Go connectors, which
 * send one at a time) are taken in arrival order.
 */
export const PAGE_SEQUENCE_HEADER = 'x-switchboard-page';

/**
 * Set by Switchboard's host in the plugin's environment: it stores numbered pages in order, so the
 * SDK may keep several in flight. Other go-plugin hosts (c1-core's, any Go host) serve Upserts
 * concurrently and would reorder them: without this variable the SDK sends one page at a time.
 */
export const ORDERED_PAGES_ENV = 'SWITCHBOARD_ORDERED_PAGES';
