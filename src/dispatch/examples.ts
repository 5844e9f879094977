/** The bundled example connectors, runnable with `switchboard agent --example NAME`. */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from '../core/errors.js';

export const EXAMPLES = ['webhook', 'timer', 'http-request', 'upper'] as const;
export type ExampleName = (typeof EXAMPLES)[number];

/** The settings each example reads from its environment: `--example` passes these through from the agent's. */
export const EXAMPLE_ENV: Record<ExampleName, string[]> = {
  webhook: ['WEBHOOK_HOST', 'WEBHOOK_PORT'],
  timer: ['TIMER_INTERVAL_MS'],
  'http-request': ['HTTP_REQUEST_TIMEOUT_MS'],
  upper: [],
};

const here = dirname(fileURLToPath(import.meta.url));

/** The command line that runs an example connector (from the compiled tree, or the sources through tsx). */
export function exampleCommand(name: string): string[] {
  if (!(EXAMPLES as readonly string[]).includes(name))
    throw new InvalidArgumentError(`no example connector "${name}"; there are: ${EXAMPLES.join(', ')}`);
  const dir = join(here, 'connectors');
  // The build copies the .py file beside the compiled connectors.
  if (name === 'upper') return [process.env.PYTHON ?? 'python3', join(dir, 'upper.py')];
  const js = join(dir, `${name}.js`);
  if (existsSync(js)) return [process.execPath, js];
  // Resolved here, so the connector starts whatever the working directory is.
  return [process.execPath, '--import', import.meta.resolve('tsx'), join(dir, `${name}.ts`)];
}
