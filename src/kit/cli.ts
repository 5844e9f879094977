/**
 * `switchboard connector new NAME [--lang ts|go|python] [--dir DIR]` and
 * `switchboard agent new NAME [--lang ts|python|shell] [--dir DIR]`: a folder with a manifest
 * (connectors), the code, a README and a test, that works with no edit. Registered after the sync
 * and dispatch verbs, into their `connector` group and under their `agent` command.
 */
import { InvalidArgumentError as UsageError, type Command } from 'commander';
import { languages, TEMPLATES, type TemplateKind } from './templates.js';

interface NewOpts {
  lang: string;
  dir?: string;
  switchboard?: string;
}

function langOption(kind: TemplateKind) {
  return (value: string): string => {
    if (!(value in TEMPLATES[kind]))
      throw new UsageError(`--lang takes one of ${languages(kind).join(', ')} (got ${JSON.stringify(value)})`);
    return value;
  };
}

function addNew(parent: Command, kind: TemplateKind, what: string): Command {
  const langs = Object.entries(TEMPLATES[kind])
    .map(([lang, t]) => `  ${lang.padEnd(7)} ${t.description}`)
    .join('\n');
  return parent
    .command('new')
    .description(`write a new ${what} into ./NAME: the code, its README and a test, working as it is`)
    .argument('<name>', `the ${kind === 'agent' ? "connector's kind" : "connector's name"} and folder name`)
    .option('--lang <lang>', `language: ${languages(kind).join(', ')}`, langOption(kind), 'ts')
    .option('--dir <dir>', 'where to create the NAME folder (default: the current folder)')
    .option(
      '--switchboard <spec>',
      'how a TypeScript template depends on switchboard: a tarball, a path, a git URL (default: this package, by path)',
    )
    .addHelpText('after', `\nTemplates:\n${langs}\n`)
    .action(async (name: string, opts: NewOpts) => {
      const { scaffold } = await import('./scaffold.js');
      const result = await scaffold({
        kind,
        name,
        lang: opts.lang,
        ...(opts.dir ? { dir: opts.dir } : {}),
        ...(opts.switchboard ? { switchboard: opts.switchboard } : {}),
      });
      const out = (line: string) => process.stdout.write(`${line}\n`);
      out(`created ${result.dir} (${kind}, ${opts.lang}):`);
      for (const file of result.files) out(`  ${file}`);
      out(`\nTry it (from ${opts.dir ?? 'this folder'}; ${name}/README.md says more):`);
      for (const step of result.firstSteps) out(`  ${step}`);
    });
}

/**
 * `agent` is the dispatch capability's verb (`switchboard agent --kind K -- command...`), with a
 * required `--kind`; commander checks a parent's required options for its subcommands too, so the
 * check moves into a hook that runs only for `agent` itself. A `new` after `--` is the name of a
 * program to run, not this subcommand.
 */
function addAgentNew(program: Command): void {
  const agent = program.commands.find((c) => c.name() === 'agent');
  if (!agent) return;
  const kind = agent.options.find((o) => o.long === '--kind');
  if (kind?.mandatory) {
    kind.mandatory = false;
    agent.hook('preAction', (self, actionCommand) => {
      if (actionCommand === agent && self.getOptionValue('kind') === undefined)
        self.error(`error: required option '${kind.flags}' not specified`, {
          code: 'commander.missingMandatoryOptionValue',
        });
    });
  }
  const cmd = addNew(agent, 'agent', 'event connector (run it with switchboard agent --kind NAME -- <command>)');
  cmd.hook('preAction', () => {
    const raw = process.argv;
    const at = raw.indexOf('agent');
    const dashes = raw.indexOf('--', at);
    if (dashes !== -1 && dashes < raw.indexOf('new', at))
      cmd.error(
        'error: after -- comes the connector command; a program called "new" is run as ./new (switchboard agent new NAME makes a connector)',
      );
  });
}

export function registerCommands(program: Command): void {
  const connector =
    program.commands.find((c) => c.name() === 'connector') ?? program.command('connector').description('connectors');
  addNew(connector, 'connector', 'sync connector (install it with switchboard connector install ./NAME)');
  addAgentNew(program);
}
