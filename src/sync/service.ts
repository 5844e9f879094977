/**
 * The sync capability as a built-in service of `switchboard start`: the service `sync` on this
 * hub, so `switchboard send` (and the dashboard, and any client) can list connectors, accounts,
 * runs and data objects, set notes, and start syncs. Parameters are validated; a bad request gets
 * an ERROR reply naming the parameter. Its store is the hub's (the hub's data path, or
 * SWITCHBOARD_DATABASE_URL).
 *
 *   LIST_CONNECTORS                                   -> CONNECTORS { connectors }
 *   LIST_ACCOUNTS   [connector]                       -> ACCOUNTS { accounts }
 *   LIST_RUNS       [account] [limit]                 -> RUNS { runs }
 *   LIST_DATA       [account] [connector] [search] [page] [page_size] [order] [asc] -> DATA { total, page, pages, items }
 *   NOTE            id notes                          -> NOTED { object }
 *   SYNC            [accounts: "a,b" or ["a","b"]]    -> SYNCED { runs, failed }   (when every run ended)
 *   START_SYNC      account [wait=true]              -> SYNC_STARTED { run } at once (the run id, status running),
 *                                                        or with wait, SYNC_DONE { run } when it ended
 *   GET_RUN         id                               -> RUN { run }
 *
 * At start the service closes runs a crash left open (`abandoned`) and runs the scheduler: due
 * scheduled syncs, exactly once across every sync service on the store (see scheduler.ts).
 */
import { z } from 'zod';
import type { SwitchboardClient } from '../client/index.js';
import { InvalidArgumentError, SwitchboardError, errorMessage } from '../core/errors.js';
import { getLogger } from '../core/log.js';
import type { JsonValue, Message } from '../core/message.js';
import type { ExtensionHandle, HubContext, HubExtension } from '../hub/context.js';
import type { SyncApi } from './open.js';
import { Scheduler } from './scheduler.js';

export const SYNC_SERVICE = 'sync';

