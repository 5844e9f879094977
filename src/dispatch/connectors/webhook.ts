/**
 * Example connector `webhook`: an HTTP server; every POST becomes a `request` event with the path,
 * query, headers and body (parsed when it is JSON). Port from WEBHOOK_PORT (default 8090; 0 picks
 * one), host from WEBHOOK_HOST (default 127.0.0.1). The chosen address is in the hello's meta.
 */
import { createServer } from 'node:http';
import type { JsonValue } from '../../core/message.js';
import { emitEvent, hello, log } from '../sdk/index.js';

const MAX_BODY = 1024 * 1024;
const host = process.env.WEBHOOK_HOST ?? '127.0.0.1';
const port = Number(process.env.WEBHOOK_PORT ?? 8090);

const server = createServer((req, res) => {
  if (req.method !== 'POST') {
    res.writeHead(405, { allow: 'POST' }).end('POST only\n');
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (c: Buffer) => {
    size += c.length;
    if (size > MAX_BODY) {
      res.writeHead(413).end('body too large\n');
      req.destroy();
      return;
    }
    chunks.push(c);
  });
  req.on('end', () => {
    const text = Buffer.concat(chunks).toString('utf8');
    let body: JsonValue = text;
    if ((req.headers['content-type'] ?? '').includes('json') && text) {
      try {
        body = JSON.parse(text) as JsonValue;
      } catch {
        res.writeHead(400).end('body is not valid JSON\n');
        return;
      }
    }
    const url = new URL(req.url ?? '/', 'http://x');
    emitEvent('request', {
      method: req.method ?? 'POST',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: { 'content-type': req.headers['content-type'] ?? '' },
      body,
    });
    res.writeHead(202, { 'content-type': 'application/json' }).end('{"accepted":true}\n');
  });
});

server.listen(port, host, () => {
  const addr = server.address();
  const actual = typeof addr === 'object' && addr ? addr.port : port;
  hello({ events: ['request'], tasks: [], meta: { address: `http://${host}:${actual}` } });
  log(`webhook listening on http://${host}:${actual}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
