/**
 * Which web pages may talk to a listener. A browser names the page's origin in `Origin` on every
 * WebSocket handshake and every non-GET request; other clients send none. A page of another site
 * is refused unless its origin is allowed by name, and a page that claims to be the listener's own
 * site is believed only under a loopback or IP-literal Host: a DNS-rebound name (a site whose name
 * now resolves to 127.0.0.1) is what an attacker's page would present.
 */
export const LOOPBACK_HOST = /^(localhost|[^:]+\.localhost|127(\.\d{1,3}){3}|\[::1\])(:\d+)?$/i;
const IP_HOST = /^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:.]+\])(:\d+)?$/;

export interface OriginRules {
  /** Origins allowed by name (`https://app.example.com`); `*` allows every page. */
  allowed?: readonly string[];
  /** A same-origin page must present a loopback or IP-literal Host (no DNS names that could be rebound). */
  literalHostOnly?: boolean;
}

/** Why this request must be refused; undefined when it may go on. */
export function originProblem(
  origin: string | undefined,
  host: string | undefined,
  rules: OriginRules = {},
): string | undefined {
  if (origin === undefined) return undefined;
  if (rules.allowed?.includes('*') || rules.allowed?.includes(origin)) return undefined;
  if (origin === 'null') return 'a page with an opaque origin (a sandboxed frame, a file: page) is refused';
  let originHost: string;
  try {
    originHost = new URL(origin).host;
  } catch {
    return 'a bad Origin header is refused';
  }
  const h = (host ?? '').toLowerCase();
  if (originHost.toLowerCase() !== h) return `a page of another site (${origin.slice(0, 200)}) is refused`;
  if (rules.literalHostOnly && !LOOPBACK_HOST.test(h) && !IP_HOST.test(h))
    return `a page under the name ${JSON.stringify(h.slice(0, 200))} is refused: open it by address (127.0.0.1), or allow its origin`;
  return undefined;
}
