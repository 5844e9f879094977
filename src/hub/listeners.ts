/**
 * The hub's listeners from its configuration, each tagged with the connection kind it yields
 * (what a connection may do depends on where it came in: UDP rules, SNIFF, STOP).
 */
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { dirname } from 'node:path';
import { parseAddress } from '../core/address.js';
import { listen, type Listener, type ListenOptions, type WsHandshake } from '../core/transports/index.js';
import type { Channel } from '../core/channel.js';
import type { HubConfig } from './config.js';
import type { ConnectionKind } from './connection.js';

export interface ListenerSpec {
  kind: ConnectionKind;
  url: string;
}

export interface BoundListener {
  kind: ConnectionKind;
  listener: Listener;
  /** `host:port` (or the socket path): READY's `my_address`. */
  myAddress: string;
}

export function listenerSpecs(config: HubConfig): ListenerSpec[] {
  const specs: ListenerSpec[] = [];
  if (config.localListen) specs.push({ kind: 'local', url: config.localListen });
  if (config.unixListen) specs.push({ kind: 'unix', url: config.unixListen });
  if (config.secureListen) specs.push({ kind: 'secure', url: config.secureListen });
  if (config.wsListen) specs.push({ kind: 'ws', url: config.wsListen });
  if (config.signal) specs.push({ kind: 'signal', url: config.signal });
  return specs;
}

export function myAddressOf(url: string): string {
  const a = parseAddress(url);
  if (a.transport === 'unix') return a.path;
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = netConnect({ path });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(500, () => done(true));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/** A socket file left by a hub that died is removed; a live one (another hub) is not touched. */
async function prepareUnixSocket(path: string): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  let isSocket = false;
  try {
    isSocket = statSync(path).isSocket();
  } catch {
    return; // absent
  }
  if (isSocket && !(await socketAnswers(path))) rmSync(path, { force: true });
}

export async function bindListeners(
  config: HubConfig,
  onChannel: (channel: Channel, kind: ConnectionKind, myAddress: string) => void,
  hooks: {
    /** The WebSocket listener's handshake check (Origin); a sentence refuses it. */
    checkHandshake?: (handshake: WsHandshake) => string | undefined;
  } = {},
): Promise<BoundListener[]> {
  const bound: BoundListener[] = [];
  const options: ListenOptions = {
    maxLineLength: config.maxLineLength,
    maxQueuedBytes: config.maxQueuedBytes,
    ...(config.maxPendingConnections !== null ? { backlog: config.maxPendingConnections } : {}),
  };
  try {
    for (const spec of listenerSpecs(config)) {
      const extra: ListenOptions = {};
      if (spec.kind === 'secure') {
        Object.assign(extra, {
          certificate: config.certificate ?? undefined,
          privateKey: config.privateKey ?? undefined,
        });
        if (config.clientCa) Object.assign(extra, { ca: config.clientCa, requireClientCertificate: true });
      }
      if (spec.kind === 'ws' && hooks.checkHandshake) extra.checkHandshake = hooks.checkHandshake;
      if (spec.kind === 'unix') {
        await prepareUnixSocket(parseAddress(spec.url).path);
        // The communicator's unix_group: that group may connect too (0660); otherwise the owner only.
        extra.socketMode = config.unixGroupId !== null ? 0o660 : 0o600;
        if (config.unixGroupId !== null) extra.socketGroup = config.unixGroupId;
      }
      let myAddress = '';
      const listener = await listen(spec.url, { ...options, ...extra }, (ch) => onChannel(ch, spec.kind, myAddress));
      myAddress = myAddressOf(listener.address);
      bound.push({ kind: spec.kind, listener, myAddress });
    }
  } catch (err) {
    await Promise.all(bound.map((b) => b.listener.close()));
    throw err;
  }
  return bound;
}
