/**
 * The hub-address flags every verb that talks to a hub shares: `-a, --address <url>` and the
 * communicator's own name for it, `--communicator-listen <url>` (folded into `address` before
 * the action runs). Unset, the address comes from SWITCHBOARD_ADDRESS, then COMMUNICATOR_LISTEN.
 */
import type { Command } from 'commander';

export const ADDRESS_HELP =
  'hub address: cd://127.0.0.1:4040, 127.0.0.1:4040, cd:///path.sock, cds://host:4043 (default $SWITCHBOARD_ADDRESS, then $COMMUNICATOR_LISTEN, then cd://127.0.0.1:4040)';

export function hubAddressOptions(cmd: Command, short = true): Command {
  return cmd
    .option(short ? '-a, --address <url>' : '--address <url>', ADDRESS_HELP)
    .option('--communicator-listen <url>', "the same as --address (the communicator's name for it)")
    .hook('preAction', (_self, action) => {
      const o = action.opts<{ address?: string; communicatorListen?: string }>();
      if (o.communicatorListen !== undefined) {
        if (o.address !== undefined && o.address !== o.communicatorListen)
          action.error(`--address ${o.address} and --communicator-listen ${o.communicatorListen} disagree: give one`);
        action.setOptionValue('address', o.communicatorListen);
      }
    });
}