const text = z.string().min(1);
const count = z.coerce.number().int().min(1);
/** `"a,b"` (text form) or `["a","b"]` (JSON form). */
const list = z.union([
  z.array(text),
  z.string().transform((s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  ),
]);

const Schemas = {
  LIST_CONNECTORS: z.object({}),
  LIST_ACCOUNTS: z.object({ connector: text.optional() }),
  LIST_RUNS: z.object({ account: z.coerce.string().min(1).optional(), limit: count.max(1000).optional() }),
  LIST_DATA: z.object({
    account: z.coerce.string().min(1).optional(),
    connector: text.optional(),
    search: text.optional(),
    page: count.optional(),
    page_size: count.max(1000).optional(),
    order: z.enum(['synced', 'name', 'remote-id', 'id', 'connector']).optional(),
    asc: z.union([z.boolean(), z.enum(['true', 'false'])]).optional(),
  }),
  NOTE: z.object({ id: count, notes: z.string() }),
  SYNC: z.object({ accounts: list.optional() }),
  START_SYNC: z.object({
    account: z.coerce.string().min(1),
    wait: z.union([z.boolean(), z.enum(['true', 'false'])]).optional(),
  }),
  GET_RUN: z.object({ id: count }),
};

function params<K extends keyof typeof Schemas>(command: K, msg: Message): z.infer<(typeof Schemas)[K]> {
  // Correlation and cache parameters ride along on requests; only the named ones matter here.
  const parsed = Schemas[command].safeParse(msg.params);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'params'}: ${i.message}`).join('; ');
    throw new InvalidArgumentError(`${command}: ${problems}`);
  }
  return parsed.data as z.infer<(typeof Schemas)[K]>;
}

const json = (value: unknown): JsonValue => JSON.parse(JSON.stringify(value)) as JsonValue;

/** Adds the sync commands to a client (registered or about to register as `sync`). */
export function serveSyncCommands(client: SwitchboardClient, sync: SyncApi): void {
  client.on('LIST_CONNECTORS', async (msg) => {
    params('LIST_CONNECTORS', msg);
    return { command: 'CONNECTORS', params: { connectors: json(await sync.listConnectors()) } };
  });
  client.on('LIST_ACCOUNTS', async (msg) => {
    const p = params('LIST_ACCOUNTS', msg);
    return {
      command: 'ACCOUNTS',
      params: { accounts: json(await sync.listAccounts(p.connector ? { connector: p.connector } : {})) },
    };
  });
  client.on('LIST_RUNS', async (msg) => {
    const p = params('LIST_RUNS', msg);
    return {
      command: 'RUNS',
      params: {
        runs: json(
          await sync.listRuns({ ...(p.account ? { account: p.account } : {}), ...(p.limit ? { limit: p.limit } : {}) }),
        ),
      },
    };
  });
  client.on('LIST_DATA', async (msg) => {
    const p = params('LIST_DATA', msg);
    const page = await sync.listData({
      ...(p.account ? { accounts: [p.account] } : {}),
      ...(p.connector ? { connector: p.connector } : {}),
      ...(p.search ? { search: p.search } : {}),
      ...(p.page ? { page: p.page } : {}),
      ...(p.page_size ? { pageSize: p.page_size } : {}),
      ...(p.order ? { order: p.order } : {}),
      ...(p.asc === true || p.asc === 'true' ? { ascending: true } : {}),
    });
    return { command: 'DATA', params: json(page) as Record<string, JsonValue> };
  });
  client.on('NOTE', async (msg) => {
    const p = params('NOTE', msg);
    return { command: 'NOTED', params: { object: json(await sync.setNote(p.id, p.notes)) } };
  });
  client.on('SYNC', async (msg) => {
    const p = params('SYNC', msg);
    const outcomes = await sync.sync(p.accounts ?? []);
    const runs = outcomes.map((o) => ({
      account: `${o.account.connector}/${o.account.name}`,
      run: o.run ?? null,
      error: o.error ? o.error.toWire() : null,
    }));
    return { command: 'SYNCED', params: { runs: json(runs), failed: outcomes.filter((o) => !o.run?.success).length } };
  });
  client.on('START_SYNC', async (msg) => {
    const p = params('START_SYNC', msg);
    const { run, done } = await sync.startSync(p.account, { startedBy: 'action' });
    if (p.wait === true || p.wait === 'true') return { command: 'SYNC_DONE', params: { run: json(await done) } };
    done.catch(() => {});
    return { command: 'SYNC_STARTED', params: { run: json(run) } };
  });
  client.on('GET_RUN', async (msg) => {
    const p = params('GET_RUN', msg);
    return { command: 'RUN', params: { run: json(await sync.getRun(p.id)) } };
  });
}

export interface SyncSettings {
  /** The hub's data path: the store's home. */
  dataPath: string;
}

export function syncService(settings: SyncSettings): HubExtension {
  return { name: SYNC_SERVICE, start: (hub) => startSyncService(hub, settings) };
}

async function startSyncService(hub: HubContext, { dataPath }: SyncSettings): Promise<ExtensionHandle | undefined> {
  const log = getLogger('sync');
  const local = hub.addresses.find((a) => a.kind === 'unix') ?? hub.addresses.find((a) => a.kind === 'local');
  if (!local) {
    log.warn('the hub has no local or unix listener: the sync service is off');
    return undefined;
  }
  const { openSync } = await import('./open.js');
  const { connect } = await import('../client/index.js');
  const sync = await openSync({ home: dataPath });
  let client: SwitchboardClient;
  let scheduler: Scheduler;
  try {
    const closed = await sync.closeAbandonedRuns();
    for (const r of closed)
      log.warn({ run: r.id, account: r.accountName }, `closed run ${r.id} as abandoned: ${r.error ?? ''}`);
    scheduler = new Scheduler({ db: sync.store, home: sync.home });
    client = await connect(local.url, { format: 'json', requestTimeoutMs: 60_000, token: hub.serviceToken });
    serveSyncCommands(client, sync);
    await client.register(SYNC_SERVICE);
    scheduler.start();
  } catch (err) {
    await sync.close();
    throw new SwitchboardError(
      'UNAVAILABLE',
      `the sync service could not register on ${local.url}: ${errorMessage(err)}`,
      { cause: err },
    );
  }
  return {
    addresses: [{ name: 'sync', url: `service "sync" on ${local.url} (${sync.store.location})` }],
    async stop() {
      await scheduler.stop();
      client.dispose();
      await sync.close();
    },
  };
}
