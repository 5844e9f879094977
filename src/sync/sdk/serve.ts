/**
 * `serveConnector`: the plugin side of go-plugin for a connector written in TypeScript. Checks the
 * magic cookie (else a message on stderr and exit 1), picks protocol version 1, answers AutoMTLS,
 * listens on a Unix socket in a temp dir (or TCP within PLUGIN_MIN/MAX_PORT), prints the handshake
 * line, and serves health (`plugin` SERVING), the broker, the controller (Shutdown exits), the
 * connector's Sync (pages go to the host's CallbackHandler dialled through the broker) and Check.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError, InvalidMessageError, SwitchboardError, errorMessage } from '../../core/errors.js';
import {
  Metadata,
  Server,
  status,
  type Client,
  type sendUnaryData,
  type ServerDuplexStream,
  type ServerUnaryCall,
} from '@grpc/grpc-js';
import {
  GRPC_SIZE_OPTIONS,
  methods,
  services,
  type CheckRequest,
  type CheckResponse,
  type ConnInfo,
  type DataObject,
  type Empty,
  type EndSync,
  type HealthCheckRequest,
  type HealthCheckResponse,
  type SyncRequest,
} from '../proto/index.js';
import { GrpcBroker } from '../goplugin/broker.js';
import { formatHandshake } from '../goplugin/handshake.js';
import { checkCertificate, generateCertificate, serverCredentials, type TlsMaterial } from '../goplugin/mtls.js';
import { HANDSHAKE, ORDERED_PAGES_ENV, PAGE_SEQUENCE_HEADER } from '../goplugin/constants.js';
import { isServiceError, unary } from '../goplugin/rpc.js';
import { createLog } from './hclog.js';
import type { ConnectorDefinition, ConnectorObject, ServeOptions } from './types.js';

export interface ServedConnector {
  network: 'unix' | 'tcp';
  address: string;
  /** Stops serving (what Shutdown does, without exiting). */
  stop(): Promise<void>;
}

const NOT_A_PROGRAM =
  'This binary is a plugin. These are not meant to be executed directly. Please execute the program that consumes these plugins, which will load any plugins automatically';

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

/** The options text parsed as JSON ('' is `{}`), then through the connector's parser. */
function parseOptions<O>(definition: ConnectorDefinition<O>, text: string): O {
  let raw: unknown = {};
  if (text.trim() !== '') {
    try {
      raw = JSON.parse(text);
    } catch (err) {
      throw new InvalidArgumentError(`the options are not valid JSON: ${errorMessage(err)}`, { cause: err });
    }
  }
  if (!definition.options) return raw as O;
  try {
    return definition.options.parse(raw);
  } catch (err) {
    throw new InvalidArgumentError(`the options are not valid: ${describeParseError(err)}`, { cause: err });
  }
}

function describeParseError(err: unknown): string {
  // zod 4 errors carry `issues`; name each path so the person knows which field to fix.
  const issues = (err as { issues?: { path?: PropertyKey[]; message?: string }[] }).issues;
  if (Array.isArray(issues) && issues.length) {
    return issues
      .map((i) => `${i.path?.length ? i.path.map(String).join('.') : '(root)'}: ${i.message ?? 'invalid'}`)
      .join('; ');
  }
  return err instanceof Error ? err.message : String(err);
}

function toWire(o: ConnectorObject, index: number): DataObject {
  if (typeof o?.remoteId !== 'string' || o.remoteId === '')
    throw new InvalidMessageError(`object ${index + 1} of the page has no remoteId`);
  const metadata =
    o.metadata === undefined ? '' : typeof o.metadata === 'string' ? o.metadata : JSON.stringify(o.metadata);
  // The page codec writes strings only (protobufjs used to stringify whatever came).
  const text = (v: unknown) => (typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v));
  return { remoteId: o.remoteId, resourceName: text(o.resourceName), uri: text(o.uri), metadata };
}

function metadataText(result: unknown): string {
  if (result === undefined || result === null) return '';
  return typeof result === 'string' ? result : JSON.stringify(result);
}

function chooseVersion(): number {
  const offered = process.env.PLUGIN_PROTOCOL_VERSIONS;
  if (!offered) return HANDSHAKE.appVersions[0];
  const versions = offered.split(',').map((v) => Number(v.trim()));
  const shared = HANDSHAKE.appVersions.filter((v) => versions.includes(v));
  if (shared.length === 0)
    fail(
      `Incompatible API version with plugin. Plugin version: ${HANDSHAKE.appVersions.join(',')}, Client versions: ${offered}`,
    );
  return Math.max(...shared);
}

