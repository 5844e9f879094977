/** `switchboard send` and `switchboard sniff`: talk to services on a hub and watch its traffic. */
import type { Command } from 'commander';

export function registerCommands(program: Command): void {
  program
    .command('send')
    .description('send one message to a service (text line or JSON); without a message, open an interactive console')
    .argument('[message]', 'the message, e.g. \'clock/TIME zone=UTC\' or \'{"service":"clock","command":"TIME"}\'')
    .option('-a, --address <url>', 'hub address (default $SWITCHBOARD_ADDRESS or cd://127.0.0.1:4040)')
    .option('-w, --wait', 'wait for the reply and print it')
    .option('-t, --timeout <ms>', 'how long --wait waits, in milliseconds', '5000')
    .option('--json', 'print replies as JSON lines')
    .option('--as <service>', 'register under this service name to receive replies (default send_<pid>)')
    .addHelpText(
      'after',
      `
Examples:
  switchboard send 'clock/TIME zone=UTC'
  switchboard send --wait 'clock/TIME'
  switchboard send --address cd://10.0.0.5:4042 '*/RELOAD'
  switchboard send                      # interactive console: /connect URL, /disconnect, /help, /quit`,
    )
    .action(async (message: string | undefined, opts: Record<string, unknown>) => {
      const { parseSendOptions } = await import('./options.js');
      const options = parseSendOptions(opts);
      if (message === undefined) {
        const { runConsole } = await import('./console.js');
        await runConsole(options);
      } else {
        const { runSend } = await import('./send.js');
        await runSend(message, options);
      }
    });

  program
    .command('sniff')
    .description('print every message the hub routes, live, as it passes')
    .option('-a, --address <url>', 'hub address (default $SWITCHBOARD_ADDRESS or cd://127.0.0.1:4040)')
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
