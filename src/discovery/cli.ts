/** `switchboard peers <kind> <name> [endpoint]`: the peers discovery sees, once or as they change. */
import type { Command } from 'commander';
import { hubAddressOptions } from '../cli/hub-address.js';
import type { PeersCliOptions } from './cli-run.js';

export function registerCommands(program: Command): void {
  hubAddressOptions(
    program
      .command('peers')
      .description(
        'list the peers of a service, cluster, database or queue from the hub registry (cluster-wide); --watch follows changes',
      )
      .argument('<kind>', 'service | cluster | database | queue')
      .argument('<name>', 'the service (or cluster, database, queue) name')
      .argument('[endpoint]', 'endpoint name', 'default'),
  )
    .option('--json', 'print the peer map as JSON (one line per change with --watch)')
    .option('-w, --watch', 'keep running and print the map on every change (Ctrl-C stops)')
    .addHelpText(
      'after',
      `
Peers come from the hub's discovery agent; with $SWITCHBOARD_PEERS_OVERRIDE set (JSON
{"service":{"<name>":{"<endpoint>":{"<id>":{"address":"...","port":N}}}}}) from there instead.

Examples:
  switchboard peers service app
  switchboard peers service app admin --json
  switchboard peers service app --watch --address cd://127.0.0.1:4040`,
    )
    .action(async (kind: string, name: string, endpoint: string, opts: PeersCliOptions) => {
      const { runPeers } = await import('./cli-run.js');
      await runPeers(kind, name, endpoint, opts);
    });
}
