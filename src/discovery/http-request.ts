/**
 * Requests to a target's HTTP peers with Berlioz's policy (timeout 5 s, 3 retries, 500 ms
 * doubling to 5 s, retry when no peer is there yet), plus what its docs promised: a different
 * peer per attempt, a circuit breaker per peer, and load balancing.
 */
import { z } from 'zod';
import { InvalidArgumentError, SwitchboardError, errorMessage } from '../core/errors.js';
import { Balancer, type BalanceMode } from './balance.js';
import { Breakers } from './breaker.js';
import type { Peer, PeerMap } from './schema.js';
import { childTraceparent } from './trace.js';

export const RequestPolicy = z.object({
  timeoutMs: z.number().int().positive().default(5000),
  retryCount: z.number().int().nonnegative().default(3),
  retryInitialDelayMs: z.number().nonnegative().default(500),
  retryDelayMultiplier: z.number().min(1).default(2),
  retryMaxDelayMs: z.number().nonnegative().default(5000),
  noPeerRetry: z.boolean().default(true),
  balance: z.enum(['random', 'round-robin', 'least-pending']).default('random'),
  breakerFailures: z.number().int().positive().default(5),
  breakerCooldownMs: z.number().int().nonnegative().default(10_000),
});
export type RequestPolicy = z.infer<typeof RequestPolicy>;
export type PolicyInput = Partial<RequestPolicy>;

export function resolvePolicy(...layers: (PolicyInput | undefined)[]): RequestPolicy {
  const merged = Object.assign({}, ...layers.filter(Boolean)) as PolicyInput;
  const parsed = RequestPolicy.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidArgumentError(`invalid request policy ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'bad value'}`);
  }
  return parsed.data;
}

export interface PeerRequestOptions {
  /** Path and query, e.g. `/users?id=1` (default `/`). */
  path?: string;
  method?: string;
  headers?: Record<string, string>;
  /** A string is sent as is; anything else as JSON. */
  body?: unknown;
  /** Continue this trace (W3C traceparent); a new trace starts when absent. */
  traceparent?: string;
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
  constructor(message: string, readonly url: string | undefined, readonly identity: string | undefined, readonly peer: Peer | undefined, options: { cause?: unknown; code?: 'UNAVAILABLE' | 'TIMEOUT' } = {}) {
    super(options.code ?? 'UNAVAILABLE', message, { cause: options.cause, retryable: true, data: { url, peer: identity } });
  }
}

/** One per target family: breakers and balancer state live as long as the discovery client. */
export class PeerRequester {
  private readonly breakers: Breakers;
  private readonly balancer: Balancer;

  constructor(private readonly base: RequestPolicy) {
    this.breakers = new Breakers({ failureThreshold: base.breakerFailures, cooldownMs: base.breakerCooldownMs });
    this.balancer = new Balancer(base.balance as BalanceMode);
  }

  breakerState(identity: string): ReturnType<Breakers['state']> {
    return this.breakers.state(identity);
  }

  async request(what: string, peers: () => PeerMap, options: PeerRequestOptions = {}): Promise<PeerResponse> {
    const policy = options.policy ? resolvePolicy(this.base, options.policy) : this.base;
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
      const identity = this.balancer.pick(fresh.length ? fresh : allowed);
      if (identity === undefined) {
        const open = Object.keys(map).length;
        last = new PeerRequestError(open ? `no peer of ${what} can take the request: all ${open} have an open circuit` : `No peer found for ${what}.`, undefined, undefined, undefined);
        if (!policy.noPeerRetry) break;
        continue;
      }
      tried.add(identity);
      const peer = map[identity]!;
      try {
        const res = await this.attempt(identity, peer, policy, options);
        res.attempts = attempt + 1;
        return res;
      } catch (err) {
        last = err as PeerRequestError;
        if (options.signal?.aborted) break;
      }
    }
    throw last ?? new PeerRequestError(`No peer found for ${what}.`, undefined, undefined, undefined);
  }

  private async attempt(identity: string, peer: Peer, policy: RequestPolicy, options: PeerRequestOptions): Promise<PeerResponse> {
    const url = peerUrl(peer, options.path ?? '/');
    const traceparent = childTraceparent(options.traceparent);
    const headers: Record<string, string> = { ...(options.headers ?? {}), traceparent };
    let body: string | undefined;
    if (options.body !== undefined) {
      body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
      if (typeof options.body !== 'string') headers['content-type'] ??= 'application/json';
    }
    const signal = options.signal ? AbortSignal.any([options.signal, AbortSignal.timeout(policy.timeoutMs)]) : AbortSignal.timeout(policy.timeoutMs);
    this.breakers.begin(identity);
    this.balancer.started(identity);
    try {
      const res = await fetch(url, { method: options.method ?? (body === undefined ? 'GET' : 'POST'), headers, body, signal });
      const text = await res.text();
      if (res.status >= 500) {
        this.breakers.failure(identity);
        throw new PeerRequestError(`${options.method ?? 'GET'} ${url} (peer ${identity}) answered ${res.status}`, url, identity, peer);
      }
      this.breakers.success(identity);
      return { url, identity, peer, status: res.status, headers: Object.fromEntries(res.headers), body: text, traceparent, attempts: 1 };
    } catch (err) {
      if (err instanceof PeerRequestError) throw err;
      this.breakers.failure(identity);
      const timedOut = (err as Error).name === 'TimeoutError';
      throw new PeerRequestError(timedOut ? `${url} (peer ${identity}) did not answer within ${policy.timeoutMs} ms` : `${url} (peer ${identity}) failed: ${errorMessage((err as Error).cause ?? err)}`, url, identity, peer, { cause: err, code: timedOut ? 'TIMEOUT' : 'UNAVAILABLE' });
    } finally {
      this.balancer.finished(identity);
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
    if (signal?.aborted) { reject(new SwitchboardError('CANCELLED', 'the request was aborted')); return; }
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => { clearTimeout(t); reject(new SwitchboardError('CANCELLED', 'the request was aborted')); }, { once: true });
  });
}
