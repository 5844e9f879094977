/** A loopback HTTP server for in-memory assets (the demo page and the browser tests). */
import { createServer, type Server } from 'node:http';

export interface Asset {
  type: string;
  body: string;
}

export interface StaticServer {
  readonly port: number;
  readonly server: Server;
  close(): Promise<void>;
}

export async function serveAssets(assets: Map<string, Asset>, port = 0, host = '127.0.0.1'): Promise<StaticServer> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const asset = assets.get(path === '/' ? '/index.html' : path);
    if (!asset) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`no ${path}\n`);
      return;
    }
    res.writeHead(200, { 'content-type': asset.type, 'cache-control': 'no-store' }).end(asset.body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export const JS = 'text/javascript; charset=utf-8';
export const HTML = 'text/html; charset=utf-8';
