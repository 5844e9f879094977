// The dashboard's API client: fetch with the token (asked for once on 401, kept in localStorage),
// and the /api/live WebSocket with reconnects. Listeners get parsed frames.
const TOKEN_KEY = 'switchboard-token';

export async function api(path, init = {}) {
  const token = localStorage.getItem(TOKEN_KEY);
  const headers = { ...(init.headers ?? {}), ...(token ? { authorization: `Bearer ${token}` } : {}) };
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { ...init, headers });
  if (res.status === 401) {
    const given = prompt('This dashboard needs its token (switchboard start --http-token):');
    if (given) { localStorage.setItem(TOKEN_KEY, given); return api(path, init); }
  }
  const body = await res.json();
  if (!res.ok) throw new ApiError(res.status, body?.error);
  return body;
}

/** An API error: its sentence, plus the code and details (`data`) a form can show inline. */
export class ApiError extends Error {
  constructor(status, error) {
    super(error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = error?.code ?? 'INTERNAL';
    this.data = error?.data;
  }
}

/** JSON bodies for the write calls. */
export const send = (method, path, body) => api(path, { method, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

const listeners = new Set();
let socket;

export function onLive(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function connectLive(onState) {
  const token = localStorage.getItem(TOKEN_KEY);
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/live${token ? `?token=${encodeURIComponent(token)}` : ''}`;
  socket = new WebSocket(url);
  socket.onopen = () => onState('live');
  socket.onmessage = (e) => {
    const frame = JSON.parse(e.data);
    for (const l of listeners) l(frame);
  };
  socket.onclose = () => {
    onState('disconnected, retrying…');
    setTimeout(() => connectLive(onState), 2000);
  };
}
