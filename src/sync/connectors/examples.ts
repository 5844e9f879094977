/**
 * The bundled example connectors, as manifests a user can install (`source: "Local"`): the
 * command runs the connector from this package (compiled JavaScript, or the sources through tsx).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from '../../core/errors.js';

export const EXAMPLE_CONNECTORS = {
  directory: 'a local directory tree: one object per file with path, size, modified time and SHA-256',
  'http-json': 'a paginated HTTP JSON API: one object per item (page numbers or a next link)',
} as const;
export type ExampleConnector = keyof typeof EXAMPLE_CONNECTORS;

const here = dirname(fileURLToPath(import.meta.url));

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The shell command that starts an example connector (absolute paths, so it runs from any folder). */
export function exampleCommand(name: ExampleConnector): string {
  const js = join(here, name, 'main.js');
  if (existsSync(js)) return `${shellQuote(process.execPath)} ${shellQuote(js)}`;
  const ts = join(here, name, 'main.ts');
  return `${shellQuote(process.execPath)} --import ${shellQuote(import.meta.resolve('tsx'))} ${shellQuote(ts)}`;
}

/** A c1-core manifest for an example connector. */
export function exampleManifest(name: string): {
  name: string;
  description: string;
  source: 'Local';
  uri: string;
  command: string;
} {
  if (!(name in EXAMPLE_CONNECTORS)) {
    throw new InvalidArgumentError(
      `no example connector "${name}"; there are: ${Object.keys(EXAMPLE_CONNECTORS).join(', ')}`,
    );
  }
  const example = name as ExampleConnector;
  return {
    name: example,
    description: EXAMPLE_CONNECTORS[example],
    source: 'Local',
    uri: join(here, example),
    command: exampleCommand(example),
  };
}
