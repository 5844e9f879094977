/**
 * The host side of one go-plugin session: start the plugin, read and check its handshake, connect
 * (mTLS when asked), open the broker stream, follow GRPCStdio when the plugin has it, and stop it
 * the go-plugin way (Shutdown, 2 s, then SIGKILL of the whole process group).
 */
import { Client, Metadata, status } from '@grpc/grpc-js';
import { GRPC_SIZE_OPTIONS, methods, type ConnInfo } from '../proto/index.js';
import { SwitchboardError } from '../../core/errors.js';
import { getLogger } from '../../core/log.js';
import { GrpcBroker } from './broker.js';
import { HANDSHAKE, ORDERED_PAGES_ENV } from './constants.js';
import { ConnectorCancelledError, PluginHandshakeError, PluginTimeoutError } from './errors.js';
import { parseHandshake, type Handshake } from './handshake.js';
import { checkCertificate, clientCredentials, derToPem, generateCertificate, type TlsMaterial } from './mtls.js';
import { PluginProcess, type ExitInfo } from './process.js';
import { unary, hasStatus } from './rpc.js';
import { logLineFramer } from './plugin-log.js';
import type { PluginLogEntry } from './types.js';
import { connectorEnv } from '../env.js';

export { HANDSHAKE };
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 60_000;
/** go-plugin waits this long after Shutdown before SIGKILL. */
export const KILL_GRACE_MS = 2000;
const CONNECT_TIMEOUT_MS = 5000;

export interface StartPluginOptions {
  command: string;
  cwd: string;
  env?: Record<string, string>;
  /** Names copied from this process's environment beyond the allow-list (a manifest's `env`). */
  inheritEnv?: readonly string[];
  onLog?: (entry: PluginLogEntry) => void;
  signal?: AbortSignal;
  handshakeTimeoutMs?: number;
  autoMTLS?: boolean;
  minPort?: number;
  maxPort?: number;
}

export interface PluginSession {
  readonly process: PluginProcess;
  readonly handshake: Handshake;
  /** A generic client on the plugin's main connection (use with `unary` and `methods`). */
  readonly client: Client;
  readonly broker: GrpcBroker;
  /** Stops the plugin; idempotent. Resolves with how it ended. */
  close(): Promise<ExitInfo>;
}

function defaultLog(command: string): (entry: PluginLogEntry) => void {
  const log = getLogger('sync', { connector: command.length > 80 ? `${command.slice(0, 77)}...` : command });
  return (e) => log[e.level]({ ...e.fields, stream: e.stream, ...(e.module ? { module: e.module } : {}) }, e.message);
}

/** The plugin's environment: the allow-list (see ../env.ts), the names asked for, `env`, and go-plugin's. */
export function pluginEnv(options: {
  env?: Record<string, string>;
  inheritEnv?: readonly string[];
  clientCertPem?: string;
  minPort?: number;
  maxPort?: number;
}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = connectorEnv(options.inheritEnv ?? [], options.env);
  delete env.PLUGIN_CLIENT_CERT;
  env[HANDSHAKE.cookieKey] = HANDSHAKE.cookieValue;
  env.PLUGIN_MIN_PORT = String(options.minPort ?? 10000);
  env.PLUGIN_MAX_PORT = String(options.maxPort ?? 25000);
  env.PLUGIN_PROTOCOL_VERSIONS = HANDSHAKE.appVersions.join(',');
  env[ORDERED_PAGES_ENV] = '1';
  if (options.clientCertPem) env.PLUGIN_CLIENT_CERT = options.clientCertPem;
  return env;
}

export async function startPlugin(options: StartPluginOptions): Promise<PluginSession> {
  const onLog = options.onLog ?? defaultLog(options.command);
  const hostCert = options.autoMTLS ? await generateCertificate() : undefined;
  const proc = new PluginProcess({
    command: options.command,
    cwd: options.cwd,
    env: pluginEnv({ ...options, ...(hostCert ? { clientCertPem: hostCert.certPem } : {}) }),
    onLog,
  });
  let client: Client | undefined;
  let broker: GrpcBroker | undefined;
  try {
    const line = await proc.firstLine(
      options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
      options.signal,
      () => new ConnectorCancelledError(),
    );
    let handshake: Handshake;
    try {
      handshake = parseHandshake(line, { appVersions: HANDSHAKE.appVersions });
    } catch (err) {
      // Let a crash right after the line show up in the tail.
      await proc.waitExit(100);
      throw err instanceof PluginHandshakeError
        ? new PluginHandshakeError(err.message, { stderrTail: proc.tail.toString() })
        : err;
    }
    let tls: TlsMaterial | undefined;
    if (hostCert) {
      if (!handshake.serverCertDer) {
        throw new PluginHandshakeError(
          "AutoMTLS was asked for (PLUGIN_CLIENT_CERT) but the connector's handshake has no certificate; it may be built with a go-plugin older than v1.0.1",
          { stderrTail: proc.tail.toString() },
        );
      }
      try {
        checkCertificate(handshake.serverCertDer);
      } catch (err) {
        throw new PluginHandshakeError(
          `the certificate in the connector's handshake is not an X.509 certificate: ${(err as Error).message}`,
          { stderrTail: proc.tail.toString() },
        );
      }
      tls = { own: hostCert, peerCertPem: derToPem(handshake.serverCertDer) };
    }
    const target = handshake.network === 'unix' ? `unix:${handshake.address}` : handshake.address;
    const { creds, options: tlsOptions } = clientCredentials(tls);
    client = new Client(target, creds, { ...GRPC_SIZE_OPTIONS, ...tlsOptions });
    await waitReady(client, proc, handshake, options.signal);
    // Not waited for: go-plugin's host does not ask at all; an answer other than SERVING is logged.
    void checkHealth(client, onLog);
    broker = new GrpcBroker(tls, 'unix');
    const brokerStream = client.makeBidiStreamRequest<ConnInfo, ConnInfo>(
      methods.startStream.path,
      methods.startStream.requestSerialize,
      methods.startStream.responseDeserialize,
      new Metadata(),
    );
    broker.attach(brokerStream);
    followStdio(client, onLog);
    return makeSession(proc, handshake, client, broker);
  } catch (err) {
    await broker?.close();
    client?.close();
    proc.killGroup();
    await proc.waitExit(KILL_GRACE_MS);
    if (options.signal?.aborted && !(err instanceof ConnectorCancelledError))
      throw new ConnectorCancelledError(undefined, { cause: err });
    throw err;
  }
}

