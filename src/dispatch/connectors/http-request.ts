/**
 * Example connector `http-request`: task `request` with inputs `{ url, method?, headers?, body? }`
 * makes the HTTP call and outputs `{ status, headers, body }` (body parsed when the response is JSON).
 * An object body is sent as JSON.
 */
import type { JsonValue } from '../../core/message.js';
import { hello, listenTask } from '../sdk/index.js';

const TIMEOUT_MS = Number(process.env.HTTP_REQUEST_TIMEOUT_MS ?? 10_000);

hello({ events: [], tasks: ['request'] });
listenTask({
  request: async (inputs) => {
    const url = inputs.url;
    if (typeof url !== 'string' || !/^https?:\/\//.test(url)) throw new Error('input url must be an http(s) URL');
    const method = typeof inputs.method === 'string' ? inputs.method.toUpperCase() : 'GET';
    const headers: Record<string, string> = {};
    if (inputs.headers && typeof inputs.headers === 'object' && !Array.isArray(inputs.headers)) {
      for (const [k, v] of Object.entries(inputs.headers)) headers[k] = String(v);
    }
    let body: string | undefined;
    if (inputs.body !== undefined && inputs.body !== null && method !== 'GET' && method !== 'HEAD') {
      if (typeof inputs.body === 'string') body = inputs.body;
      else {
        body = JSON.stringify(inputs.body);
        headers['content-type'] ??= 'application/json';
      }
    }
    const res = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(TIMEOUT_MS) });
    const text = await res.text();
    let parsed: JsonValue = text;
    if ((res.headers.get('content-type') ?? '').includes('json')) {
      try {
        parsed = JSON.parse(text) as JsonValue;
      } catch {
        /* keep the text */
      }
    }
    return { status: res.status, headers: Object.fromEntries(res.headers), body: parsed };
  },
});
process.on('SIGTERM', () => process.exit(0));