async function listen(
  server: Server,
  tls: TlsMaterial | undefined,
  network: 'unix' | 'tcp',
): Promise<{ address: string; cleanup: () => Promise<void> }> {
  const creds = serverCredentials(tls);
  const bind = (target: string) =>
    new Promise<number>((resolve, reject) =>
      server.bindAsync(target, creds, (err, port) => (err ? reject(err) : resolve(port))),
    );
  if (network === 'unix') {
    // Newer go-plugin hosts may name the folder for plugin sockets.
    const dir = await mkdtemp(join(process.env.PLUGIN_UNIX_SOCKET_DIR || tmpdir(), 'plugin'));
    const path = join(dir, 'plugin.sock');
    await bind(`unix:${path}`);
    return { address: path, cleanup: () => rm(dir, { recursive: true, force: true }) };
  }
  const min = Number(process.env.PLUGIN_MIN_PORT ?? 0) || 0;
  const max = Number(process.env.PLUGIN_MAX_PORT ?? 0) || 0;
  if (min > max) fail(`PLUGIN_MIN_PORT (${min}) is greater than PLUGIN_MAX_PORT (${max})`);
  for (let port = min; port <= max; port++) {
    try {
      const bound = await bind(`127.0.0.1:${port}`);
      return { address: `127.0.0.1:${bound}`, cleanup: async () => {} };
    } catch {
      // taken: try the next one, as go-plugin does
    }
  }
  return fail(`Couldn't bind plugin TCP listener in ${min}..${max}`);
}

export async function serveConnector<O = unknown>(
  definition: ConnectorDefinition<O>,
  serveOptions: ServeOptions = {},
): Promise<ServedConnector> {
  if (process.env[HANDSHAKE.cookieKey] !== HANDSHAKE.cookieValue) fail(NOT_A_PROGRAM);
  const version = chooseVersion();
  const log = createLog();

  let tls: TlsMaterial | undefined;
  let ownCertDer: Buffer | undefined;
  const clientCert = process.env.PLUGIN_CLIENT_CERT;
  if (clientCert) {
    try {
      checkCertificate(clientCert);
    } catch (err) {
      fail(`PLUGIN_CLIENT_CERT is not a PEM certificate: ${(err as Error).message}`);
    }
    const own = await generateCertificate();
    tls = { own, peerCertPem: clientCert };
    ownCertDer = own.certDer;
  }

  // Several pages in flight only for a host that keeps them in order (Switchboard's says so).
  const pagesInFlight = process.env[ORDERED_PAGES_ENV] === '1' ? Math.max(1, serveOptions.pagesInFlight ?? 2) : 1;
  // Connects to the host's CallbackHandler as soon as it is announced (before Check and Sync).
  const broker = new GrpcBroker(tls, 'unix', { preconnect: true });
  const running = new Set<AbortController>();
  const server = new Server({ ...GRPC_SIZE_OPTIONS });

  server.addService(services.health, {
    Check: (call: ServerUnaryCall<HealthCheckRequest, HealthCheckResponse>, cb: sendUnaryData<HealthCheckResponse>) => {
      if (call.request.service === '' || call.request.service === 'plugin') cb(null, { status: 'SERVING' });
      else cb({ code: status.NOT_FOUND, details: `unknown service ${call.request.service}` });
    },
  });
  server.addService(services.broker, {
    StartStream: (call: ServerDuplexStream<ConnInfo, ConnInfo>) => broker.attach(call),
  });

  let stopping: Promise<void> | undefined;
  let cleanupListener: () => Promise<void> = async () => {};
  const stop = () =>
    (stopping ??= (async () => {
      for (const c of running) c.abort(new SwitchboardError('CANCELLED', 'the plugin is shutting down'));
      await broker.close();
      server.forceShutdown();
      await cleanupListener();
    })());

  server.addService(services.controller, {
    Shutdown: (_call: ServerUnaryCall<Empty, Empty>, cb: sendUnaryData<Empty>) => {
      cb(null, {});
      // Answer first, then go: the host is waiting for the process to end.
      setImmediate(() => {
        void stop().then(() => (serveOptions.onShutdown ? serveOptions.onShutdown() : process.exit(0)));
      });
    },
  });

  server.addService(services.connector, {
    Sync: (call: ServerUnaryCall<SyncRequest, EndSync>, cb: sendUnaryData<EndSync>) => {
      const controller = new AbortController();
      running.add(controller);
      call.on('cancelled', () => controller.abort(new SwitchboardError('CANCELLED', 'the host cancelled the sync')));
      runSync(definition, call.request, broker, controller.signal, log, pagesInFlight)
        .then((metadata) => cb(null, { metadata }))
        .catch((err: unknown) => {
          log.error('sync failed', { error: err instanceof Error ? err.message : String(err) });
          cb({
            code: isServiceError(err) ? err.code : status.UNKNOWN,
            details: err instanceof Error ? (isServiceError(err) ? err.details : err.message) : String(err),
          });
        })
        .finally(() => running.delete(controller));
    },
  });

  if (definition.check || definition.options) {
    server.addService(services.check, {
      Check: (call: ServerUnaryCall<CheckRequest, CheckResponse>, cb: sendUnaryData<CheckResponse>) => {
        (async () => {
          const options = parseOptions(definition, call.request.options);
          await definition.check?.(options);
        })().then(
          () => cb(null, { ok: true, message: '' }),
          (err: unknown) => cb(null, { ok: false, message: err instanceof Error ? err.message : String(err) }),
        );
      },
    });
  }

  const network = serveOptions.network ?? (process.platform === 'win32' ? 'tcp' : 'unix');
  const { address, cleanup } = await listen(server, tls, network);
  cleanupListener = cleanup;
  const line = formatHandshake({
    app: version,
    network,
    address,
    ...(ownCertDer ? { serverCertDer: ownCertDer } : {}),
  });
  (serveOptions.writeHandshake ?? ((l: string) => process.stdout.write(`${l}\n`)))(line);

  // go-plugin plugins ignore interrupts: the host stops them with Shutdown (Ctrl-C reaches the whole group).
  if (!serveOptions.onShutdown) {
    process.on('SIGINT', () => log.debug('plugin received interrupt signal, ignoring'));
    watchParent(stop);
  }
  return { network, address, stop };
}

