/** `switchboard cluster-status`: is the cluster up, complete, and how does this hub route. */
import type { Command } from 'commander';
import { hubAddressOptions } from '../cli/hub-address.js';

export function registerCommands(program: Command): void {
  hubAddressOptions(
    program
      .command('cluster-status')
      .description(
        'show the hub mesh as one hub sees it: CLUSTER_UP/DOWN, COMPLETE/INCOMPLETE, hubs, routes, links, blocked addresses',
      ),
  )
    .option('--json', 'print the full status as JSON')
    .option('-t, --timeout <ms>', 'how long to wait for the hub, in milliseconds', '5000')
    .addHelpText(
      'after',
      `
Examples:
  switchboard cluster-status
  switchboard cluster-status --address cd://127.0.0.1:4040 --json`,
    )
    .action(async (opts: { address?: string; json?: boolean; timeout: string }) => {
      const { runClusterStatus } = await import('./cluster-status.js');
      await runClusterStatus(opts);
    });
}
