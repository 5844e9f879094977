/**
 * `runConnector`: one sync of one account through a go-plugin connector, c1-core's flow.
 *
 * 1. start `sh -c <command>` in `cwd` (own process group) with the go-plugin environment
 *    (BASIC_PLUGIN=hello, PLUGIN_PROTOCOL_VERSIONS=1, PLUGIN_MIN/MAX_PORT, PLUGIN_CLIENT_CERT with
 *    `autoMTLS`), read and check the handshake line (`handshakeTimeoutMs`), connect;
 * 2. serve `proto.CallbackHandler` (Upsert, Clean) on broker id 1;
 * 3. call the optional `Check` (Switchboard extension; UNIMPLEMENTED is fine), then
 *    `Sync{options, callback_handler_server: 1}`; every `Upsert` becomes one `onPage` call, in
 *    order, and the connector's call returns only when `onPage` has resolved;
 * 4. stop the plugin: Shutdown, 2 s, SIGKILL of its process group.
 *
 * Resolves with `EndSync.metadata` and counts. Rejects with one typed error (see errors.ts):
 * `PluginHandshakeError` (bad first line), `PluginTimeoutError` (no handshake in time),
 * `PluginExitedError` (the process died; `stderrTail`), `ConnectorSyncError` (Sync or Check
 * returned an error), `PageRejectedError` (a page over `maxPageBytes`, or an object without
 * `remoteId`), `ConnectorCancelledError` (`signal` fired), or whatever `onPage` threw.
 * Pages whose `onPage` resolved before the failure stay delivered.
 */
import { status, type Server, type sendUnaryData, type ServerUnaryCall, type ServiceDefinition } from '@grpc/grpc-js';
import { methods, services, type CheckpointMessage, type Empty } from '../proto/index.js';
import { decodePage } from '../proto/page.js';
import { SwitchboardError, asSwitchboardError } from '../../core/errors.js';
import { PAGE_SEQUENCE_HEADER } from './constants.js';
import { ConnectorCancelledError, ConnectorSyncError, PageRejectedError } from './errors.js';
import { hasStatus, isServiceError, statusName, unary } from './rpc.js';
import { startPlugin, type PluginSession } from './session.js';
import type { DataObject, RunConnectorOptions, RunConnectorResult } from './types.js';

export const DEFAULT_MAX_PAGE_BYTES = 4 * 1024 * 1024;
/** Largest state a connector may checkpoint. */
export const MAX_STATE_BYTES = 1024 * 1024;

/** Upsert's request, decoded only after its size was checked. */
interface RawPage {
  bytes: number;
  buffer: Buffer;
}

const callbackService: ServiceDefinition = {
  ...services.callbackHandler,
  Upsert: { ...methods.upsert, requestDeserialize: (buffer: Buffer): RawPage => ({ bytes: buffer.length, buffer }) },
};

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(2)} MiB`;
}

/** Serialises Upsert/Clean calls into `onPage`/`onClean` and remembers the first refusal. */
class CallbackHandler {
  pages = 0;
  objects = 0;
  checkpoints = 0;
  /** The first page refusal or `onPage` failure; the run fails with it. */
  failure: Error | undefined;
  private queue: Promise<void> = Promise.resolve();
  private nextSequence = 1;
  private readonly early = new Map<number, () => void>();

  constructor(
    private readonly options: RunConnectorOptions,
    private readonly session: PluginSession,
    private readonly maxPageBytes: number,
  ) {}

  register(server: Server): void {
    server.addService(callbackService, {
      Upsert: (call: ServerUnaryCall<RawPage, Empty>, callback: sendUnaryData<Empty>) => {
        const start = () => this.enqueue(() => this.upsert(call.request), callback);
        const sequence = Number(call.metadata.get(PAGE_SEQUENCE_HEADER)[0] ?? Number.NaN);
        if (Number.isSafeInteger(sequence) && sequence >= this.nextSequence) this.inOrder(sequence, start);
        else start();
      },
      Clean: (_call: ServerUnaryCall<Empty, Empty>, callback: sendUnaryData<Empty>) =>
        this.enqueue(async () => {
          await this.options.onClean?.();
        }, callback),
      // Queued behind every Upsert that arrived before it, so its state commits after their pages.
      Checkpoint: (call: ServerUnaryCall<CheckpointMessage, Empty>, callback: sendUnaryData<Empty>) =>
        this.enqueue(async () => {
          const state = typeof call.request.state === 'string' ? call.request.state : '';
          if (Buffer.byteLength(state) > MAX_STATE_BYTES)
            throw new PageRejectedError(
              `checkpoint ${this.checkpoints + 1} is ${mib(Buffer.byteLength(state))}, over the host's limit of ${mib(MAX_STATE_BYTES)} for a state; keep cursors, not data, in it`,
              { stderrTail: this.session.process.tail.toString() },
            );
          await this.options.onCheckpoint?.(state);
          this.checkpoints++;
        }, callback),
    });
  }

  /** Starts numbered pages in their order, holding back any that arrive early. */
  private inOrder(sequence: number, start: () => void): void {
    if (sequence !== this.nextSequence) {
      this.early.set(sequence, start);
      return;
    }
    start();
    this.nextSequence++;
    for (let next = this.early.get(this.nextSequence); next; next = this.early.get(this.nextSequence)) {
      this.early.delete(this.nextSequence);
      next();
      this.nextSequence++;
    }
  }

  private enqueue(work: () => Promise<void>, callback: sendUnaryData<Empty>): void {
    this.queue = this.queue.then(async () => {
      if (this.failure) {
        callback({
          code: status.FAILED_PRECONDITION,
          details: `the host refused an earlier page: ${this.failure.message}`,
        });
        return;
      }
      if (this.options.signal?.aborted) {
        callback({ code: status.CANCELLED, details: 'the sync was cancelled' });
        return;
      }
      try {
        await work();
        callback(null, {});
      } catch (err) {
        this.failure ??= err instanceof Error ? err : asSwitchboardError(err); // the caller's own error (onPage) comes back as it was thrown
        // A page the store refused as bad data is the connector's to fix; anything else is the host's trouble.
        const badPage =
          err instanceof SwitchboardError &&
          ['PAGE_REJECTED', 'INVALID_MESSAGE', 'INVALID_ARGUMENT'].includes(err.code);
        const code = badPage ? status.INVALID_ARGUMENT : status.INTERNAL;
        callback({ code, details: this.failure.message });
      }
    });
  }

  private async upsert(raw: RawPage): Promise<void> {
    const number = this.pages + 1;
    if (raw.bytes > this.maxPageBytes) {
      throw new PageRejectedError(
        `page ${number} is ${mib(raw.bytes)}, over the host's limit of ${mib(this.maxPageBytes)}; send smaller pages (e.g. fewer objects per Upsert)`,
        {
          stderrTail: this.session.process.tail.toString(),
          data: { page: number, bytes: raw.bytes, maxPageBytes: this.maxPageBytes },
        },
      );
    }
    let objects: DataObject[];
    try {
      objects = decodePage(raw.buffer).response;
    } catch (err) {
      throw new PageRejectedError(
        `page ${number} is not a valid SyncResponse message (${(err as Error).message}); is the connector built against this protocol?`,
        {
          stderrTail: this.session.process.tail.toString(),
          data: { page: number, bytes: raw.bytes },
        },
      );
    }
    for (let i = 0; i < objects.length; i++) {
      if (!objects[i]!.remoteId) {
        throw new PageRejectedError(
          `object ${i + 1} of page ${number} has no remote_id (resource_name ${JSON.stringify(objects[i]!.resourceName)}); every data object needs one`,
          { stderrTail: this.session.process.tail.toString(), data: { page: number, index: i } },
        );
      }
    }
    await this.options.onPage(objects);
    this.pages++;
    this.objects += objects.length;
  }

  /** Resolves once every accepted call was handled. */
  drain(): Promise<void> {
    return this.queue;
  }
}

