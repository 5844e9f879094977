/**
 * The one reach into grpc-js's private parts: its Server keeps the http2 servers it bound in a
 * private `http2Servers` map, and has no option for the HTTP/2 receive window. grpc-window.test.ts
 * fails when a grpc-js release renames the map or stops honouring the settings; at run time the
 * default window stands in (slower page ingestion from Go connectors, nothing worse).
 *
 * Why wider: HTTP/2's default 64 KiB window makes a sender of a 400 KB page wait for about six
 * WINDOW_UPDATEs, each sent only when this process's event loop runs, and a synchronous store write
 * holds it for milliseconds: the next page crawled in while the last was written.
 */
import type { Http2Server, ServerHttp2Session } from 'node:http2';
import type { Server } from '@grpc/grpc-js';

/** HTTP/2 receive window of brokered servers (stream and connection): a few whole pages. */
export const RECEIVE_WINDOW_BYTES = 16 * 1024 * 1024;

/**
 * Widens the receive window of every http2 server `server` has bound (call after bindAsync).
 * False when this grpc-js has no such map (the default window stays).
 */
export function widenReceiveWindow(server: Server, bytes = RECEIVE_WINDOW_BYTES): boolean {
  const http2Servers = (server as unknown as { http2Servers?: unknown }).http2Servers;
  if (!(http2Servers instanceof Map)) return false;
  let widened = false;
  for (const h of (http2Servers as Map<Http2Server, unknown>).keys()) {
    try {
      h.updateSettings({ initialWindowSize: bytes });
      h.on('session', (session: ServerHttp2Session) => {
        try {
          session.setLocalWindowSize(bytes);
        } catch {
          /* closing */
        }
      });
      widened = true;
    } catch {
      /* not an http2 server after all */
    }
  }
  return widened;
}
