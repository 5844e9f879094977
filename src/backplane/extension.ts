/**
 * The backplane as a hub extension: started by `switchboard hub` / `switchboard start` when the
 * configuration has `backplane` (NATS server URLs), attached to the hub as its remote side, like
 * the mesh (the configuration refuses asking for both).
 */
import type { HubExtension } from '../hub/extensions.js';
import type { Hub } from '../hub/hub.js';
import { meshStatusParams } from '../core/protocol/index.js';
import { backplaneConfigFromHub } from './config.js';
import type { BackplanePort } from './backplane.js';

/** The hub as the backplane sees it. */
export function hubPort(hub: Hub): BackplanePort {
  return {
    serverName: hub.serverName,
    clusterName: hub.config.clusterName,
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
  };
}

export const backplaneExtension: HubExtension = {
  name: 'backplane',
  scope: 'hub',
  async start(hub) {
    const config = backplaneConfigFromHub(hub.config, process.env, (why) => hub.log.warn(why));
    if (!config) return undefined;
    const { Backplane } = await import('./backplane.js');
    const backplane = new Backplane(hubPort(hub), config);
    await backplane.start();
    hub.attachRemote(backplane);
    // Answered on the asking connection itself, as the mesh does, so tools need not register.
    const removers = [
      hub.addCommand('CLUSTER_STATUS', (conn) => {
        for (const [command, params] of backplane.clusterStatusReplies()) hub.tell(conn, command, params);
      }),
      hub.addCommand('MESH_STATUS', (conn) =>
        hub.tell(conn, 'MESH_STATUS_REPLY', meshStatusParams(backplane.status())),
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