export async function runConnector(options: RunConnectorOptions): Promise<RunConnectorResult> {
  if (options.signal?.aborted) throw new ConnectorCancelledError();
  const session = await startPlugin(options);
  const onAbort = () => {
    void session.close();
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const handler = new CallbackHandler(options, session, options.maxPageBytes ?? DEFAULT_MAX_PAGE_BYTES);
  try {
    const brokerId = session.broker.nextBrokerId();
    await session.broker.accept(brokerId, (server) => handler.register(server));
    if (options.check !== false) await check(session, options.options, options.signal);
    const end = await raceExit(
      session,
      unary(
        session.client,
        methods.sync,
        { options: options.options, callbackHandlerServer: brokerId, state: options.state ?? '' },
        { signal: options.signal },
      ),
    );
    await handler.drain();
    if (handler.failure) throw handler.failure;
    return { metadata: end.metadata, pages: handler.pages, objects: handler.objects, checkpoints: handler.checkpoints };
  } catch (err) {
    await handler.drain();
    throw await explain(err, session, handler, options.signal);
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    await session.close();
  }
}

/** If the plugin dies, its pending call may hang on a socket a child still holds: fail it with the exit. */
async function raceExit<T>(session: PluginSession, call: Promise<T>): Promise<T> {
  const exit = session.process.exitedAndDrained().then(async () => {
    await new Promise((r) => setTimeout(r, 100));
    throw session.process.exitError('during Sync');
  });
  try {
    return await Promise.race([call, exit]);
  } finally {
    exit.catch(() => {});
  }
}

async function check(session: PluginSession, optionsText: string, signal: AbortSignal | undefined): Promise<void> {
  try {
    const res = await unary(session.client, methods.check, { options: optionsText }, { signal });
    if (!res.ok) {
      throw new ConnectorSyncError(`the connector refused the options: ${res.message || 'no reason given'}`, {
        grpcCode: 'OK',
        phase: 'check',
        stderrTail: session.process.tail.toString(),
      });
    }
  } catch (err) {
    if (hasStatus(err, status.UNIMPLEMENTED)) return;
    throw err;
  }
}

async function explain(
  err: unknown,
  session: PluginSession,
  handler: CallbackHandler,
  signal: AbortSignal | undefined,
): Promise<unknown> {
  if (signal?.aborted) return new ConnectorCancelledError(undefined, { cause: err });
  if (handler.failure) return handler.failure;
  if (!isServiceError(err)) return err;
  const proc = session.process;
  // A dead plugin shows up as UNAVAILABLE/CANCELLED/INTERNAL on the pending call; wait for the exit to be sure.
  if ([status.UNAVAILABLE, status.CANCELLED, status.INTERNAL].includes(err.code) && (await proc.waitExit(2000))) {
    await proc.exitedAndDrained();
    return proc.exitError('during Sync');
  }
  return new ConnectorSyncError(`the connector's Sync failed: ${err.details || err.message}`, {
    grpcCode: statusName(err),
    stderrTail: proc.tail.toString(),
    cause: err,
  });
}
