// The dashboard's API client: fetch with the token (from the address `switchboard start` printed,
// else asked for in a sign-in dialog on 401; kept in localStorage), and the /api/live WebSocket
// with reconnects. Listeners get parsed frames.
const TOKEN_KEY = 'switchboard-token';

// The printed address carries the token (?token=..., as Jupyter's does): keep it, and take it out
// of the address bar and the history so it is not bookmarked, shared or shown.
{
  const here = new URL(location.href);
  const given = here.searchParams.get('token');
  if (given) {
    localStorage.setItem(TOKEN_KEY, given);
    here.searchParams.delete('token');
    history.replaceState(history.state, '', `${here.pathname}${here.search}${here.hash}`);
  }
}

export async function api(path, init = {}) {
  const token = localStorage.getItem(TOKEN_KEY);
  const headers = { ...(init.headers ?? {}), ...(token ? { authorization: `Bearer ${token}` } : {}) };
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { ...init, headers });
  if (res.status === 401) {
    await askToken(Boolean(token));
    return api(path, init);
  }
  const body = await res.json();
  if (!res.ok) throw new ApiError(res.status, body?.error);
  return body;
}

let asking;

/** One sign-in dialog however many calls were refused; resolves once a token is given. */
function askToken(refused) {
  asking ??= new Promise((resolve) => {
    const dialog = document.createElement('dialog');
    dialog.className = 'login';
    const form = document.createElement('form');
    form.method = 'dialog';
    const title = document.createElement('h2');
    title.textContent = 'Sign in';
    const text = document.createElement('p');
    text.textContent = refused
      ? 'That token was refused; try again.'
      : 'This dashboard needs a token: open the address switchboard start printed (it carries one), or paste the hub token from $SWITCHBOARD_HOME/hub.token.';
    const input = document.createElement('input');
    Object.assign(input, { type: 'password', required: true, autocomplete: 'current-password' });
    input.setAttribute('aria-label', 'dashboard token');
    const button = document.createElement('button');
    button.className = 'primary';
    button.textContent = 'Sign in';
    form.append(title, text, input, ' ', button);
    dialog.append(form);
    // Escape would close the dialog with nothing given; keep it open.
    dialog.addEventListener('cancel', (e) => e.preventDefault());
    form.addEventListener('submit', () => {
      localStorage.setItem(TOKEN_KEY, input.value);
      dialog.remove();
      asking = undefined;
      if (socket && socket.readyState !== WebSocket.OPEN) reconnect();
      resolve();
    });
    document.body.append(dialog);
    dialog.showModal();
  });
  return asking;
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
export const send = (method, path, body) =>
  api(path, { method, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

const listeners = new Set();
let socket;
let reconnect = () => {};
/** Whether a page shows the traffic stream: the hub sniffs only while some client wants it. */
let trafficWanted = false;

function sendSubscription() {
  if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: 'subscribe', traffic: trafficWanted }));
}

/** The Traffic page asks for the sniff stream while it is shown. */
export function wantTraffic(on) {
  trafficWanted = on;
  sendSubscription();
}

export function onLive(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function connectLive(onState) {
  const token = localStorage.getItem(TOKEN_KEY);
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/live${token ? `?token=${encodeURIComponent(token)}` : ''}`;
  socket = new WebSocket(url);
  socket.onopen = () => {
    sendSubscription();
    onState('live');
  };
  socket.onmessage = (e) => {
    const frame = JSON.parse(e.data);
    for (const l of listeners) l(frame);
  };
  let retried = false;
  const retry = (ms) => {
    if (!retried) {
      retried = true;
      setTimeout(() => connectLive(onState), ms);
    }
  };
  socket.onclose = () => {
    onState('disconnected, retrying…');
    retry(2000);
  };
  // A socket refused for want of a token: after sign-in, retry at once (unless a retry is on its way).
  reconnect = () => retry(0);
}
