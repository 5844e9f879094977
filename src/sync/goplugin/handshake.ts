/**
 * go-plugin's handshake line, `CORE|APP|NETWORK|ADDRESS|PROTOCOL|SERVER_CERT[|MULTIPLEX]`: the
 * first line a plugin prints on stdout. Pure parsing and formatting, no I/O.
 */
import { PluginHandshakeError } from './errors.js';

/** go-plugin's core protocol version (CoreProtocolVersion in go-plugin v1.x). */
export const CORE_PROTOCOL_VERSION = 1;

export interface Handshake {
  core: number;
  app: number;
  network: 'unix' | 'tcp';
  /** A socket path (unix) or `host:port` (tcp). */
  address: string;
  protocol: 'grpc';
  /** The plugin's AutoMTLS certificate (DER), when it sent one. */
  serverCertDer?: Buffer;
  /** Field 7 (`true` when the plugin multiplexes brokered streams on one connection; newer go-plugin). */
  multiplex: boolean;
}

export interface HandshakeExpectations {
  /** App protocol versions this host speaks (`PLUGIN_PROTOCOL_VERSIONS`). */
  appVersions: readonly number[];
}

const EXPECTED = 'CORE|APP|NETWORK|ADDRESS|PROTOCOL|CERT, e.g. "1|1|unix|/tmp/plugin123|grpc|"';
const MAX_QUOTED = 200;

function quote(line: string): string {
  const shown = line.length > MAX_QUOTED ? `${line.slice(0, MAX_QUOTED)}... (${line.length} chars)` : line;
  return JSON.stringify(shown);
}

/**
 * A version field's number, or undefined when it is not a whole number. Checked by hand, not with
 * zod: the SDK imports this module (formatHandshake) and zod costs a connector ~40 ms to load.
 */
function wholeNumber(text: string): number | undefined {
  return /^\d+$/.test(text) ? Number(text) : undefined;
}

/** Parses a handshake line; throws `PluginHandshakeError` with a sentence saying what is wrong. */
export function parseHandshake(rawLine: string, expect: HandshakeExpectations): Handshake {
  const line = rawLine.trim();
  if (line === '') {
    throw new PluginHandshakeError(
      `the connector's first stdout line is empty; a go-plugin connector must first print ${EXPECTED}`,
    );
  }
  const parts = line.split('|');
  if (parts.length < 4) {
    throw new PluginHandshakeError(
      `the connector's first stdout line is not a go-plugin handshake: ${quote(line)}; expected ${EXPECTED}. ` +
        'Is the command a go-plugin connector? Anything it prints before serving must go to stderr.',
    );
  }
  const [coreText = '', appText = '', network = '', address = '', protocolText, certText, multiplexText] = parts;
  const core = wholeNumber(coreText);
  if (core === undefined)
    throw new PluginHandshakeError(
      `the handshake's core protocol version ${JSON.stringify(coreText)} is not a number (line ${quote(line)})`,
    );
  if (core !== CORE_PROTOCOL_VERSION) {
    throw new PluginHandshakeError(
      `the connector speaks go-plugin core protocol ${core}, this host speaks ${CORE_PROTOCOL_VERSION}; rebuild the connector with go-plugin v1`,
    );
  }
  const app = wholeNumber(appText);
  if (app === undefined)
    throw new PluginHandshakeError(
      `the handshake's app protocol version ${JSON.stringify(appText)} is not a number (line ${quote(line)})`,
    );
  if (!expect.appVersions.includes(app)) {
    throw new PluginHandshakeError(
      `the connector speaks app protocol version ${app}; this host speaks ${expect.appVersions.join(', ')}`,
    );
  }
  if (network !== 'unix' && network !== 'tcp') {
    throw new PluginHandshakeError(
      `the handshake names network ${JSON.stringify(network)}; only "unix" and "tcp" are supported (line ${quote(line)})`,
    );
  }
  if (address === '') throw new PluginHandshakeError(`the handshake has an empty address (line ${quote(line)})`);
  if (network === 'tcp' && !/^[^\s]+:\d{1,5}$/.test(address)) {
    throw new PluginHandshakeError(`the handshake's tcp address ${JSON.stringify(address)} is not host:port`);
  }
  // go-plugin defaults to net/rpc when the field is missing.
  const protocol = protocolText ?? 'netrpc';
  if (protocol !== 'grpc') {
    throw new PluginHandshakeError(
      `the connector serves the ${JSON.stringify(protocol)} protocol; Switchboard hosts gRPC go-plugin connectors only`,
    );
  }
  let serverCertDer: Buffer | undefined;
  // go-plugin's rule: field 6 is a certificate only when longer than 50 chars (older plugins put other data there).
  if (certText !== undefined && certText.length > 50) {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(certText)) {
      throw new PluginHandshakeError("the handshake's server certificate (field 6) is not base64");
    }
    serverCertDer = Buffer.from(certText, 'base64');
  }
  return {
    core,
    app,
    network,
    address,
    protocol,
    ...(serverCertDer ? { serverCertDer } : {}),
    multiplex: multiplexText === 'true',
  };
}

/** The line a plugin prints (the SDK's side). The certificate is base64 without padding, as Go's RawStdEncoding. */
export function formatHandshake(h: {
  app: number;
  network: 'unix' | 'tcp';
  address: string;
  serverCertDer?: Buffer;
}): string {
  const cert = h.serverCertDer ? h.serverCertDer.toString('base64').replace(/=+$/, '') : '';
  return `${CORE_PROTOCOL_VERSION}|${h.app}|${h.network}|${h.address}|grpc|${cert}`;
}
