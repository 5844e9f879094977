/** `switchboard send` and `switchboard sniff`: talk to services on a hub and watch its traffic. */
import { Option, type Command } from 'commander';
import { hubAddressOptions } from '../cli/hub-address.js';

export function registerCommands(program: Command): void {
  hubAddressOptions(
    program
      .command('send')
      .description('send one message to a service (text line or JSON); without a message, open an interactive console')
      .argument('[message]', 'the message, e.g. \'clock/TIME zone=UTC\' or \'{"service":"clock","command":"TIME"}\''),
  )
    .option('-w, --wait', 'wait for the reply and print it')
    .option('-t, --timeout <ms>', 'how long --wait waits, in milliseconds', '5000')
    .option('--json', 'print replies as JSON lines')
    .option('--as <service>', 'register under this service name to receive replies (default send_<pid>)')
    .option(
      '-c, --secret <code>',
      "the hub's signal_secret, sent as secret_code= on UDP signals (default $SWITCHBOARD_SIGNAL_SECRET)",
    )
    .addOption(new Option('--secret-code <code>', "the same as --secret (ed-signal's name)").hideHelp())
    .option('--ca <file>', "trust this CA (PEM) for cds:// and wss:// (default $SWITCHBOARD_CA, then the system's)")
    .addHelpText(
      'after',
      `
Examples:
  switchboard send 'clock/TIME zone=UTC'
  switchboard send --wait 'clock/TIME'
  switchboard send --address cd://10.0.0.5:4042 '*/RELOAD'
  switchboard send -a cdu://127.0.0.1:4041 -c s3cret 'clock/RELOAD' # a UDP signal with the hub's secret
  switchboard send --ca ca.pem -a cds://hub.example:4043 --wait 'clock/TIME'
  switchboard send                      # interactive console: /connect URL, /disconnect, /help, /quit`,
    )
    .action(async (message: string | undefined, opts: Record<string, unknown>) => {
      const { parseSendOptions } = await import('./options.js');
      const { secretCode, ...rest } = opts;
      const options = parseSendOptions({
        ...rest,
        ...(rest.secret === undefined && secretCode !== undefined ? { secret: secretCode } : {}),
      });
      if (message === undefined) {
        const { runConsole } = await import('./console.js');
        await runConsole(options);
      } else {
        const { runSend } = await import('./send.js');
        await runSend(message, options);
      }
    });

  hubAddressOptions(program.command('sniff').description('print every message the hub routes, live, as it passes'))
    .option('-s, --service <name>', 'only messages from or to this service')
    .option('-c, --command <name>', 'only this command')
    .option('--json', 'print JSON lines (typed parameter values) instead of text lines')
    .addHelpText(
      'after',
      `
Examples:
  switchboard sniff
  switchboard sniff --service clock --json
  switchboard sniff --command STATUS`,
    )
    .action(async (opts: Record<string, unknown>) => {
      const { parseSniffOptions } = await import('./options.js');
      const { runSniff } = await import('./sniff.js');
      await runSniff(parseSniffOptions(opts));
    });
}
