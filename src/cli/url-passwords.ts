/**
 * Every verb that takes a URL (`--amqp`, `--database`, ...) warns once on stderr when the URL
 * given on the command line carries a password: `ps` and /proc show it to every user of the
 * machine. A URL from the environment is not warned about. One hook on the program covers every
 * verb, including those added later.
 */
import type { Command } from 'commander';
import { urlPasswordWarning } from '../trust/secrets.js';

/** Where a URL flag's value belongs when the flag itself names no environment variable. */
const URL_VARIABLES: Record<string, string> = {
  '--amqp': 'SWITCHBOARD_AMQP_URL',
  '--database': 'SWITCHBOARD_DATABASE_URL',
  '--management': 'SWITCHBOARD_RABBITMQ_MANAGEMENT_URL',
};

/** The warnings for the URL flags `action` was given on its command line with a password. */
export function urlPasswordWarnings(action: Command): string[] {
  const warnings: string[] = [];
  for (const option of action.options) {
    const key = option.attributeName();
    if (action.getOptionValueSource(key) !== 'cli') continue;
    const raw: unknown = action.getOptionValue(key);
    const values = (Array.isArray(raw) ? raw : [raw]).filter((v): v is string => typeof v === 'string');
    const flag = option.long ?? option.flags;
    const variable = option.envVar ?? URL_VARIABLES[flag];
    const instead = variable ? `set ${variable} instead` : 'put it in a config file or the environment instead';
    for (const value of values) {
      const warning = urlPasswordWarning(flag, value, instead);
      if (warning) {
        warnings.push(warning);
        break;
      }
    }
  }
  return warnings;
}

export function warnOfUrlPasswords(program: Command, write: (text: string) => void): void {
  program.hook('preAction', (_self, action) => {
    for (const warning of urlPasswordWarnings(action)) write(`switchboard: warning: ${warning}\n`);
  });
}
