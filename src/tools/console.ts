/**
 * `switchboard send` without a message: an interactive console. Lines are messages; `/connect URL`,
 * `/disconnect`, `/help`, `/quit` drive the connection. Messages that arrive are printed as they come.
 */
import { createInterface } from 'node:readline';
import { errorMessage } from '../core/errors.js';
import { connect, type SwitchboardClient } from '../client/index.js';
import { channelOptions, checkedAddress, withSecret, type SendOptions } from './options.js';
import { formatMessage, parseTypedMessage, separatorHints } from './message-line.js';

const HELP = `Type a message and press Enter, e.g.  clock/TIME zone=UTC   or a JSON object line.
  /connect [URL]   connect (default: the --address given)
  /disconnect      close the connection
  /help            this text
  /quit            leave (Ctrl-D works too)`;

export async function runConsole(
  options: SendOptions,
  input: NodeJS.ReadableStream = process.stdin,
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  const rl = createInterface({
    input,
    output: out,
    terminal: (input as { isTTY?: boolean }).isTTY === true,
    prompt: 'switchboard> ',
  });
  // Take the iterator now: lines typed (or piped) while the first connection opens must not be lost.
  const lines = rl[Symbol.asyncIterator]();
  const print = (text: string) => out.write(`${text}\n`);
  let hub: SwitchboardClient | undefined;
  const name = options.as ?? `console_${process.pid}`;

  const open = async (url: string) => {
    hub?.dispose();
    hub = undefined;
    const client = await connect(url, { reconnect: false, ...channelOptions(options) });
    client.onMessage((m) => {
      if (m.command !== 'HELP' && m.command !== 'READY') print(`< ${formatMessage(m, options.json, false)}`);
    });
    client.onState((s) => {
      if (s.status === 'disconnected') print(`! disconnected: ${s.reason.message}`);
    });
    await client.register(name);
    hub = client;
    print(`connected to ${url} as ${name}`);
  };

  const handle = async (line: string): Promise<boolean> => {
    const text = line.trim();
    if (text === '') return true;
    if (text.startsWith('/')) {
      const [verb, arg] = text.split(/\s+/, 2);
      switch (verb) {
        case '/quit':
        case '/exit':
          return false;
        case '/help':
          print(HELP);
          return true;
        case '/disconnect':
          if (hub) {
            hub.dispose();
            hub = undefined;
            print('disconnected');
          } else print('not connected');
          return true;
        case '/connect':
          await open(checkedAddress(arg ?? options.address));
          return true;
        default:
          print(`unknown console command ${verb}; try /help`);
          return true;
      }
    }
    if (!hub || hub.state.status === 'closed' || hub.state.status === 'disconnected') {
      print('not connected: use /connect URL');
      return true;
    }
    const typed = parseTypedMessage(text);
    for (const hint of separatorHints(text, typed)) print(`note: ${hint}`);
    const sent = hub.send(withSecret(typed, options));
    print(sent ? '> sent' : '! dropped (outbound queue full)');
    return true;
  };

  print('Switchboard console; /help for commands.');
  try {
    await open(options.address);
  } catch (err) {
    print(`! ${errorMessage(err)}`);
  }
  rl.prompt();
  try {
    for (;;) {
      const next = await lines.next();
      if (next.done) break;
      const line: string = next.value;
      let keep = true;
      try {
        keep = await handle(line);
      } catch (err) {
        print(`! ${errorMessage(err)}`);
      }
      if (!keep) break;
      rl.prompt();
    }
  } finally {
    rl.close();
    hub?.dispose();
  }
}
