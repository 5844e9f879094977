/**
 * The dashboard's HTTP server (node:http): the JSON API (/api), live updates over a WebSocket
 * (/api/live: registry changes and sniffed traffic), Prometheus metrics (/metrics) and the
 * single-page UI (static files from ./ui). Every data request needs a token (`Authorization:
 * Bearer <token>`; the WebSocket may pass `?token=` since browsers cannot set headers on it) that
 * names one of the hub's identities, and what that identity may do decides what it gets
 * (access.ts). The UI itself is served to anyone: it holds nothing and asks for the token.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Registry } from 'prom-client';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { LogThrottle } from '../core/log-throttle.js';
import { listServices } from '../hub/service-list.js';
import { Api, crossSiteProblem, errorResult, type ApiResult } from './api.js';
import type { DashboardConfig } from './config.js';
import type { DashboardData } from './data.js';
import type { DeadLetterSettings } from './dead-letters.js';
import type { HubLink, Sniffed, Watch } from './hub-link.js';
import type { Grant } from '../trust/policy.js';
import { NEEDS, needOf, requestToken } from './access.js';

// The UI is plain files beside this module (the build copies them into dist/dashboard/ui).
const UI_DIR = fileURLToPath(new URL('./ui/', import.meta.url));
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};
/**
 * A live client with more than this waiting to be sent misses traffic frames; when a frame it must
 * not miss (services, rates, cluster, sync progress) finds it that far behind, it is dropped with
 * the reason (close 1008, then cut): a client that never reads cannot make the dashboard hold its
 * frames without bound.
 */
export const MAX_LIVE_BUFFERED = 1 << 20;
/** A dropped client's close frame waits behind what it did not read: it is cut after this long. */
const DROP_GRACE_MS = 1000;

