/**
 * The composition root: the one place that knows every capability that plugs into a hub. It
 * makes their extensions from configuration values (the hub's configuration, the flags of
 * `switchboard start`, the few settings that come from the environment) and hands them to the
 * hub's `runHub`, which knows none of them. Order matters: the remote side (mesh or backplane)
 * first, so discovery and the built-in services find it attached.
 */
import type { DashboardConfig } from '../dashboard/config.js';
import { dashboardConfig } from '../dashboard/config.js';
import { dashboardService } from '../dashboard/extension.js';
import { backplaneExtension } from '../backplane/extension.js';
import { discoveryAgent } from '../discovery/agent.js';
import { discoveryConfigSection } from '../discovery/schema.js';
import { dispatcherService } from '../dispatch/service.js';
import type { ConfigSections, HubConfig } from '../hub/config.js';
import type { HubExtension } from '../hub/context.js';
import { runHub, type RunOptions } from '../hub/run.js';
import { meshExtension } from '../mesh/extension.js';
import { syncService } from '../sync/service.js';

/** The hub configuration's sections a capability defines, and their parsers (give them to loadConfig). */
export const CONFIG_SECTIONS: ConfigSections = { discovery: discoveryConfigSection };

/** `hub`: what every hub runs (`switchboard hub`); `start`: with the built-in services too (`switchboard start`). */
export type Scope = 'hub' | 'start';

export type Environment = Readonly<Record<string, string | undefined>>;

/** What `switchboard start` says on its command line (flags win over the environment). */
export interface StartFlags {
  /** `--amqp URL`: the dispatcher on RabbitMQ. */
  amqp?: string | undefined;
  /** `--http ...` and its token, already checked: `null` = the dashboard is off. */
  http?: DashboardConfig | null;
}

const pick = (env: Environment, keys: readonly string[]): Environment =>
  Object.fromEntries(keys.filter((k) => env[k] !== undefined).map((k) => [k, env[k]]));

/** The extensions of a hub of this scope, made from values (env is read here, never by the extensions). */
export function composeExtensions(
  scope: Scope,
  config: HubConfig,
  env: Environment = process.env,
  flags: StartFlags = {},
): HubExtension[] {
  const extensions = [
    meshExtension(config, { timings: env.SWITCHBOARD_MESH_TIMINGS, ca: env.SWITCHBOARD_CA }),
    backplaneExtension(
      config,
      pick(env, [
        'SWITCHBOARD_BACKPLANE_USER',
        'SWITCHBOARD_BACKPLANE_PASSWORD',
        'SWITCHBOARD_BACKPLANE_TOKEN',
        'SWITCHBOARD_BACKPLANE_TIMINGS',
        'SWITCHBOARD_CA',
      ]),
    ),
    discoveryAgent(config),
  ];
  if (scope === 'start') {
    const http = flags.http === undefined ? dashboardConfig(env) : (flags.http ?? undefined);
    const amqp = flags.amqp ?? (env.SWITCHBOARD_AMQP_URL || undefined);
    const prefix = env.SWITCHBOARD_AMQP_PREFIX || undefined;
    extensions.push(
      dispatcherService({ dataPath: config.dataPath, amqp, prefix }),
      syncService({ dataPath: config.dataPath }),
      // The dashboard reads and replays the dispatcher's dead letters on the same broker.
      dashboardService({ dataPath: config.dataPath, http, deadLetters: amqp ? { url: amqp, prefix } : undefined }),
    );
  }
  return extensions;
}

export interface RunSwitchboardOptions extends Omit<RunOptions, 'extensions'> {
  scope: Scope;
  env?: Environment;
  flags?: StartFlags;
}

/** Runs a hub with the extensions of its scope until it stops; resolves with the reason. */
export function runSwitchboard(config: HubConfig, options: RunSwitchboardOptions): Promise<string> {
  const { scope, env, flags, ...run } = options;
  return runHub(config, { ...run, extensions: composeExtensions(scope, config, env, flags) });
}
