/**
 * The dashboard as a built-in service of `switchboard start`: an HTTP server (default
 * http://127.0.0.1:4080; `--http ADDR` / SWITCHBOARD_HTTP, `off` to disable: config.ts reads them
 * for the composition root) over the hub's registry, its traffic and the sync and dispatcher
 * stores in the hub's home. It always wants a token; the address it prints carries one.
 */
import { SwitchboardError, errorMessage } from '../core/errors.js';
import { getLogger } from '../core/log.js';
import type { ExtensionHandle, HubContext, HubExtension } from '../hub/context.js';
import type { DashboardConfig } from './config.js';
import type { DeadLetterSettings } from './dead-letters.js';
import { newToken } from '../trust/token-file.js';

export interface DashboardSettings {
  /** The hub's data path: the sync and dispatcher stores live there. */
  dataPath: string;
  /** Where it listens and its extra token; undefined: the dashboard is off. */
  http: DashboardConfig | undefined;
  /** The dispatcher's broker (`--amqp`, SWITCHBOARD_AMQP_URL and _PREFIX), for its dead letters. */
  deadLetters?: DeadLetterSettings | undefined;
}

export function dashboardService(settings: DashboardSettings): HubExtension {
  return { name: 'dashboard', start: (hub) => startDashboard(hub, settings) };
}

async function startDashboard(
  hub: HubContext,
  { dataPath, http: config, deadLetters }: DashboardSettings,
): Promise<ExtensionHandle | undefined> {
  if (!config) return undefined;
  const log = getLogger('dashboard');
  const { openDashboardData } = await import('./data.js');
  const { HubLink } = await import('./hub-link.js');
  const { createMetrics } = await import('./metrics.js');
  const { startDashboardServer } = await import('./server.js');
  const data = await openDashboardData(dataPath);
  const link = new HubLink(hub);
  const metrics = createMetrics(hub, link, data);
  // Always a token, even on loopback: the hub's admin token, else the extra one, else one for this run.
  if (config.token) hub.trust.addAdminToken(config.token);
  let signInToken = hub.adminToken ?? config.token;
  if (signInToken === undefined) {
    signInToken = newToken('sbd_');
    hub.trust.addAdminToken(signInToken);
  }
  try {
    const server = await startDashboardServer({
      config,
      link,
      data,
      metrics: metrics.registry,
      log,
      signInToken,
      deadLetters,
    });
    return {
      addresses: [{ name: 'dashboard', url: server.signInUrl }],
      async stop() {
        await server.close();
        metrics.close();
        link.close();
        await data.close();
      },
    };
  } catch (err) {
    metrics.close();
    link.close();
    await data.close();
    if (!config.explicit && (err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      log.warn(
        { address: `${config.host}:${config.port}` },
        'the default dashboard port is taken (another switchboard?): running without a dashboard; choose one with --http ADDR',
      );
      return undefined;
    }
    throw new SwitchboardError(
      'UNAVAILABLE',
      `the dashboard could not listen on ${config.host}:${config.port}: ${errorMessage(err)} (choose another with --http ADDR, or --http off)`,
      { cause: err },
    );
  }
}
