/**
 * Requests to a target's HTTP peers with Berlioz's policy (timeout 5 s, 3 retries, 500 ms
 * doubling to 5 s, retry when no peer is there yet), plus what its docs promised: a different
 * peer per attempt, a circuit breaker per peer, and load balancing.
 */
import { SwitchboardError, errorMessage } from '../core/errors.js';
import type { PolicyInput, RequestPolicy } from './schema.js';
import { Balancer } from './balance.js';
import { Breakers } from './breaker.js';
import type { Peer, PeerMap } from './schema.js';
import { childTraceparent } from './trace.js';

export { DEFAULT_POLICY, RequestPolicy, resolvePolicy, type PolicyInput } from './schema.js';

export interface PeerRequestOptions {
  /** Path and query, e.g. `/users?id=1` (default `/`). */
  path?: string;
  method?: string;
  headers?: Record<string, string>;
  /** A string is sent as is; anything else as JSON. */
  body?: unknown;
  /** Continue this trace (W3C traceparent); a new trace starts when absent. */
  traceparent?: string;
  /** This request only: over every other layer (see Discovery.policyFor). */
  policy?: PolicyInput;
  signal?: AbortSignal;
}

export interface PeerResponse {
  url: string;
  identity: string;
  peer: Peer;
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The traceparent sent with the attempt that answered. */
  traceparent: string;
  attempts: number;
}

/** A failed request: which peer and URL, and why. */
export class PeerRequestError extends SwitchboardError {
  constructor(
    message: string,
    readonly url: string | undefined,
    readonly identity: string | undefined,
    readonly peer: Peer | undefined,
    options: { cause?: unknown; code?: 'UNAVAILABLE' | 'TIMEOUT' } = {},
  ) {
    super(options.code ?? 'UNAVAILABLE', message, {
      cause: options.cause,
      retryable: true,
      data: { url, peer: identity },
    });
  }
}

/**
 * Breakers (per peer) and balancers (per target) live as long as the discovery client; each
 * request brings its resolved policy, so targets may differ in thresholds and balancing.
 */
export class PeerRequester {
  private readonly breakers = new Breakers({ failureThreshold: 5, cooldownMs: 10_000 });
  private readonly balancers = new Map<string, Balancer>();

  /** `loadOf`: the load of a peer's hub, for `least-loaded` balancing. */
  constructor(private readonly loadOf?: (identity: string) => number | undefined) {}

  breakerState(identity: string): ReturnType<Breakers['state']> {
    return this.breakers.state(identity);
  }

  /** `key` names the target (its balancer); `what` describes it in errors. */
  async request(
    key: string,
    what: string,
    peers: () => PeerMap,
    policy: RequestPolicy,
    options: PeerRequestOptions = {},
  ): Promise<PeerResponse> {
    let balancer = this.balancers.get(key);
    if (!balancer) {
      balancer = new Balancer(policy.balance, this.loadOf);
      this.balancers.set(key, balancer);
    }
    const tried = new Set<string>();
    let last: PeerRequestError | undefined;
    let delay = policy.retryInitialDelayMs;
    for (let attempt = 0; attempt <= policy.retryCount; attempt++) {
      if (attempt > 0) {
        await sleep(delay, options.signal);
        delay = Math.min(delay * policy.retryDelayMultiplier, policy.retryMaxDelayMs);
      }
      const map = peers();
      const allowed = Object.keys(map).filter((id) => this.breakers.allows(id));
      const fresh = allowed.filter((id) => !tried.has(id));
      const identity = balancer.pick(fresh.length ? fresh : allowed, policy.balance);
      if (identity === undefined) {
        const open = Object.keys(map).length;
        last = new PeerRequestError(
          open
            ? `no peer of ${what} can take the request: all ${open} have an open circuit`
            : `No peer found for ${what}.`,
          undefined,
          undefined,
          undefined,
        );
        if (!policy.noPeerRetry) break;
        continue;
      }
      tried.add(identity);
      const peer = map[identity]!;
      try {
        const res = await this.attempt(balancer, identity, peer, policy, options);
        res.attempts = attempt + 1;
        return res;
      } catch (err) {
        last = err as PeerRequestError;
        if (options.signal?.aborted) break;
      }
    }
    throw last ?? new PeerRequestError(`No peer found for ${what}.`, undefined, undefined, undefined);
  }

  private async attempt(
    balancer: Balancer,
    identity: string,
    peer: Peer,
    policy: RequestPolicy,
    options: PeerRequestOptions,
  ): Promise<PeerResponse> {
    const breaker = { failureThreshold: policy.breakerFailures, cooldownMs: policy.breakerCooldownMs };
    const url = peerUrl(peer, options.path ?? '/');
    const traceparent = childTraceparent(options.traceparent);
    const headers: Record<string, string> = { ...(options.headers ?? {}), traceparent };
    let body: string | undefined;
    if (options.body !== undefined) {
      body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
      if (typeof options.body !== 'string') headers['content-type'] ??= 'application/json';
    }
    const signal = options.signal
      ? AbortSignal.any([options.signal, AbortSignal.timeout(policy.timeoutMs)])
      : AbortSignal.timeout(policy.timeoutMs);
    this.breakers.begin(identity);
    balancer.started(identity);
    try {
      const res = await fetch(url, {
        method: options.method ?? (body === undefined ? 'GET' : 'POST'),
        headers,
        body,
        signal,
      });
      const text = await res.text();
      if (res.status >= 500) {
        this.breakers.failure(identity, breaker);
        throw new PeerRequestError(
          `${options.method ?? 'GET'} ${url} (peer ${identity}) answered ${res.status}`,
          url,
          identity,
          peer,
        );
      }
      this.breakers.success(identity);
      return {
        url,
        identity,
        peer,
        status: res.status,
        headers: Object.fromEntries(res.headers),
        body: text,
        traceparent,
        attempts: 1,
      };
    } catch (err) {
      if (err instanceof PeerRequestError) throw err;
      this.breakers.failure(identity, breaker);
      const timedOut = (err as Error).name === 'TimeoutError';
      throw new PeerRequestError(
        timedOut
          ? `${url} (peer ${identity}) did not answer within ${policy.timeoutMs} ms`
          : `${url} (peer ${identity}) failed: ${errorMessage((err as Error).cause ?? err)}`,
        url,
        identity,
        peer,
        { cause: err, code: timedOut ? 'TIMEOUT' : 'UNAVAILABLE' },
      );
    } finally {
      balancer.finished(identity);
    }
  }
}

export function peerUrl(peer: Peer, path: string): string {
  const scheme = peer.protocol === 'https' ? 'https' : 'http';
  const host = peer.address.includes(':') ? `[${peer.address}]` : peer.address;
  return `${scheme}://${host}:${peer.port}${path.startsWith('/') ? path : `/${path}`}`;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new SwitchboardError('CANCELLED', 'the request was aborted'));
      return;
    }
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        reject(new SwitchboardError('CANCELLED', 'the request was aborted'));
      },
      { once: true },
    );
  });
}
