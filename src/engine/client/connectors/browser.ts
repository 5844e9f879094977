/**
 * Plugin side in the browser: `iframeConnector()` for a plugin page inside the engine's iframe,
 * `webWorkerConnector()` for a plugin in a Web Worker. The iframe connector only accepts messages
 * from its parent window, optionally only from `allowOrigins`, and answers to the origin that sent
 * the handshake.
 */
import type { RemixMessage } from '../../protocol.js';
import { isHandshake } from '../../protocol.js';
import type { ClientConnector } from '../client.js';

export interface IframeConnectorOptions {
  /** Origins the engine may be served from; default: any (the parent window is still required). */
  allowOrigins?: string[];
}

export function iframeConnector(options: IframeConnectorOptions = {}): ClientConnector {
  let origin: string | undefined;
  let listener: ((event: MessageEvent) => void) | undefined;
  return {
    send: (message: RemixMessage) => {
      if (origin) window.parent.postMessage(message, origin);
      else if (isHandshake(message)) window.parent.postMessage(message, '*');
    },
    on: (cb) => {
      listener = (event: MessageEvent) => {
        if (event.source !== window.parent || !event.data || typeof event.data !== 'object') return;
        if (options.allowOrigins && !options.allowOrigins.includes(event.origin)) return;
        if (isHandshake(event.data as RemixMessage)) origin = event.origin;
        if (!origin) return;
        cb(event.data);
      };
      window.addEventListener('message', listener);
    },
    close: () => {
      if (listener) window.removeEventListener('message', listener);
    },
  };
}

export function webWorkerConnector(
  scope: {
    postMessage(m: unknown): void;
    addEventListener(t: 'message', l: (e: MessageEvent) => void): void;
  } = globalThis as never,
): ClientConnector {
  return {
    send: (message: RemixMessage) => scope.postMessage(message),
    on: (cb) => scope.addEventListener('message', (event: MessageEvent) => cb(event.data)),
  };
}