async function waitReady(
  client: Client,
  proc: PluginProcess,
  handshake: Handshake,
  signal: AbortSignal | undefined,
): Promise<void> {
  const ready = new Promise<void>((resolve, reject) => {
    client.waitForReady(Date.now() + CONNECT_TIMEOUT_MS, (err) => (err ? reject(err) : resolve()));
  });
  const exited = proc.exitedAndDrained().then(() => {
    throw proc.exitError('right after its handshake');
  });
  const aborted = new Promise<never>((_, reject) => {
    if (signal?.aborted) reject(new ConnectorCancelledError());
    signal?.addEventListener('abort', () => reject(new ConnectorCancelledError()), { once: true });
  });
  try {
    await Promise.race([ready, exited, aborted]);
  } catch (err) {
    if (err instanceof SwitchboardError) throw err;
    if (await proc.waitExit(200)) throw proc.exitError('right after its handshake');
    throw new PluginTimeoutError(
      `could not connect to the connector at ${handshake.network}:${handshake.address} within ${CONNECT_TIMEOUT_MS} ms${handshake.serverCertDer ? ' (with mutual TLS)' : ''}: ${(err as Error).message}`,
      { stderrTail: proc.tail.toString(), cause: err },
    );
  } finally {
    exited.catch(() => {});
    aborted.catch(() => {});
  }
}

/** go-plugin plugins report service `plugin` SERVING; one that does not is logged, not refused (go-plugin's host does not ask at start). */
async function checkHealth(client: Client, onLog: (entry: PluginLogEntry) => void): Promise<void> {
  try {
    const res = await unary(client, methods.healthCheck, { service: 'plugin' }, { deadlineMs: CONNECT_TIMEOUT_MS });
    if (res.status !== 'SERVING')
      onLog({
        level: 'warn',
        message: `the connector's health service reports ${res.status} for "plugin"`,
        fields: {},
        stream: 'stderr',
      });
  } catch (err) {
    // CANCELLED: the session ended before the answer (a run that short has its answer anyway).
    if (!hasStatus(err, status.UNIMPLEMENTED) && !hasStatus(err, status.CANCELLED))
      onLog({
        level: 'warn',
        message: `the connector's health check failed: ${(err as Error).message}`,
        fields: {},
        stream: 'stderr',
      });
  }
}

/** Newer go-plugin plugins stream their stdout/stderr over GRPCStdio; v1.0.1 plugins answer UNIMPLEMENTED. */
export function followStdio(client: Client, onLog: (entry: PluginLogEntry) => void, onEnd?: () => void): void {
  const call = client.makeServerStreamRequest(
    methods.streamStdio.path,
    methods.streamStdio.requestSerialize,
    methods.streamStdio.responseDeserialize,
    {},
    new Metadata(),
  );
  // Output arrives in chunks that need not end at a newline: one framer per stream joins the lines.
  const framer = (stream: 'stdout' | 'stderr') =>
    logLineFramer((line) => {
      if (line.trim()) onLog({ level: 'info', message: line, fields: {}, stream });
    });
  const stdoutLines = framer('stdout');
  const stderrLines = framer('stderr');
  const flush = (): void => {
    stdoutLines.end();
    stderrLines.end();
  };
  call.on('data', (chunk: { channel: string; data: Buffer }) => {
    (chunk.channel === 'STDERR' ? stderrLines : stdoutLines).push(chunk.data);
  });
  call.on('error', (err) => {
    flush();
    if (
      !hasStatus(err, status.UNIMPLEMENTED) &&
      !hasStatus(err, status.CANCELLED) &&
      !hasStatus(err, status.UNAVAILABLE)
    ) {
      onLog({ level: 'debug', message: `GRPCStdio ended: ${err.message}`, fields: {}, stream: 'stderr' });
    }
    onEnd?.();
  });
  call.on('end', () => {
    flush();
    onEnd?.();
  });
}

function makeSession(proc: PluginProcess, handshake: Handshake, client: Client, broker: GrpcBroker): PluginSession {
  let closing: Promise<ExitInfo> | undefined;
  const close = async (): Promise<ExitInfo> => {
    await broker.close();
    const deadline = Date.now() + KILL_GRACE_MS;
    if (!proc.hasExited) {
      try {
        await unary(client, methods.shutdown, {}, { deadlineMs: KILL_GRACE_MS });
      } catch {
        // go-plugin's Shutdown stops the server before answering: a closed connection is the normal reply.
      }
    }
    client.close();
    await proc.waitExit(Math.max(0, deadline - Date.now()));
    // Always: the group may hold children of the connector that outlive it.
    proc.killGroup();
    return proc.exited;
  };
  return {
    process: proc,
    handshake,
    client,
    broker,
    close: () => (closing ??= close()),
  };
}
