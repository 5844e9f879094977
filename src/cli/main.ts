/**
 * `switchboard <verb>`: one program, one verb table. Each capability contributes its verbs from
 * its own folder (`src/<capability>/cli.ts` exports `registerCommands(program)`); handlers load
 * their heavy modules lazily so `switchboard --help` stays fast.
 */
import { Command, CommanderError } from 'commander';
import { SwitchboardError } from '../core/errors.js';
import { VERB_MODULES } from './verbs.js';
import { warnOfUrlPasswords } from './url-passwords.js';

const program = new Command('switchboard')
  .description('Switchboard: start, find, talk to and watch connectors.')
  .showHelpAfterError('(add --help for usage)')
  .exitOverride();

for (const register of VERB_MODULES) register(program);
warnOfUrlPasswords(program, (text) => process.stderr.write(text));

// `switchboard data list | head`: the reader went away. Stop quietly, as Unix tools do on SIGPIPE,
// unless a long-running verb (hub, start) handles its closed output itself and keeps running.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE' && process.stdout.listenerCount('error') === 1) process.exit(0);
});

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Help and version exit 0; usage errors already printed their sentence.
    process.exitCode = err.exitCode;
  } else {
    const text =
      err instanceof SwitchboardError
        ? `${err.code}: ${err.message}`
        : err instanceof Error
          ? err.message
          : String(err);
    process.stderr.write(`switchboard: ${text}\n`);
    process.exitCode = 1;
  }
}
