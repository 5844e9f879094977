/**
 * The hub's flags (shared by `switchboard hub` and `switchboard start`, which src/start registers:
 * it composes the capabilities a hub runs) and `switchboard services`.
 */
import type { Command } from 'commander';
import { hubAddressOptions } from '../cli/hub-address.js';
import { secretFlagRefused } from '../trust/secrets.js';

export function hubFlags(cmd: Command): Command {
  return cmd
    .option(
      '--server-name <name>',
      'this hub\'s name, lower case, "-" -> "_", up to the first "." (default: the host name)',
    )
    .option('--my-address <ip>', 'the IP other hubs reach this one at (default: the --remote-listen address)')
    .option('--local-listen <url>', 'loopback TCP for local services, or "off" (default cd://127.0.0.1:4040)')
    .option('--unix-listen <url>', 'Unix socket, e.g. cd:///run/switchboard.sock (or the bare path), or "off"')
    .option('--secure-listen <url>', 'TLS listener, e.g. cds://0.0.0.0:4043 (needs --certificate and --private-key)')
    .option('--certificate <file>', 'PEM certificate for --secure-listen')
    .option('--private-key <file>', 'PEM private key for --secure-listen')
    .option(
      '--client-ca <file>',
      'PEM CA: --secure-listen accepts only clients with a certificate it signed (mutual TLS)',
    )
    .option('--signal <url>', 'UDP signals, or "off" (default cdu://127.0.0.1:4041)')
    .option(
      '--signal-secret-file <file>',
      'datagrams must carry secret_code=<the secret in this file> (or SWITCHBOARD_SIGNAL_SECRET)',
    )
    .option(
      '--signal-secret <secret>',
      'refused: a secret on the command line is visible to every user; use --signal-secret-file',
    )
    .option(
      '--local-trust <mode>',
      '"roles" (default: identities and roles decide) or "full" (every local connection may do anything)',
    )
    .option(
      '--token-file <file>',
      'the admin token file, written 0600 when absent (default $SWITCHBOARD_HOME/hub.token), or "off"',
    )
    .option(
      '--unix-group <group>',
      'let this group use the Unix socket (mode 0660); its connections get the local role',
    )
    .option('--ws-listen <url>', 'WebSocket listener, e.g. ws://127.0.0.1:4044/')
    .option('--remote-listen <url>', 'hub-to-hub listener on a private address, e.g. cd://10.0.0.5:4042 (mesh)')
    .option('--neighbors <list>', 'other hubs to link with, ip:port, comma separated (mesh)')
    .option('--max-gossip-timeout <duration>', 'longest wait between GOSSIP attempts: 3600, 1h, 30m (default 1h)')
    .option('--max-connections <n>', 'most stream connections at once, 5..10000 (default 100)')
    .option(
      '--max-names-per-connection <n>',
      'new service names one connection may register (each is remembered; default 100)',
    )
    .option('--max-pending-connections <n>', "listen backlog, clamped to 5..1000 (default: the system's)")
    .option('--data-path <dir>', 'where the hub keeps its files (default $SWITCHBOARD_HOME)')
    .option('--services <list>', 'services known before they register: their messages are cached')
    .option('--max-queued-bytes <n>', 'outbound queue per connection before messages are dropped (default 8 MiB)')
    .option(
      '--max-cache-bytes <n>',
      'bytes of messages kept for services that are not connected, in all (default 128 MiB; the oldest go first)',
    )
    .option('--max-service-cache-bytes <n>', 'the same for one service (default 32 MiB)')
    .option('--max-line-length <n>', 'longest accepted line in bytes (default 1 MiB)')
    .option('--slow-consumer-timeout <ms>', 'close a connection whose queue stays full this long (default 10000)')
    .option(
      '--first-message-timeout <ms>',
      'close a connection that sends no valid message this long after connecting (default 30000; 0 = never)',
    )
    .option('--debug-all-messages', 'log every message the hub routes (costs what a sniffer costs)')
    .option(
      '--cluster-name <name>',
      'the cluster this hub belongs to (discovery: kind service stays inside it, exposed endpoints are kind cluster)',
    )
    .option(
      '--discovery <json>',
      'discovery section: {"expose":{"api":"app/default"},"policies":{"default":{"timeoutMs":2000}}}',
    )
    .option(
      '--backplane <urls>',
      'NATS servers, e.g. nats://10.0.0.5:4222,10.0.0.6:4222: hubs on one NATS cluster share their services (instead of the mesh)',
    )
    .option('--backplane-namespace <name>', 'subject prefix shared by the hubs of one backplane (default switchboard)')
    .option(
      '--backplane-replicas <n>',
      'JetStream replicas of the backplane message cache, 1..5 or auto (default auto)',
    )
    .option(
      '--backplane-credentials <file>',
      'NATS credentials for the backplane: a .creds file, or JSON {"user","password"} / {"token"}',
    )
    .option(
      '--config <file>',
      'the same keys in a file: JSON, or key=value lines like communicatord.conf; then <name>.d/*.conf overrides',
    )
    .option('--json', 'print the addresses as one JSON line');
}

export const ENV_HELP = `
Every key can also come from the environment as SWITCHBOARD_<KEY> (SWITCHBOARD_LOCAL_LISTEN,
SWITCHBOARD_MAX_CONNECTIONS, ...). Precedence: flags > environment > --config file > defaults.
The communicator's communicatord.conf runs as is: addresses may be bare (127.0.0.1:4040, a socket
path), and the files of its override folder (communicator.d/*.conf beside communicatord.conf, or
<name>.d/*.conf beside any file) are merged in name order.
Listeners accept port 0 (a free port; the real address is printed).
Secrets come from files or the environment, never from the command line (every user sees it).
Unauthenticated loopback connections get the "local" role: they register ordinary names and send
messages, but may not STOP, SHUTDOWN, FORGET or SNIFF (the admin token may; see SECURITY.md).`;

/** `--signal-secret S` would show S in `ps`: refused with what to do instead. */
export function refuseSecretFlags(flags: Record<string, unknown>): void {
  if (flags.signalSecret !== undefined)
    throw secretFlagRefused('--signal-secret', '--signal-secret-file', 'SWITCHBOARD_SIGNAL_SECRET');
}

export function registerCommands(program: Command): void {
  hubAddressOptions(
    program
      .command('services')
      .description('list the services registered with a hub: instances, commands, status, since when'),
    false,
  )
    .option('--timeout <ms>', 'how long to wait for the hub (default 5000)')
    .option('--json', 'print the list as JSON')
    .addHelpText(
      'after',
      `
Examples:
  switchboard services
  switchboard services --json --address cd:///tmp/sb.sock`,
    )
    .action(async (opts: { address?: string; json?: boolean; timeout?: string }) => {
      const { runServices } = await import('./services-cmd.js');
      await runServices(opts);
    });
}
