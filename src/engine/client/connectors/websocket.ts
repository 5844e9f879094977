/**
 * Plugin side of WebsocketPlugin. As in Remix, the plugin is the WebSocket server and the engine
 * connects to it: `serveWebsocketPlugin({ port }, methods)` starts a server and makes a client per
 * engine connection; `websocketConnector(socket)` wraps one accepted `ws` socket.
 */
import type { WebSocket } from 'ws';
import type { RemixMessage } from '../../protocol.js';
import { createClient, type ClientConnector, type ClientOptions, type PluginClient } from '../client.js';

export function websocketConnector(socket: WebSocket): ClientConnector {
  return {
    send: (message: RemixMessage) => {
      if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(message));
    },
    on: (cb) => {
      socket.on('message', (data, isBinary) => {
        if (!isBinary) cb(String(data));
      });
    },
    close: () => socket.close(1000),
  };
}

export interface WebsocketPluginServer {
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  /** One client per connected engine. */
  readonly clients: Set<PluginClient>;
  close(): Promise<void>;
}

export async function serveWebsocketPlugin(
  listen: { port?: number; host?: string },
  methods: object,
  options: ClientOptions & { onClient?: (client: PluginClient) => void } = {},
): Promise<WebsocketPluginServer> {
  const { WebSocketServer } = await import('ws');
  const server = new WebSocketServer({ port: listen.port ?? 0, host: listen.host ?? '127.0.0.1' });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const clients = new Set<PluginClient>();
  server.on('connection', (socket) => {
    const client = createClient(websocketConnector(socket), methods, options);
    clients.add(client);
    socket.on('close', () => {
      clients.delete(client);
      client.close();
    });
    options.onClient?.(client);
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    clients,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of server.clients) c.terminate();
        server.close(() => resolve());
      }),
  };
}
