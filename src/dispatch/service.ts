/**
 * The dispatcher as a built-in service of `switchboard start`: on RabbitMQ when it is given a
 * URL (`switchboard start --amqp URL`, or SWITCHBOARD_AMQP_URL), otherwise registered on this hub
 * as the service `dispatcher`. Its tables live in the hub's store (the hub's data path, or
 * SWITCHBOARD_DATABASE_URL). It starts in the background so an unreachable broker never holds up
 * the hub; it keeps retrying and logs why.
 */
import { errorMessage } from '../core/errors.js';
import { getLogger } from '../core/log.js';
import type { ExtensionHandle, HubContext, HubExtension } from '../hub/context.js';
import type { Dispatcher } from './dispatcher/dispatcher.js';
import { redact } from './transport/amqp-link.js';

export interface DispatcherSettings {
  /** The hub's data path: the store's home. */
  dataPath: string;
  /** RabbitMQ URL; undefined: the dispatcher is a service on this hub. */
  amqp?: string | undefined;
  /** Prefix of the AMQP exchanges and queues (SWITCHBOARD_AMQP_PREFIX). */
  prefix?: string | undefined;
}

export function dispatcherService(settings: DispatcherSettings): HubExtension {
  return { name: 'dispatcher', start: (hub) => startDispatcherService(hub, settings) };
}

async function startDispatcherService(
  hub: HubContext,
  { dataPath, amqp, prefix }: DispatcherSettings,
): Promise<ExtensionHandle | undefined> {
  const log = getLogger('dispatcher');
  const local = hub.addresses.find((a) => a.kind === 'local') ?? hub.addresses.find((a) => a.kind === 'unix');
  if (!amqp && !local) {
    log.warn('the hub has no local or unix listener and no RabbitMQ URL is set: the dispatcher is off');
    return undefined;
  }
  const { openDispatchDb } = await import('./open.js');
  const { startDispatcher } = await import('./run.js');
  const { storeSyncActions } = await import('./dispatcher/sync-action.js');
  const { db, store, close: closeDb } = await openDispatchDb({ home: dataPath });
  // Sync actions run here, on the hub's store and home (where the sync service's connectors are).
  const sync = storeSyncActions(store, dataPath);
  const close = async () => {
    await sync.close();
    await closeDb();
  };
  let dispatcher: Dispatcher | undefined;
  let stopped = false;
  const starting = startDispatcher({
    db,
    amqp,
    hub: local?.url,
    hubToken: hub.serviceToken,
    prefix,
    log,
    sync,
  }).then(
    (d) => {
      dispatcher = d;
      if (stopped) return d.stop();
      return undefined;
    },
    (err: unknown) => {
      log.error({ err: errorMessage(err) }, 'the dispatcher did not start');
    },
  );
  return {
    addresses: [
      { name: 'dispatcher', url: amqp ? `${redact(amqp)} (RabbitMQ)` : `service "dispatcher" on ${local!.url}` },
    ],
    async stop() {
      stopped = true;
      await dispatcher?.stop();
      if (!dispatcher) await Promise.race([starting, new Promise((r) => setTimeout(r, 1000))]);
      await close();
    },
  };
}
