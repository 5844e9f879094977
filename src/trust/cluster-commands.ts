/**
 * Commands that act on a whole cluster (SHUTDOWN, FORGET) cross hub links and the backplane.
 * The hub where one starts has checked the connection that sent it (its identity may use it);
 * the others must know that too, or anyone who can reach a plain link's port, or publish on the
 * backplane's subjects, could stop every hub. So the starting hub signs it for the identity that
 * sent it: `by` (the identity), `at` (epoch ms), `nonce` and `proof`, an HMAC-SHA256 keyed with
 * the SHA-256 of that identity's token, which every hub configured with the same identities
 * knows (its digest, never the token). A receiving hub accepts the command from an
 * authenticated link (TLS with credentials or client certificates), or when the proof names an
 * identity it knows, whose grant here may use the command, fresh (five minutes) and not seen
 * before. Anything else is refused, logged once, counted (reason `cluster`) and listed by
 * `cluster-status`. Hubs started by one user share the admin token (`$SWITCHBOARD_HOME/hub.token`),
 * so their admin's SHUTDOWN crosses plain links; a hub of someone else refuses it.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { JsonValue } from '../core/message.js';
import type { TrustPolicy } from './policy.js';
import type { RefusalLog } from './refusals.js';

/** The fields a signed cluster command carries beside its own. */
export interface ClusterProof {
  by: string;
  at: number;
  nonce: string;
  proof: string;
}

/** Who signs: an identity and the digest of the token it proved itself with. */
export interface Signer {
  identity: string;
  digest: string;
}

export interface RefusedClusterCommand {
  /** The hub (or link address) it came from. */
  peer: string;
  command: string;
  /** Epoch ms of the last one. */
  at: number;
  why: string;
  count: number;
}

/** What a proof covers beside the command: FORGET's target (`ip` over hub links, `server_name` over the backplane). */
export function clusterDetail(msg: {
  command: string;
  params: Readonly<Record<string, JsonValue | undefined>>;
}): string {
  if (msg.command !== 'FORGET') return '';
  const target = msg.params.ip ?? msg.params.server_name;
  return typeof target === 'string' ? target : '';
}

const FRESH_MS = 5 * 60_000;
const MAX_NONCES = 4096;
const MAX_REFUSED = 20;

function mac(digest: string, command: string, detail: string, by: string, at: number, nonce: string): Buffer {
  return createHmac('sha256', Buffer.from(digest, 'hex'))
    .update(`${command}\n${detail}\n${by}\n${at}\n${nonce}`)
    .digest();
}

export class ClusterCommandGuard {
  private readonly nonces = new Set<string>();
  private readonly refusedList = new Map<string, RefusedClusterCommand>();

  constructor(
    private readonly trust: TrustPolicy,
    private readonly refusals: RefusalLog,
    private readonly now: () => number = Date.now,
  ) {}

  /** The proof fields for `command` (with `detail`: FORGET's target) started by `signer`; undefined when nobody signs. */
  sign(command: string, detail: string, signer: Signer | undefined): ClusterProof | undefined {
    if (!signer) return undefined;
    const at = this.now();
    const nonce = randomBytes(12).toString('hex');
    this.nonces.add(nonce);
    return {
      by: signer.identity,
      at,
      nonce,
      proof: mac(signer.digest, command, detail, signer.identity, at, nonce).toString('hex'),
    };
  }

  /** The proof fields of a received command's parameters, to pass on unchanged. */
  proofOf(params: Readonly<Record<string, JsonValue | undefined>>): ClusterProof | undefined {
    const { by, at, nonce, proof } = params;
    if (typeof by !== 'string' || typeof nonce !== 'string' || typeof proof !== 'string') return undefined;
    const when = typeof at === 'number' ? at : typeof at === 'string' ? Number(at) : NaN;
    if (!Number.isFinite(when)) return undefined;
    return { by, at: when, nonce, proof };
  }

  /**
   * Whether a command that came from `peer` over an unauthenticated path may be obeyed:
   * undefined when its proof holds, else why not (already recorded as a refusal).
   */
  check(
    command: string,
    detail: string,
    params: Readonly<Record<string, JsonValue | undefined>>,
    peer: string,
  ): string | undefined {
    const why = this.problem(command, detail, this.proofOf(params));
    if (why !== undefined) this.refuse(peer, command, why);
    return why;
  }

  private problem(command: string, detail: string, p: ClusterProof | undefined): string | undefined {
    if (!p)
      return `${command} carries no proof of who started it (a hub of this version signs it for the identity that sent it)`;
    const now = this.now();
    if (Math.abs(now - p.at) > FRESH_MS)
      return `${command} signed by "${p.by}" is not fresh (signed at ${new Date(p.at).toISOString()})`;
    if (this.nonces.has(p.nonce)) return `${command} signed by "${p.by}" was seen before (a replay)`;
    let given: Buffer;
    try {
      given = Buffer.from(p.proof, 'hex');
    } catch {
      return `${command}'s proof is not hex`;
    }
    const grant = this.trust.verifyMac(p.by, (digest) => {
      const expected = mac(digest, command, detail, p.by, p.at, p.nonce);
      return expected.length === given.length && timingSafeEqual(expected, given);
    });
    if (!grant)
      return `${command} is signed by "${p.by}", but no token of an identity of that name on this hub signs it so (another hub's admin, or a forged proof)`;
    if (!grant.mayUse(command)) return `${command} is signed by ${grant.who}, which may not use it on this hub`;
    if (this.nonces.size >= MAX_NONCES) this.nonces.clear();
    this.nonces.add(p.nonce);
    return undefined;
  }

  /** A cluster command this hub would not obey: counted, logged once, listed. */
  refuse(peer: string, command: string, why: string): void {
    this.refusals.record(
      'cluster',
      { who: peer, rule: command, what: command },
      `cluster ${command} from ${peer} refused: ${why}`,
    );
    const key = `${peer}\u0000${command}`;
    const entry = this.refusedList.get(key);
    if (entry) {
      entry.count++;
      entry.at = this.now();
      entry.why = why;
      this.refusedList.delete(key);
      this.refusedList.set(key, entry);
    } else {
      if (this.refusedList.size >= MAX_REFUSED) this.refusedList.delete(this.refusedList.keys().next().value!);
      this.refusedList.set(key, { peer, command, at: this.now(), why, count: 1 });
    }
  }

  /** The most recent refusals, newest last (cluster-status shows them). */
  refused(): RefusedClusterCommand[] {
    return [...this.refusedList.values()].map((r) => ({ ...r }));
  }
}
