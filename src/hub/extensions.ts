/**
 * What plugs into a running hub: the mesh (every hub with remote links) or the NATS backplane, and built-in services
 * (sync, dispatch, dashboard, registry queries: `switchboard start` only). A capability adds its
 * extension to `HUB_EXTENSIONS` (one import + one entry, like src/cli/verbs.ts); the hub starts
 * them in order after its listeners and stops them in reverse order before closing.
 *
 * In-process services connect with `hub.connectInProcess()`: a real in-memory channel the hub
 * treats like a local connection (REGISTER, COMMANDS, messages, STATUS), so `switchboard send`
 * and `sniff` work on them like on any other service.
 */
import type { Hub } from './hub.js';
import { meshExtension } from '../mesh/extension.js';
import { backplaneExtension } from '../backplane/extension.js';
import { dispatcherService } from '../dispatch/service.js';
import { syncService } from '../sync/service.js';
import { dashboardService } from '../dashboard/extension.js';
import { discoveryAgent } from '../discovery/agent.js';

export type ExtensionScope = 'hub' | 'start';

export interface ExtensionHandle {
  /** Addresses worth printing at start-up (`dashboard http://127.0.0.1:4080`). */
  readonly addresses?: readonly { name: string; url: string }[];
  stop(): Promise<void>;
}

export interface HubExtension {
  readonly name: string;
  /** `hub`: started by `switchboard hub` and `switchboard start`; `start`: by `switchboard start` only. */
  readonly scope: ExtensionScope;
  /** Return undefined when the configuration leaves the extension off (e.g. no remote_listen). */
  start(hub: Hub): Promise<ExtensionHandle | undefined>;
}

/** A built-in service is an extension that only `switchboard start` runs. */
export type BuiltinService = HubExtension & { readonly scope: 'start' };

export const HUB_EXTENSIONS: HubExtension[] = [
  meshExtension,
  backplaneExtension,
  discoveryAgent,
  dispatcherService,
  syncService,
  dashboardService,
];
