/**
 * The mesh as a hub extension: started by `switchboard hub` / `switchboard start` when the hub's
 * configuration has `remote_listen` (cd:// plain or cds://user:pass@ TLS) or a `secure_listen`
 * with credentials; attached to the hub as its remote side. Mesh-only settings are values the
 * composition root (src/start) reads from the environment: `SWITCHBOARD_MESH_TIMINGS` (`fast`, or
 * name=ms,...) and `SWITCHBOARD_CA` (PEM file: mutual TLS on hub links).
 */
import { meshStatusParams } from '../core/protocol/index.js';
import type { HubConfig } from '../hub/config.js';
import type { HubExtension } from '../hub/context.js';
import { errorMessage, InvalidArgumentError } from '../core/errors.js';
import { loadNeighbors } from './neighbors-file.js';
import { parseNeighbor } from './neighbors.js';
import { parseTimings } from './timings.js';
import type { MeshConfig } from './mesh.js';

function hasCredentials(url: string | null): url is string {
  return url !== null && /^cds:\/\/[^@/]+@/.test(url);
}

/** What the mesh takes besides the hub's configuration. */
export interface MeshSettings {
  /** `fast`, or name=ms,... (SWITCHBOARD_MESH_TIMINGS). */
  timings?: string | undefined;
  /** PEM CA file: hub links need a certificate it signed (SWITCHBOARD_CA). */
  ca?: string | undefined;
}

export async function meshConfigFromHub(c: HubConfig, settings: MeshSettings = {}): Promise<MeshConfig | undefined> {
  const secure = hasCredentials(c.secureListen) ? c.secureListen : undefined;
  if (!c.remoteListen && !secure) return undefined;
  // Neighbors from flags / config must be right (a person typed them); neighbors.txt entries that
  // no longer parse are only logged when the mesh starts.
  for (const n of c.neighbors) {
    try {
      parseNeighbor(n);
    } catch (err) {
      throw new InvalidArgumentError(`neighbors: ${errorMessage(err)}`);
    }
  }
  const saved = await loadNeighbors(c.dataPath);
  const timings = parseTimings(settings.timings);
  if (c.maxGossipTimeoutMs !== null) {
    timings.gossipMaxMs = c.maxGossipTimeoutMs;
    timings.gossipInitialMs = Math.min(timings.gossipInitialMs, c.maxGossipTimeoutMs);
  }
  return {
    dataPath: c.dataPath,
    ...(c.remoteListen ? { remoteListen: c.remoteListen } : {}),
    ...(secure ? { secureListen: secure, secureListenShared: true } : {}),
    tls: {
      ...(c.certificate ? { certificate: c.certificate } : {}),
      ...(c.privateKey ? { privateKey: c.privateKey } : {}),
      ...(settings.ca ? { ca: settings.ca } : {}),
    },
    neighbors: [...new Set([...c.neighbors, ...saved])],
    maxConnections: c.maxConnections,
    ...(c.myAddress ? { announceHost: c.myAddress } : {}),
    timings,
  };
}

export function meshExtension(hubConfig: HubConfig, settings: MeshSettings = {}): HubExtension {
  return {
    name: 'mesh',
    start: async (hub) => {
      const config = await meshConfigFromHub(hubConfig, settings);
      if (!config) return undefined;
      const { Mesh } = await import('./mesh.js');
      const mesh = new Mesh(hub, config);
      hub.attachRemote(mesh);
      // Answered on the asking connection itself, so tools need not register (and show up cluster-wide).
      const removers = [
        hub.addCommand('CLUSTER_STATUS', (_msg, reply) => {
          for (const [command, params] of mesh.clusterStatusReplies()) reply(command, params);
        }),
        hub.addCommand('MESH_STATUS', (_msg, reply) => reply('MESH_STATUS_REPLY', meshStatusParams(mesh.status()))),
      ];
      await mesh.start();
      return {
        addresses: mesh.listenUrls().map((url) => ({ name: 'mesh', url })),
        stop: async () => {
          for (const remove of removers) remove();
          await mesh.stop();
        },
      };
    },
  };
}