/** If the host dies without Shutdown, this process is re-parented: stop instead of lingering. */
function watchParent(stop: () => Promise<void>): void {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid !== parent) void stop().then(() => process.exit(0));
  }, 2000);
  timer.unref();
}

async function runSync<O>(
  definition: ConnectorDefinition<O>,
  request: SyncRequest,
  broker: GrpcBroker,
  signal: AbortSignal,
  log: ReturnType<typeof createLog>,
  pagesInFlight: number,
): Promise<string> {
  const options = parseOptions(definition, request.options);
  // Dialled now, while the connector fetches its first page, not after it: one connection shared
  // by every call (a failed dial fails each call that needs it, and nothing else).
  const dialing = broker.dial(request.callbackHandlerServer);
  dialing.catch(() => {});
  const callback = (): Promise<Client> => dialing;
  const pages = new PagePipeline(pagesInFlight);
  try {
    const result = await definition.sync(options, {
      signal,
      log,
      upsert: async (objects) => {
        const page = { response: objects.map(toWire) };
        const target = await callback();
        await pages.send((metadata) => unary(target, methods.upsert, page, { signal, metadata }));
      },
      clean: async () => {
        await pages.flush();
        await unary(await callback(), methods.clean, {}, { signal });
      },
      state: request.state ? request.state : null,
      checkpoint: async (state) => {
        // Every page before it answered first: the host commits the state after (or with) them.
        await pages.flush();
        const text = typeof state === 'string' ? state : JSON.stringify(state);
        try {
          await unary(await callback(), methods.checkpoint, { state: text }, { signal });
        } catch (err) {
          // c1-core's host has no Checkpoint: the sync goes on as a full one.
          if (isServiceError(err) && err.code === status.UNIMPLEMENTED) {
            log.debug('the host does not take checkpoints');
            return;
          }
          throw err;
        }
      },
    });
    await pages.flush();
    return metadataText(result);
  } finally {
    await pages.settle();
    // Not awaited: a sync that ends before the dial does must not wait for it.
    void dialing.then(
      (client) => client.close(),
      () => {},
    );
  }
}

/** Up to `limit` Upsert calls in flight, numbered so the host stores them in order; the first failure sticks. */
class PagePipeline {
  private sequence = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private failure: unknown;

  constructor(private readonly limit: number) {}

  async send(call: (metadata: Metadata) => Promise<unknown>): Promise<void> {
    this.check();
    const metadata = new Metadata();
    metadata.set(PAGE_SEQUENCE_HEADER, String(++this.sequence));
    const sent: Promise<void> = call(metadata).then(
      () => {
        this.inFlight.delete(sent);
      },
      (err: unknown) => {
        this.inFlight.delete(sent);
        this.failure ??= err;
      },
    );
    this.inFlight.add(sent);
    while (this.inFlight.size >= this.limit) await Promise.race(this.inFlight);
    this.check();
  }

  /** Waits for every page's answer; rejects with the first refusal. */
  async flush(): Promise<void> {
    await this.settle();
    this.check();
  }

  async settle(): Promise<void> {
    while (this.inFlight.size) await Promise.race(this.inFlight);
  }

  private check(): void {
    if (this.failure !== undefined) throw this.failure;
  }
}
