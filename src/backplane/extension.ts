/**
 * The backplane as a hub extension: started by `switchboard hub` / `switchboard start` when the
 * configuration has `backplane` (NATS server URLs), attached to the hub as its remote side, like
 * the mesh (the configuration refuses asking for both). Its credentials and timings may come from
 * the environment (SWITCHBOARD_BACKPLANE_*, SWITCHBOARD_CA): the composition root passes them.
 */
import type { HubConfig } from '../hub/config.js';
import type { HubContext, HubExtension } from '../hub/context.js';
import { meshStatusParams } from '../core/protocol/index.js';
import { backplaneConfigFromHub } from './config.js';
import type { BackplanePort } from './backplane.js';

/** The hub as the backplane sees it. */
export function hubPort(hub: HubContext, clusterName: string | null): BackplanePort {
  return {
    serverName: hub.serverName,
    clusterName,
    localServices: () => {
      const out = [];
      for (const s of hub.services.all())
        if (s.up)
          out.push({
            name: s.name,
            since: Math.floor(s.upSince / 1000),
            instances: s.instances.map((i) => i.instance),
          });
      return out;
    },
    instancesOf: (name) => hub.services.get(name)?.instances.map((i) => i.instance) ?? [],
    knownServices: () => [...hub.services.all()].map((s) => s.name),
    deliverLocal: (msg) => hub.deliverLocal(msg),
    notifyLocal: (msg) => hub.notifyLocal(msg),
    requestStop: (reason) => hub.requestStop(reason),
    clusterCommands: hub.clusterCommands,
  };
}

/** `env`: the SWITCHBOARD_BACKPLANE_* and SWITCHBOARD_CA values (see config.ts), read by the caller. */
export function backplaneExtension(
  hubConfig: HubConfig,
  env: Readonly<Record<string, string | undefined>> = {},
): HubExtension {
  return {
    name: 'backplane',
    start: async (hub) => {
      const config = backplaneConfigFromHub(hubConfig, env, (why) => hub.log.warn(why));
      if (!config) return undefined;
      const { Backplane } = await import('./backplane.js');
      const backplane = new Backplane(hubPort(hub, hubConfig.clusterName), config);
      await backplane.start();
      hub.attachRemote(backplane);
      // Answered on the asking connection itself, as the mesh does, so tools need not register.
      const removers = [
        hub.addCommand('CLUSTER_STATUS', (_msg, reply) => {
          for (const [command, params] of backplane.clusterStatusReplies()) reply(command, params);
        }),
        hub.addCommand('MESH_STATUS', (_msg, reply) =>
          reply('MESH_STATUS_REPLY', meshStatusParams(backplane.status())),
        ),
      ];
      return {
        addresses: [{ name: 'backplane', url: `${backplane.address} (namespace ${config.namespace})` }],
        stop: async () => {
          for (const remove of removers) remove();
          await backplane.stop();
        },
      };
    },
  };
}
