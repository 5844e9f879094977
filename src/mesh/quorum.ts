/**
 * Cluster status by quorum (the communicator's rule): total = max(1, known hubs), quorum =
 * floor(total / 2) + 1, live = hubs reachable now (this one included). The cluster is UP when
 * live >= quorum and COMPLETE when every known hub is live.
 */

import type { ClusterStatus } from '../core/protocol/index.js';

export type { ClusterStatus };

export function clusterStatus(knownHubs: number, liveHubs: number): ClusterStatus {
  const total = Math.max(1, knownHubs);
  const quorum = Math.floor(total / 2) + 1;
  const live = Math.min(Math.max(1, liveHubs), total);
  return { up: live >= quorum, complete: live >= total, total, live, quorum };
}

/** The two messages a change produces, e.g. `CLUSTER_UP` and `CLUSTER_INCOMPLETE`. */
export function statusCommands(s: ClusterStatus): [string, string] {
  return [s.up ? 'CLUSTER_UP' : 'CLUSTER_DOWN', s.complete ? 'CLUSTER_COMPLETE' : 'CLUSTER_INCOMPLETE'];
}