export interface DashboardServer {
  readonly url: string;
  /** The URL with the token, as `start` prints it (the UI keeps the token and drops it from the address bar). */
  readonly signInUrl: string;
  close(): Promise<void>;
}

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
  /** The token the printed URL carries (the hub's admin token, else the extra one, else one made for this run). */
  signInToken: string;
  /** The broker of the dispatcher's dead letters (`start --amqp`); undefined: the page says how to give one. */
  deadLetters?: DeadLetterSettings | undefined;
}): Promise<DashboardServer> {
  const { config, link, metrics, log } = opts;
  const { trust, refusals } = link.hub;
  const api = new Api(link, opts.data, opts.deadLetters);
  const grantOf = (req: IncomingMessage, url: URL, queryAllowed: boolean): Grant | undefined => {
    const token = requestToken(req.headers.authorization, url, queryAllowed);
    return token === undefined ? undefined : trust.byToken(token);
  };
  const remoteOf = (req: IncomingMessage) => `${req.socket.remoteAddress ?? ''}:${req.socket.remotePort ?? ''}`;

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
    const foreign = isData ? crossSiteProblem(req) : undefined;
    if (foreign) {
      refusals.record('origin', { remote: remoteOf(req), what: path }, `dashboard: ${foreign}`);
      return send(res, { status: 403, body: { error: { code: 'PERMISSION_DENIED', message: foreign } } });
    }
    if (isData) {
      const grant = grantOf(req, url, false);
      if (!grant) {
        const given = req.headers.authorization !== undefined;
        refusals.record(
          'dashboard',
          { remote: remoteOf(req), what: path, rule: given ? 'token' : 'no token' },
          given
            ? 'dashboard: a token that names no identity was refused'
            : 'dashboard: a request without a token was refused',
        );
        res.setHeader('www-authenticate', 'Bearer');
        return send(res, {
          status: 401,
          body: {
            error: {
              code: 'PERMISSION_DENIED',
              message: given
                ? 'this token names no identity of this hub'
                : 'this dashboard needs a token: send Authorization: Bearer <token> (the hub admin token is in $SWITCHBOARD_HOME/hub.token; the URL switchboard start prints carries it)',
            },
          },
        });
      }
      const need = needOf(path);
      if (!need.granted(grant)) {
        const message = `${grant.who} may not ${need.what}, which ${path} needs`;
        refusals.record('dashboard', { who: grant.identity, rule: need.what, what: path }, `dashboard: ${message}`);
        return send(res, { status: 403, body: { error: { code: 'PERMISSION_DENIED', message } } });
      }
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
    const foreign = url.pathname === '/api/live' ? crossSiteProblem(req) : 'no WebSocket here';
    const grant = foreign ? undefined : grantOf(req, url, true);
    if (!grant) {
      refusals.record(
        foreign && url.pathname === '/api/live' ? 'origin' : 'dashboard',
        { remote: remoteOf(req), what: url.pathname },
        `dashboard: live connection refused (${foreign ?? 'no valid token'})`,
      );
      socket.end(`HTTP/1.1 ${foreign ? '403 Forbidden' : '401 Unauthorized'}\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      grants.set(ws, grant);
      wss.emit('connection', ws, req);
    });
  });
  /** What each live client may see, decided at its handshake. */
  const grants = new WeakMap<WebSocket, Grant>();
  const sees = (ws: WebSocket, need: (typeof NEEDS)[keyof typeof NEEDS]) => {
    const g = grants.get(ws);
    return g !== undefined && need.granted(g);
  };
  const servicesFrame = () =>
    JSON.stringify({
      type: 'services',
      server: link.hub.serverName,
      services: listServices(link.hub.serverName, link.hub.services, link.hub.remote()),
    });
  const watches = new WeakMap<WebSocket, Watch>();
  const liveLog = new LogThrottle(log, 10_000);
  const liveRemotes = new WeakMap<WebSocket, string>();
  /** Sends a frame the client must not miss; a client too far behind for it is dropped instead. */
  const sendLive = (ws: WebSocket, frame: string): void => {
    if (ws.readyState !== ws.OPEN) return;
    const waiting = ws.bufferedAmount;
    if (waiting <= MAX_LIVE_BUFFERED) {
      ws.send(frame);
      return;
    }
    const reason = `the live client did not read: ${waiting} bytes waiting (limit ${MAX_LIVE_BUFFERED})`;
    liveLog.warn('live-not-reading', { remote: liveRemotes.get(ws), waiting }, `dashboard: ${reason}; dropped`);
    // The close frame queues behind what the client did not read: cut it if it does not come through.
    ws.close(1008, 'not reading: too far behind');
    setTimeout(() => ws.terminate(), DROP_GRACE_MS).unref();
  };
  wss.on('connection', (ws: WebSocket, req: IncomingMessage) => {
    liveRemotes.set(ws, remoteOf(req));
    // Registry, rates and mesh frames need LIST_SERVICES; the traffic stream needs SNIFF.
    const seesHub = sees(ws, NEEDS.hub);
    if (seesHub) sendLive(ws, servicesFrame());
    // Rates and mesh changes (hub-link.ts); traffic is sniffed only while a client wants it ({"type":"subscribe","traffic":false} opts out).
    const watch = link.watch(
      (frame) => {
        if (seesHub) sendLive(ws, frame);
      },
      { traffic: sees(ws, NEEDS.traffic) },
    );
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
      for (const ws of wss.clients) if (sees(ws, NEEDS.hub)) sendLive(ws, frame);
    }, 50);
  });
  const onSniffed = (event: Sniffed) => {
    if (wss.clients.size === 0) return;
    const frame = JSON.stringify({ type: 'sniffed', event });
    for (const ws of wss.clients)
      if (ws.readyState === ws.OPEN && ws.bufferedAmount < MAX_LIVE_BUFFERED && watches.get(ws)?.wantsTraffic === true)
        ws.send(frame);
  };
  link.on('sniffed', onSniffed);
  // Sync progress of runs started from the UI.
  const offApi = api.onFrame((frame) => {
    const text = JSON.stringify(frame);
    for (const ws of wss.clients) if (sees(ws, NEEDS.sync)) sendLive(ws, text);
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
  const base = `http://${host}:${port}`;
  return {
    url: base,
    signInUrl: `${base}/?token=${encodeURIComponent(opts.signInToken)}`,
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
