// The compose example cannot run here (no Docker engine), so check it against the real CLI:
// every switchboard command line in it must parse with the CLI's own commander definitions, every
// SWITCHBOARD_* variable must be one the CLI reads, URLs must point at services that exist, and the
// image must be the one the Dockerfile builds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { parse } from 'yaml';
import { registerCommands } from './cli.js';
import { EXAMPLES } from './examples.js';

const root = join(import.meta.dirname, '..', '..');
const compose = parse(readFileSync(join(root, 'docker', 'compose.yml'), 'utf8')) as {
  services: Record<
    string,
    {
      image?: string;
      entrypoint?: string[];
      build?: { context: string; dockerfile: string };
      command?: string[];
      environment?: Record<string, string>;
      depends_on?: Record<string, unknown>;
    }
  >;
};
const dockerfile = readFileSync(join(root, 'docker', 'Dockerfile'), 'utf8');

/** Parses argv with the CLI's definitions without running any action; returns the command and its options. */
function parseWithCli(argv: string[]): { path: string; opts: Record<string, unknown> } {
  const program = new Command('switchboard').exitOverride();
  registerCommands(program);
  let found: { path: string; opts: Record<string, unknown> } | undefined;
  const visit = (cmd: Command, path: string) => {
    cmd.exitOverride();
    cmd.configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
    if (cmd !== program)
      cmd.action(function (this: Command) {
        found = { path, opts: this.opts() };
      });
    for (const c of cmd.commands) visit(c, path ? `${path} ${c.name()}` : c.name());
  };
  visit(program, '');
  try {
    program.parse(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError)
      assert.fail(`compose command "${argv.join(' ')}" does not parse: ${err.message}`);
    throw err;
  }
  assert.ok(found, `compose command "${argv.join(' ')}" ran no switchboard verb`);
  return found;
}

/** Every environment variable the CLI's options read. */
function cliEnvVars(): Set<string> {
  const program = new Command('switchboard');
  registerCommands(program);
  const vars = new Set<string>([
    'SWITCHBOARD_LOG_LEVEL',
    'SWITCHBOARD_HOME',
    'SWITCHBOARD_CONNECTOR_TOKENS',
    'SWITCHBOARD_DATABASE_URL',
  ]);
  const visit = (cmd: Command) => {
    for (const o of cmd.options) if (o.envVar) vars.add(o.envVar);
    cmd.commands.forEach(visit);
  };
  visit(program);
  return vars;
}

void test('the Dockerfile builds an image whose entrypoint is the switchboard CLI', () => {
  assert.match(dockerfile, /^FROM node:20/m);
  assert.match(dockerfile, /ENTRYPOINT \[.*"node", "\/app\/bin\/switchboard\.js"\]/);
  assert.match(dockerfile, /npm run build/);
});

void test('compose: RabbitMQ, PostgreSQL, the dispatcher and an agent as a parallel container, all with real flags', () => {
  const s = compose.services;
  assert.match(s.rabbitmq!.image!, /^rabbitmq:/);
  assert.match(s.postgres!.image!, /^postgres:/);
  assert.equal(s.dispatcher!.build!.dockerfile, 'docker/Dockerfile');
  const image = s.dispatcher!.image!;
  const pg = s.postgres!.environment!;
  const env = cliEnvVars();
  const agents: string[] = [];
  const parallel: string[] = [];
  for (const [name, svc] of Object.entries(s)) {
    if (svc.image !== image) continue;
    if (svc.entrypoint) {
      // A connector's own container: runs a compiled example connector serving the protocol on TCP.
      const file = svc.command![0]!;
      const m = /^\/app\/dist\/dispatch\/connectors\/([a-z-]+)\.js$/.exec(file);
      assert.ok(
        m && existsSync(join(root, 'src', 'dispatch', 'connectors', `${m[1]}.ts`)),
        `${name}: ${file} is a connector the image builds`,
      );
      assert.match(
        String(svc.environment?.SWITCHBOARD_CONNECTOR_LISTEN),
        /^0\.0\.0\.0:\d+$/,
        `${name} listens for its agent`,
      );
      continue;
    }
    assert.ok(svc.command, `${name} has a command`);
    const { path, opts } = parseWithCli(svc.command);
    for (const k of Object.keys(svc.environment ?? {}))
      if (k.startsWith('SWITCHBOARD_')) assert.ok(env.has(k), `${name}: ${k} is not read by the CLI`);
    const amqpUrl = new URL(String(opts.amqp ?? svc.environment?.SWITCHBOARD_AMQP_URL));
    assert.ok(s[amqpUrl.hostname], `${name}: --amqp points at ${amqpUrl.hostname}, a service in the file`);
    assert.ok(svc.depends_on, `${name} waits for what it needs`);
    if (path === 'dispatcher') {
      const db = new URL(String(opts.database));
      assert.ok(s[db.hostname], 'the database URL names the postgres service');
      assert.equal(db.username, pg.POSTGRES_USER);
      assert.equal(db.password, pg.POSTGRES_PASSWORD);
      assert.equal(db.pathname.slice(1), pg.POSTGRES_DB);
      assert.equal(
        svc.environment?.SWITCHBOARD_DATABASE_URL,
        String(opts.database),
        'CLI commands run in the container use the same database',
      );
      const tokens = String(svc.environment?.SWITCHBOARD_CONNECTOR_TOKENS ?? '')
        .split(',')
        .map((p) => p.split(':'));
      assert.ok(tokens.length >= 1 && tokens.every((p) => p.length === 2));
    } else {
      assert.equal(path, 'agent');
      agents.push(String(opts.kind));
      if (opts.connect !== undefined) {
        // The parallel container: the agent's --connect names a connector service listening on that port.
        const target = new URL(String(opts.connect));
        const conn = s[target.hostname];
        assert.ok(conn, `${name}: --connect names the service ${target.hostname}`);
        assert.equal(String(conn.environment?.SWITCHBOARD_CONNECTOR_LISTEN), `0.0.0.0:${target.port}`);
        assert.ok(svc.depends_on![target.hostname], `${name} starts after its connector`);
        parallel.push(name);
      } else
        assert.ok(
          (EXAMPLES as readonly string[]).includes(String(opts.example)),
          `${name}: --example ${String(opts.example)} exists`,
        );
      // The agent's token must be one the dispatcher accepts for its kind.
      const accepted = String(s.dispatcher!.environment!.SWITCHBOARD_CONNECTOR_TOKENS).split(',');
      assert.ok(
        accepted.includes(`${String(opts.kind)}:${svc.environment!.SWITCHBOARD_AGENT_TOKEN}`),
        `${name}: its token is accepted for kind ${String(opts.kind)}`,
      );
    }
  }
  assert.ok(agents.includes('webhook'), 'a webhook connector with its agent');
  assert.ok(parallel.length >= 1, 'a connector with its agent as a parallel container');
});

void test('the example trigger in docker/triggers is valid', async () => {
  const { parseTriggers } = await import('./trigger/parse.js');
  const specs = parseTriggers(readFileSync(join(root, 'docker', 'triggers', 'example.yml'), 'utf8'), 'example.yml');
  assert.equal(specs[0]!.when.kind, 'webhook');
});
