/**
 * The templates `switchboard connector new` and `switchboard agent new` write: one folder each
 * under `templates/` (data files, shipped with the package's sources), keyed by what is made and
 * in which language.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type TemplateKind = 'connector' | 'agent';

export interface Template {
  /** Folder under `templates/`. */
  folder: string;
  /** One line for `--help` and the summary `new` prints. */
  description: string;
  /** The commands to run in the new folder to try it (the README says more). */
  firstSteps: (name: string) => string[];
  /** Extra files copied from the package (target path -> path relative to this module's folder). */
  extras?: Record<string, string>;
  /** An npm project that depends on switchboard (`{{switchboard}}`): a tarball of it goes into vendor/. */
  npm?: boolean;
}

export const TEMPLATES: Record<TemplateKind, Record<string, Template>> = {
  connector: {
    ts: {
      folder: 'connector-ts',
      npm: true,
      description: 'TypeScript, on the switchboard/sync SDK (go-plugin gRPC); built with tsc',
      firstSteps: (name) => [
        `cd ${name} && npm install && npm test && cd ..`,
        `switchboard connector install ./${name}`,
        `switchboard account add --connector ${name} --name a --options '{}'`,
        'switchboard sync a',
      ],
    },
    go: {
      folder: 'connector-go',
      description: "Go, on HashiCorp's go-plugin (gRPC), as c1-core's connectors; built offline in GOPATH mode",
      firstSteps: (name) => [
        `sh ${name}/build.sh test`,
        `switchboard connector install ./${name}`,
        `switchboard account add --connector ${name} --name a --options '{}'`,
        'switchboard sync a',
      ],
      extras: { 'connector.proto': '../sync/proto/connector.proto' },
    },
    python: {
      folder: 'connector-python',
      description:
        'Python 3, standard library only: an Airbyte source (spec, check, discover, read), read incrementally',
      firstSteps: (name) => [
        `python3 -m unittest discover -s ${name}`,
        `switchboard connector install ./${name}`,
        `switchboard account add --connector ${name} --name a --options '{}'`,
        'switchboard sync a',
      ],
    },
  },
  agent: {
    ts: {
      folder: 'agent-ts',
      npm: true,
      description: 'TypeScript, on the switchboard/dispatch SDK (JSON lines on stdin/stdout)',
      firstSteps: (name) => [
        `cd ${name} && npm install && npm test && cd ..`,
        `switchboard agent --kind ${name} -- node ${name}/dist/main.js`,
      ],
    },
    python: {
      folder: 'agent-python',
      description: 'Python 3, standard library only (JSON lines on stdin/stdout)',
      firstSteps: (name) => [
        `python3 -m unittest discover -s ${name}`,
        `switchboard agent --kind ${name} -- python3 ${name}/main.py`,
      ],
    },
    shell: {
      folder: 'agent-shell',
      description: 'POSIX sh (JSON lines on stdin/stdout)',
      firstSteps: (name) => [`sh ${name}/test.sh`, `switchboard agent --kind ${name} -- sh ${name}/main.sh`],
    },
  },
};

/** The languages of a kind, for `--lang` and its error message. */
export function languages(kind: TemplateKind): string[] {
  return Object.keys(TEMPLATES[kind]);
}

const here = dirname(fileURLToPath(import.meta.url));

/** The package's root (`src/kit` or the compiled `dist/kit`, two up): its package.json. */
export const PACKAGE_ROOT = join(here, '..', '..');

/** Next to this module: `src/kit/templates`, or its copy in `dist/kit/templates` (scripts/build.mjs). */
export function templatesDir(): string {
  const dir = join(here, 'templates');
  if (!existsSync(dir))
    throw new Error(`the connector templates are missing from ${dir}: reinstall the switchboard package`);
  return dir;
}

/** A data file of the package, by its path relative to this module's folder (e.g. the sync proto). */
export function packageFile(relativePath: string): string {
  return join(here, relativePath);
}
