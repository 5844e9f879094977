/**
 * `switchboard hub` and `switchboard start`: a hub with the capabilities of its scope, composed
 * in compose.ts. The hub's own flags come from src/hub/cli.ts; `start` adds the built-in services'
 * flags (--amqp, --http, --http-token-file), which reach them as values.
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { ENV_HELP, hubFlags, refuseSecretFlags } from '../hub/cli.js';
import { secretFlagRefused } from '../trust/secrets.js';

/** Whatever still holds the event loop (a stuck client socket) must not keep a stopped hub alive. */
function exitSoon(): void {
  setTimeout(() => process.exit(0), 3000).unref();
}

export function registerCommands(program: Command): void {
  hubFlags(program.command('hub').description('run a hub: services register with it and it routes their messages'))
    .addHelpText(
      'after',
      `${ENV_HELP}

Examples:
  switchboard hub
  switchboard hub --local-listen cd://127.0.0.1:0 --signal off
  switchboard hub --unix-listen cd:///tmp/sb.sock --signal-secret-file /etc/switchboard/signal.secret
  switchboard hub --config /etc/switchboard/hub.conf
  switchboard hub --server-name east1 --backplane nats://10.0.0.5:4222,nats://10.0.0.6:4222`,
    )
    .action(async (opts: Record<string, unknown>) => {
      const { loadConfig } = await import('../hub/config.js');
      const { CONFIG_SECTIONS, runSwitchboard } = await import('./compose.js');
      const { json, ...flags } = opts;
      refuseSecretFlags(flags);
      const { defaultTokenFile } = await import('../trust/home.js');
      try {
        await runSwitchboard(
          loadConfig({ flags, defaults: { token_file: defaultTokenFile() }, sections: CONFIG_SECTIONS }),
          {
            scope: 'hub',
            json: json === true,
          },
        );
      } finally {
        exitSoon();
      }
    });

  hubFlags(
    program
      .command('start')
      .description('run the hub with every built-in service, keeping its files under $SWITCHBOARD_HOME'),
  )
    .option('--amqp <url>', 'put the event dispatcher on RabbitMQ (also SWITCHBOARD_AMQP_URL)')
    .option('--http <addr>', 'dashboard and API address, or "off" (default 127.0.0.1:4080; also SWITCHBOARD_HTTP)')
    .option(
      '--http-token-file <file>',
      'another token the dashboard accepts (as admin), from a file; also SWITCHBOARD_HTTP_TOKEN / SWITCHBOARD_HTTP_TOKEN_FILE',
    )
    .option(
      '--http-token <secret>',
      'refused: a secret on the command line is visible to every user; use --http-token-file',
    )
    .addHelpText(
      'after',
      `${ENV_HELP}
Defaults for start: data under $SWITCHBOARD_HOME (default ~/.switchboard), the Unix socket
$SWITCHBOARD_HOME/hub.sock next to cd://127.0.0.1:4040, and the admin token in
$SWITCHBOARD_HOME/hub.token (mode 0600; the CLI and the client library use it by themselves; the
dashboard's URL carries it). Who may do what: SECURITY.md.

Examples:
  switchboard start
  SWITCHBOARD_HOME=/tmp/sb switchboard start --local-listen cd://127.0.0.1:0`,
    )
    .action(async (opts: Record<string, unknown>) => {
      const { loadConfig, switchboardHome } = await import('../hub/config.js');
      const { CONFIG_SECTIONS, runSwitchboard } = await import('./compose.js');
      const { json, amqp, http, httpToken, httpTokenFile, ...flags } = opts;
      refuseSecretFlags(flags);
      if (httpToken !== undefined)
        throw secretFlagRefused('--http-token', '--http-token-file', 'SWITCHBOARD_HTTP_TOKEN');
      // Flags over the environment, as values for the dashboard (nothing is written to process.env).
      const env = process.env;
      const httpEnv = {
        SWITCHBOARD_HTTP: typeof http === 'string' ? http : env.SWITCHBOARD_HTTP,
        SWITCHBOARD_HTTP_TOKEN: env.SWITCHBOARD_HTTP_TOKEN,
        SWITCHBOARD_HTTP_TOKEN_FILE:
          typeof httpTokenFile === 'string' ? httpTokenFile : env.SWITCHBOARD_HTTP_TOKEN_FILE,
      };
      // Before anything starts: a wrong --http / --http-token-file, or a busy --http port, fails at once.
      const { checkDashboardFlags } = await import('../dashboard/config.js');
      const dashboard = await checkDashboardFlags(httpEnv);
      const home = switchboardHome();
      const config = loadConfig({
        flags,
        defaults: {
          data_path: home,
          unix_listen: `cd://${join(home, 'hub.sock')}`,
          token_file: join(home, 'hub.token'),
        },
        sections: CONFIG_SECTIONS,
      });
      try {
        await runSwitchboard(config, {
          scope: 'start',
          json: json === true,
          env,
          flags: { amqp: typeof amqp === 'string' ? amqp : undefined, http: dashboard ?? null },
        });
      } finally {
        exitSoon();
      }
    });
}
