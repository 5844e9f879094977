/**
 * The dashboard's HTTP server (node:http): the JSON API (/api), live updates over a WebSocket
 * (/api/live: registry changes and sniffed traffic), Prometheus metrics (/metrics) and the
 * single-page UI (static files from ./ui). With a token every request needs
 * `Authorization: Bearer <token>` (the WebSocket may pass `?token=` since browsers cannot set
 * headers on it).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { timingSafeEqual, createHash } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Registry } from 'prom-client';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { listServices } from '../hub/service-list.js';
import { Api, crossSiteProblem, errorResult, type ApiResult } from './api.js';
import type { DashboardConfig } from './config.js';
import type { DashboardData } from './data.js';
import type { HubLink, Sniffed, Watch } from './hub-link.js';

// The UI is plain files beside this module (the build copies them into dist/dashboard/ui).
const UI_DIR = fileURLToPath(new URL('./ui/', import.meta.url));
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};
/** A live client further behind than this misses traffic events (registry updates still go). */
const MAX_BUFFERED = 1 << 20;

export interface DashboardServer {
  readonly url: string;
  close(): Promise<void>;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

function send(res: ServerResponse, result: ApiResult): void {
  const body = JSON.stringify(result.body);
  res.writeHead(result.status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    // A body refused before it was read to the end (over the size limit) leaves the connection
    // unusable for another request: say so, or the client reuses it and fails.
    ...(res.req.complete ? {} : { connection: 'close' }),
  });
  res.end(body);
}

export async function startDashboardServer(opts: {
  config: DashboardConfig;
  link: HubLink;
  data: DashboardData;
  metrics: Registry;
  log: Logger;
}): Promise<DashboardServer> {
  const { config, link, metrics, log } = opts;
  const api = new Api(link, opts.data);
  const wanted = config.token ? digest(config.token) : undefined;
  const authorised = (req: IncomingMessage, url: URL): boolean => {
    if (!wanted) return true;
    const header = req.headers.authorization;
    const given = header?.startsWith('Bearer ') ? header.slice(7) : url.searchParams.get('token');
    return given !== null && given !== undefined && timingSafeEqual(digest(given), wanted);
  };

  async function serveStatic(path: string, res: ServerResponse): Promise<void> {
    const rel = path === '/' || !extname(path) ? 'index.html' : normalize(path).replace(/^[/\\]+/, '');
    if (rel.split(/[/\\]/).includes('..'))
      return send(res, { status: 404, body: { error: { code: 'NOT_FOUND', message: 'no such file' } } });
    try {
      const body = await readFile(join(UI_DIR, rel));
      res.writeHead(200, {
        'content-type': TYPES[extname(rel)] ?? 'application/octet-stream',
        'cache-control': 'no-cache',
      });
      res.end(body);
    } catch {
      send(res, { status: 404, body: { error: { code: 'NOT_FOUND', message: `no file ${path}` } } });
    }
  }

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://dashboard');
    const path = url.pathname;
    const isApi = path === '/api' || path.startsWith('/api/');
    const isData = isApi || path === '/metrics';
    const foreign = isData ? crossSiteProblem(req, wanted !== undefined) : undefined;
    if (foreign) return send(res, { status: 403, body: { error: { code: 'PERMISSION_DENIED', message: foreign } } });
    if (isData && !authorised(req, url)) {
      res.setHeader('www-authenticate', 'Bearer');
      return send(res, {
        status: 401,
        body: {
          error: {
            code: 'PERMISSION_DENIED',
            message: 'this dashboard needs its token: send Authorization: Bearer <token>',
          },
        },
      });
    }
    if (path === '/metrics') {
      const text = await metrics.metrics();
      res.writeHead(200, { 'content-type': metrics.contentType });
      res.end(text);
      return;
    }
    if (isApi) {
      url.searchParams.delete('token');
      const result = await api.handle(req.method ?? 'GET', path, url.searchParams, req);
      return send(res, result ?? { status: 404, body: { error: { code: 'NOT_FOUND', message: `no API at ${path}` } } });
    }
    return serveStatic(path, res);
  }

  const server: Server = createServer((req, res) => {
    onRequest(req, res).catch((err: unknown) => {
      const result = errorResult(err);
      if (result.status >= 500) log.warn({ url: req.url, err: errorMessage(err) }, 'dashboard request failed');
      if (!res.headersSent) send(res, result);
      else res.end();
    });
  });

  // Live updates: the registry (debounced) and sniffed traffic.
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://dashboard');
    if (url.pathname !== '/api/live' || crossSiteProblem(req, wanted !== undefined) || !authorised(req, url)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
  const servicesFrame = () =>
    JSON.stringify({
      type: 'services',
      server: link.hub.serverName,
      services: listServices(link.hub.serverName, link.hub.services, link.hub.remote()),
    });
  const watches = new WeakMap<WebSocket, Watch>();
  wss.on('connection', (ws: WebSocket) => {
    ws.send(servicesFrame());
    // Rates and mesh changes (hub-link.ts); traffic is sniffed only while a client wants it ({"type":"subscribe","traffic":false} opts out).
    const watch = link.watch((frame) => {
      if (ws.readyState === ws.OPEN) ws.send(frame);
    });
    watches.set(ws, watch);
    ws.on('message', (data: Buffer) => watch.onClientFrame(data.toString()));
    ws.on('close', () => watch.stop());
    ws.on('error', () => ws.terminate());
  });
  let pending: NodeJS.Timeout | undefined;
  const offRegistry = link.hub.services.onChange(() => {
    pending ??= setTimeout(() => {
      pending = undefined;
      const frame = servicesFrame();
      for (const ws of wss.clients) ws.send(frame);
    }, 50);
  });
  const onSniffed = (event: Sniffed) => {
    if (wss.clients.size === 0) return;
    const frame = JSON.stringify({ type: 'sniffed', event });
    for (const ws of wss.clients)
      if (ws.bufferedAmount < MAX_BUFFERED && watches.get(ws)?.wantsTraffic !== false) ws.send(frame);
  };
  link.on('sniffed', onSniffed);
  // Sync progress of runs started from the UI.
  const offApi = api.onFrame((frame) => {
    const text = JSON.stringify(frame);
    for (const ws of wss.clients) ws.send(text);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return {
    url: `http://${host}:${port}`,
    async close() {
      offRegistry();
      if (pending) clearTimeout(pending);
      link.off('sniffed', onSniffed);
      offApi();
      await api.close();
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
