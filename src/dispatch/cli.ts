/**
 * Verbs of the event dispatcher: `trigger add|list|remove|enable|disable|log`, `dispatcher`,
 * `agent`, `agents`, and `connector token` (added to the sync capability's `connector` group).
 * Handlers load their modules lazily so `switchboard --help` stays fast.
 */
import { Option, type Command } from 'commander';
import { InvalidArgumentError } from '../core/errors.js';
import { printTable } from '../cli/table.js';
import type { JsonValue } from '../core/message.js';
import type { DispatchDb } from './dispatcher/db.js';
import { EXECUTION_STATUSES, type ExecutionStatus } from './dispatcher/types.js';
import type { BrokerUser } from './transport/broker-user.js';

const dbOptions = (cmd: Command): Command =>
  cmd
    .option(
      '--database <url>',
      'PostgreSQL URL or SQLite path (default: SQLite under $SWITCHBOARD_HOME)',
      process.env.SWITCHBOARD_DATABASE_URL,
    )
    .option('--home <dir>', 'data directory (default $SWITCHBOARD_HOME or ~/.switchboard)');

interface DbOpts {
  database?: string;
  home?: string;
}

async function withDb<T>(opts: DbOpts, fn: (db: DispatchDb) => Promise<T>): Promise<T> {
  const { openDispatchDb } = await import('./open.js');
  const { db, close } = await openDispatchDb(opts);
  try {
    return await fn(db);
  } finally {
    await close();
  }
}

/** Waits for SIGINT/SIGTERM, then runs `stop` once. */
function untilSignal(stop: () => Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const on = (sig: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      process.stderr.write(`switchboard: ${sig}: stopping\n`);
      void stop()
        .catch((err: unknown) => {
          process.stderr.write(`switchboard: stopping failed: ${err instanceof Error ? err.message : String(err)}\n`);
          process.exitCode = 1;
        })
        .finally(() => resolve());
    };
    process.once('SIGINT', on);
    process.once('SIGTERM', on);
  });
}

/** `kind:token` lines (blank lines and # comments skipped), from a file other users should not read. */
async function readTokenList(file: string): Promise<string[]> {
  const { readFile, stat } = await import('node:fs/promises');
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new InvalidArgumentError(`--allow-tokens-file: cannot read ${file}: ${err.code ?? err.message}`);
  });
  if (((await stat(file)).mode & 0o077) !== 0)
    process.stderr.write(`switchboard: warning: ${file} can be read by other users; chmod 600 it\n`);
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

function describeTarget(t: { kind?: string; connector?: string; sync?: string }): string {
  if (t.sync !== undefined) return `sync:${t.sync}`;
  return t.kind !== undefined ? `kind:${t.kind}` : `connector:${t.connector ?? '?'}`;
}

function registerTrigger(program: Command): void {
  const trigger = program
    .command('trigger')
    .description('event triggers: when a connector emits an event, run a task on another')
    .addHelpText(
      'after',
      `
A trigger file (YAML or JSON; one trigger, a list, or { triggers: [...] }):
  name: big-order
  when: { kind: webhook, event: request }          # or connector: ID; event may be "*"
  filters: [ { path: body.amount, op: gte, value: 100 } ]   # eq ne gt gte lt lte in include exists regex
  then: { kind: http-request, task: request, inputs: { url: "http://x/", body: { $ref: data.body } },
          attempts: 3, backoff: 2s, timeout: 30s,   # tries in all, the wait before the next (doubling), each try's limit
          emit: notified }                           # its outputs become the event "notified" (a chain; 10 hops at most)`,
    );

  dbOptions(
    trigger
      .command('add')
      .argument('<file>', 'YAML or JSON file with one trigger, a list, or { triggers: [...] }')
      .description('validate a trigger file and store its triggers (errors name the line and field)')
      .option('--replace', 'replace triggers with the same name')
      .option('--check', 'only validate the file'),
  ).action(async (file: string, opts: DbOpts & { replace?: boolean; check?: boolean }) => {
    const { readTriggerFile } = await import('./trigger/file.js');
    const specs = await readTriggerFile(file);
    if (opts.check) {
      process.stdout.write(`${file}: ${specs.length} valid trigger(s): ${specs.map((s) => s.name).join(', ')}\n`);
      return;
    }
    const r = await withDb(opts, (db) => db.addTriggers(specs, opts.replace));
    for (const n of r.added) process.stdout.write(`added trigger ${n}\n`);
    for (const n of r.replaced) process.stdout.write(`replaced trigger ${n}\n`);
  });

  dbOptions(trigger.command('list').description('list triggers').option('--json', 'print JSON')).action(
    async (opts: DbOpts & { json?: boolean }) => {
      const list = await withDb(opts, (db) => db.listTriggers());
      if (opts.json) {
        process.stdout.write(
          `${JSON.stringify(
            list.map((t) => ({ ...t.spec, enabled: t.enabled, createdAt: t.createdAt, updatedAt: t.updatedAt })),
            null,
            2,
          )}\n`,
        );
        return;
      }
      if (!list.length) {
        process.stdout.write('no triggers (add one with `switchboard trigger add FILE`)\n');
        return;
      }
      printTable(
        ['NAME', 'ENABLED', 'WHEN', 'EVENT', 'FILTERS', 'THEN', 'TASK'],
        list.map((t) => [
          t.name,
          t.enabled ? 'yes' : 'no',
          describeTarget(t.spec.when),
          t.spec.when.event,
          String(t.spec.filters.length),
          describeTarget(t.spec.then),
          t.spec.then.task ?? '',
        ]),
        80,
      );
    },
  );

  for (const [verb, what] of [
    ['remove', 'delete'],
    ['enable', 'enable'],
    ['disable', 'disable'],
  ] as const) {
    dbOptions(trigger.command(verb).argument('<name>', 'trigger name').description(`${what} a trigger`)).action(
      async (name: string, opts: DbOpts) => {
        await withDb(opts, (db) =>
          verb === 'remove' ? db.removeTrigger(name) : db.setTriggerEnabled(name, verb === 'enable'),
        );
        process.stdout.write(`${verb === 'remove' ? 'removed' : `${verb}d`} trigger ${name}\n`);
      },
    );
  }

  dbOptions(
    trigger
      .command('log')
      .description('the execution log: event, trigger, task, tries, outputs or error, timings')
      .option('--json', 'print JSON')
      .option('--limit <n>', 'how many, newest first', '20')
      .option('--trigger <name>', 'only this trigger')
      .addOption(new Option('--status <status>', 'only executions in this state').choices([...EXECUTION_STATUSES])),
  ).action(async (opts: DbOpts & { json?: boolean; limit: string; trigger?: string; status?: ExecutionStatus }) => {
    const rows = await withDb(opts, (db) =>
      db.listExecutions({
        limit: Math.max(1, Number(opts.limit) || 20),
        trigger: opts.trigger,
        ...(opts.status ? { status: opts.status } : {}),
      }),
    );
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      return;
    }
    if (!rows.length) {
      process.stdout.write('no executions yet\n');
      return;
    }
    printTable(
      ['ID', 'TIME', 'TRIGGER', 'EVENT', 'TARGET', 'TASK', 'STATUS', 'TRY', 'MS', 'OUTPUT/ERROR'],
      rows.map((x) => [
        x.id,
        x.dispatchedAt,
        x.trigger,
        `${x.eventConnector}/${x.eventKey}`,
        x.runId === null ? x.target : `${x.target} run ${x.runId}`,
        x.task,
        x.status === 'retrying' && x.dueAt ? `retrying at ${x.dueAt.slice(11, 19)}` : x.status,
        `${x.attempt}/${x.maxAttempts}`,
        x.durationMs === null ? '' : String(x.durationMs),
        x.error ?? (x.outputs ? JSON.stringify(x.outputs) : ''),
      ]),
      80,
    );
  });

  dbOptions(
    trigger
      .command('replay')
      .argument('[id...]', 'executions to replay (from `trigger log --status failed`), or dead letters with --dead')
      .description(
        "run failed executions again, each with its trigger's tries (a running dispatcher sends them within a second); with --dead, send dead-lettered messages back to the dispatcher",
      )
      .option('--trigger <name>', 'every failed execution of this trigger')
      .option('--all', 'every failed execution (with --dead: every dead letter)')
      .option('--since <duration>', 'only executions dispatched within this long, e.g. 1h')
      .option('--limit <n>', 'most replayed at once', '1000')
      .option('--dry-run', 'say what would be replayed, change nothing')
      .option('--dead', "replay dead letters (RabbitMQ's <prefix>.dead) instead of executions")
      .addOption(new Option('--amqp <url>', 'with --dead: the RabbitMQ URL').env('SWITCHBOARD_AMQP_URL'))
      .addOption(
        new Option('--prefix <prefix>', 'with --dead: RabbitMQ queue/exchange name prefix')
          .default('switchboard')
          .env('SWITCHBOARD_AMQP_PREFIX'),
      )
      .option('--json', 'print JSON')
      .addHelpText(
        'after',
        `
Examples:
  switchboard trigger log --status failed          # the ids
  switchboard trigger replay 0194f3c2-...          # one execution
  switchboard trigger replay --trigger big-order --since 1h
  switchboard trigger replay --all --dry-run
  switchboard trigger dead                         # what the dispatcher set aside, and why
  switchboard trigger replay --dead --all          # after the fix: back to the dispatcher`,
      ),
  ).action(
    async (
      ids: string[],
      opts: DbOpts & {
        trigger?: string;
        all?: boolean;
        since?: string;
        limit: string;
        dryRun?: boolean;
        dead?: boolean;
        amqp?: string;
        prefix: string;
        json?: boolean;
      },
    ) => {
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1)
        throw new InvalidArgumentError(`--limit takes a whole number, 1 or more (got "${opts.limit}")`);
      if (opts.dead) {
        if (opts.trigger || opts.since || opts.dryRun)
          throw new InvalidArgumentError(
            '--dead replays dead letters by id or --all; --trigger, --since and --dry-run are for executions (see `switchboard trigger dead` for the letters)',
          );
        if (!opts.amqp)
          throw new InvalidArgumentError('--dead reads RabbitMQ: give --amqp URL (or set SWITCHBOARD_AMQP_URL)');
        const { replayDeadLetters } = await import('./transport/dead-letters.js');
        const r = await replayDeadLetters({ url: opts.amqp, prefix: opts.prefix, ids, all: opts.all, limit });
        if (opts.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
        else {
          for (const l of r.replayed)
            process.stdout.write(
              `replayed dead letter ${l.id} (${l.type ?? 'message'} from ${l.connectorId ?? '?'})\n`,
            );
          for (const { letter, reason } of r.refused)
            process.stderr.write(`switchboard: dead letter ${letter.id} kept: ${reason}\n`);
          for (const id of r.missing) process.stderr.write(`switchboard: no dead letter ${id}\n`);
          if (!r.replayed.length && !r.refused.length && !r.missing.length)
            process.stdout.write('no dead letters to replay\n');
        }
        if (!r.replayed.length && (r.refused.length || r.missing.length)) process.exitCode = 1;
        return;
      }
      let since: string | undefined;
      if (opts.since !== undefined) {
        const { parseDuration } = await import('../sync/duration.js');
        since = new Date(Date.now() - parseDuration(opts.since, '--since')).toISOString();
      }
      const { replayFailed } = await import('./dispatcher/replay.js');
      const r = await withDb(opts, (db) =>
        replayFailed(db, {
          ids,
          ...(opts.trigger ? { trigger: opts.trigger } : {}),
          ...(opts.all ? { all: true } : {}),
          ...(since ? { since } : {}),
          limit,
          ...(opts.dryRun ? { dryRun: true } : {}),
        }),
      );
      if (opts.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
      else {
        const verb = opts.dryRun ? 'would replay' : 'replayed';
        for (const x of r.replayed)
          process.stdout.write(`${verb} ${x.id} (${x.trigger}: ${x.target} ${x.task}; ${x.error ?? ''})\n`);
        for (const { reason } of r.refused) process.stderr.write(`switchboard: ${reason}\n`);
        if (r.more) process.stderr.write(`switchboard: more than ${limit} matched; run again for the rest\n`);
        if (!r.replayed.length && !r.refused.length) process.stdout.write('no failed executions match\n');
        else if (r.replayed.length && !opts.dryRun)
          process.stdout.write(
            `${r.replayed.length} execution(s) will be tried again by a running dispatcher within a second (see \`switchboard trigger log\`)\n`,
          );
      }
      if (!r.replayed.length && r.refused.length) process.exitCode = 1;
    },
  );

  trigger
    .command('dead')
    .description(
      "list what the dispatcher set aside (RabbitMQ's <prefix>.dead), with why; replay with `trigger replay --dead`",
    )
    .addOption(new Option('--amqp <url>', 'the RabbitMQ URL').env('SWITCHBOARD_AMQP_URL'))
    .addOption(
      new Option('--prefix <prefix>', 'RabbitMQ queue/exchange name prefix')
        .default('switchboard')
        .env('SWITCHBOARD_AMQP_PREFIX'),
    )
    .option('--limit <n>', 'most listed, oldest first', '100')
    .option('--json', 'print JSON')
    .action(async (opts: { amqp?: string; prefix: string; limit: string; json?: boolean }) => {
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1)
        throw new InvalidArgumentError(`--limit takes a whole number, 1 or more (got "${opts.limit}")`);
      if (!opts.amqp)
        throw new InvalidArgumentError('dead letters live on RabbitMQ: give --amqp URL (or set SWITCHBOARD_AMQP_URL)');
      const { listDeadLetters } = await import('./transport/dead-letters.js');
      const { total, letters } = await listDeadLetters({ url: opts.amqp, prefix: opts.prefix, limit });
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ total, letters }, null, 2)}\n`);
        return;
      }
      if (!letters.length) {
        process.stdout.write('no dead letters\n');
        return;
      }
      printTable(
        ['ID', 'SET ASIDE', 'TYPE', 'CONNECTOR', 'ITEMS', 'BYTES', 'REASON'],
        letters.map((l) => [
          l.id,
          l.at ?? '',
          l.type ?? '',
          l.connectorId ?? '',
          l.items === null ? '' : String(l.items),
          l.truncated ? `${l.bytes} of ${l.originalBytes ?? '?'}` : String(l.bytes),
          l.reason,
        ]),
        100,
      );
      if (total > letters.length) process.stdout.write(`... ${total - letters.length} more (--limit)\n`);
    });
}

function registerDispatcher(program: Command): void {
  dbOptions(
    program
      .command('dispatcher')
      .description('run the event dispatcher (on RabbitMQ with --amqp, otherwise as a hub service)')
      .addOption(
        new Option('--amqp <url>', 'RabbitMQ URL, e.g. amqp://guest:guest@127.0.0.1:5672').env('SWITCHBOARD_AMQP_URL'),
      )
      .addOption(new Option('--hub <url>', 'hub address when not on RabbitMQ').env('SWITCHBOARD_ADDRESS'))
      .addOption(
        new Option('--prefix <prefix>', 'RabbitMQ queue/exchange name prefix')
          .default('switchboard')
          .env('SWITCHBOARD_AMQP_PREFIX'),
      )
      .addOption(
        new Option(
          '--allow-tokens-file <file>',
          'accept the tokens listed in this file, one kind:token a line (also SWITCHBOARD_CONNECTOR_TOKENS="kind:token,...")',
        ).env('SWITCHBOARD_CONNECTOR_TOKENS_FILE'),
      )
      .addOption(new Option('--allow-token <kind:token...>').env('SWITCHBOARD_CONNECTOR_TOKENS').hideHelp())
      .addOption(
        new Option('--retain-days <days>', 'delete events and finished executions older than this (0 keeps everything)')
          .default('7')
          .env('SWITCHBOARD_RETAIN_DAYS'),
      )
      .addOption(
        new Option(
          '--task-timeout <duration>',
          "a try without a result after this long fails (a trigger's `timeout` overrides it)",
        )
          .default('10m')
          .env('SWITCHBOARD_TASK_TIMEOUT'),
      )
      .addHelpText(
        'after',
        `
Examples:
  switchboard dispatcher --amqp amqp://guest:guest@127.0.0.1:5672
  switchboard dispatcher --amqp $AMQP --database postgres://user:pw@db:5432/switchboard
  switchboard dispatcher                      # as the hub service "dispatcher" (switchboard start runs it built in)`,
      ),
  ).action(
    async (
      opts: DbOpts & {
        amqp?: string;
        hub?: string;
        prefix: string;
        allowToken?: string[];
        allowTokensFile?: string;
        retainDays: string;
        taskTimeout: string;
      },
      cmd: Command,
    ) => {
      const { secretFlagRefused } = await import('../trust/secrets.js');
      if (cmd.getOptionValueSource('allowToken') === 'cli')
        throw secretFlagRefused('--allow-token', '--allow-tokens-file', 'SWITCHBOARD_CONNECTOR_TOKENS');
      const retainDays = Number(opts.retainDays);
      if (!Number.isFinite(retainDays) || retainDays < 0)
        throw new InvalidArgumentError(
          `--retain-days takes a number of days (0 keeps everything), got "${opts.retainDays}"`,
        );
      const { parseDuration } = await import('../sync/duration.js');
      const taskTimeoutMs = parseDuration(opts.taskTimeout, '--task-timeout');
      const { openDispatchDb } = await import('./open.js');
      const { startDispatcher } = await import('./run.js');
      const { storeSyncActions } = await import('./dispatcher/sync-action.js');
      const { resolveHome } = await import('../store/index.js');
      const { db, store, close: closeDb } = await openDispatchDb(opts);
      // Sync actions run in this process, on this store, with connectors installed under this home.
      const sync = storeSyncActions(store, resolveHome(opts.home));
      const close = async () => {
        await sync.close();
        await closeDb();
      };
      const fromEnv = (process.env.SWITCHBOARD_CONNECTOR_TOKENS ?? '')
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean);
      const fromFile = opts.allowTokensFile ? await readTokenList(opts.allowTokensFile) : [];
      const dispatcher = await startDispatcher({
        db,
        amqp: opts.amqp,
        hub: opts.hub,
        prefix: opts.prefix,
        allowTokens: [...fromEnv, ...fromFile],
        retainMs: retainDays * 86_400_000,
        taskTimeoutMs,
        sync,
      }).catch(async (err: unknown) => {
        await close();
        throw err;
      });
      process.stderr.write(
        `switchboard: dispatcher running on ${opts.amqp ? 'RabbitMQ' : 'the hub'} with ${dispatcher.triggerCount} trigger(s); Ctrl-C stops it\n`,
      );
      await untilSignal(async () => {
        await dispatcher.stop();
        await close();
      });
    },
  );

  dbOptions(
    program
      .command('agents')
      .description('connectors registered with the dispatcher (id, kind, status, last seen, events, tasks)')
      .option('--json', 'print JSON'),
  ).action(async (opts: DbOpts & { json?: boolean }) => {
    // An agent checks in every 30 s; one silent for 2 minutes is shown as stale.
    const list = (await withDb(opts, (db) => db.listConnectors())).map((c) => ({
      ...c,
      status: c.status === 'online' && Date.now() - Date.parse(c.lastSeen) > 120_000 ? 'stale' : c.status,
    }));
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
      return;
    }
    if (!list.length) {
      process.stdout.write('no connectors have registered yet\n');
      return;
    }
    printTable(
      ['ID', 'KIND', 'STATUS', 'LAST SEEN', 'EVENTS', 'TASKS', 'HOST'],
      list.map((c) => [
        c.id,
        c.kind,
        c.status,
        c.lastSeen,
        c.events.join(','),
        c.tasks.join(','),
        String(c.meta.host ?? ''),
      ]),
      80,
    );
  });
}

// A password in --amqp on the command line is warned about for every verb at once: src/cli/url-passwords.ts.
function registerAgent(program: Command): void {
  program
    .command('agent')
    .description(
      'run a connector beside an agent that registers it, filters its events by triggers, sends them to the dispatcher and carries actions back',
    )
    .argument('[command...]', 'the connector command, after --')
    .requiredOption('--kind <kind>', 'kind of connector (what triggers name in when/then)')
    .option(
      '--id <id>',
      'connector id (default <kind>-<hostname>, or the next free <kind>-<hostname>-2, -3, ... when a live agent holds it)',
    )
    .addOption(
      new Option('--token-file <file>', 'file holding the token from `switchboard connector token --kind K`').env(
        'SWITCHBOARD_AGENT_TOKEN_FILE',
      ),
    )
    // The token's variable; as a flag it is refused (`ps` shows it to every user).
    .addOption(new Option('--token <token>').env('SWITCHBOARD_AGENT_TOKEN').hideHelp())
    .addOption(new Option('--amqp <url>', 'reach the dispatcher on RabbitMQ').env('SWITCHBOARD_AMQP_URL'))
    .addOption(
      new Option('--dispatcher <url>', 'hub address the dispatcher is on (when not on RabbitMQ)').env(
        'SWITCHBOARD_ADDRESS',
      ),
    )
    .addOption(
      new Option('--prefix <prefix>', 'RabbitMQ queue/exchange name prefix')
        .default('switchboard')
        .env('SWITCHBOARD_AMQP_PREFIX'),
    )
    .option('--example <name>', 'run a bundled example connector: webhook, timer, http-request, upper')
    .option(
      '--connect <url>',
      'connect to a connector serving the protocol on TCP (its own container), e.g. cd://webhook:7001',
    )
    .option(
      '--env <spec...>',
      "pass NAME from this environment to the connector, or set NAME=VALUE (beyond PATH, HOME, LANG, TZ and the like, the connector's environment holds only these)",
    )
    .option('--meta <key=value...>', 'extra meta information sent at registration')
    .addHelpText(
      'after',
      `
The token comes from SWITCHBOARD_AGENT_TOKEN or a file (--token-file, SWITCHBOARD_AGENT_TOKEN_FILE), never the
command line, where every user of the machine can read it.

Examples:
  export SWITCHBOARD_AGENT_TOKEN=$(switchboard connector token --kind webhook)
  switchboard agent --amqp amqp://guest:guest@127.0.0.1:5672 --kind webhook --example webhook
  switchboard agent --kind upper --token-file ~/.upper.token -- python3 src/dispatch/connectors/upper.py   # over the hub
  switchboard agent --amqp $AMQP --kind webhook --connect cd://webhook:7001        # connector in its own container
  switchboard agent --kind timer --env TIMER_INTERVAL_MS=500 --env http_proxy -- node timer.js`,
    )
    .action(
      async (
        command: string[],
        opts: {
          kind: string;
          id?: string;
          token?: string;
          tokenFile?: string;
          amqp?: string;
          dispatcher?: string;
          prefix: string;
          example?: string;
          connect?: string;
          env?: string[];
          meta?: string[];
        },
        cmd: Command,
      ) => {
        const { InvalidArgumentError } = await import('../core/errors.js');
        const { EXAMPLE_ENV, exampleCommand } = await import('./examples.js');
        const { parseEnvArgs } = await import('./agent/connector-env.js');
        const { readSecretFile, secretFlagRefused } = await import('../trust/secrets.js');
        const { startAgent } = await import('./run.js');
        if (cmd.getOptionValueSource('token') === 'cli')
          throw secretFlagRefused('--token', '--token-file', 'SWITCHBOARD_AGENT_TOKEN');
        const token = opts.tokenFile
          ? readSecretFile(opts.tokenFile, '--token-file', (m) => process.stderr.write(`switchboard: warning: ${m}\n`))
          : (opts.token ?? '');
        if ([opts.example !== undefined, command.length > 0, opts.connect !== undefined].filter(Boolean).length > 1)
          throw new InvalidArgumentError('give one of --example NAME, --connect URL or a command after --');
        const cmdLine = opts.example ? exampleCommand(opts.example) : command;
        if (!cmdLine.length && !opts.connect)
          throw new InvalidArgumentError(
            'give the connector command after -- (e.g. switchboard agent --kind timer -- node timer.js), --example NAME or --connect URL',
          );
        const env = parseEnvArgs(opts.env ?? []);
        if (opts.example) env.pass.push(...(EXAMPLE_ENV[opts.example as keyof typeof EXAMPLE_ENV] ?? []));
        const meta: Record<string, JsonValue> = {};
        for (const kv of opts.meta ?? []) {
          const i = kv.indexOf('=');
          if (i <= 0) throw new InvalidArgumentError(`--meta takes key=value, got "${kv}"`);
          meta[kv.slice(0, i)] = kv.slice(i + 1);
        }
        const agent = await startAgent({
          command: cmdLine,
          connect: opts.connect,
          kind: opts.kind,
          id: opts.id,
          token,
          amqp: opts.amqp,
          dispatcher: opts.dispatcher,
          prefix: opts.prefix,
          meta,
          env,
        });
        process.stderr.write(
          `switchboard: agent ${agent.id} running (${opts.amqp ? 'RabbitMQ' : 'hub'}); Ctrl-C or SIGTERM unregisters and stops\n`,
        );
        await untilSignal(() => agent.stop());
      },
    );
}

/** `connector token --kind K`, added to the sync capability's `connector` group (created if absent). */
function registerToken(program: Command): void {
  let group = program.commands.find((c) => c.name() === 'connector');
  group ??= program.command('connector').description('connectors');
  dbOptions(
    group
      .command('token')
      .description('issue a token an agent of this kind registers with (shown once, stored hashed)')
      .requiredOption('--kind <kind>', 'the kind of connector the token is for')
      .option(
        '--broker-user',
        "also create a RabbitMQ user limited to this kind's queues (management API); prints SWITCHBOARD_AGENT_TOKEN= and SWITCHBOARD_AMQP_URL= lines",
      )
      .addOption(
        new Option('--amqp <url>', 'with --broker-user: an administrator AMQP URL of the broker').env(
          'SWITCHBOARD_AMQP_URL',
        ),
      )
      .addOption(
        new Option(
          '--management <url>',
          "with --broker-user: RabbitMQ's management API (default http://<AMQP host>:15672)",
        ).env('SWITCHBOARD_RABBITMQ_MANAGEMENT_URL'),
      )
      .addOption(
        new Option('--prefix <prefix>', 'RabbitMQ queue/exchange name prefix')
          .default('switchboard')
          .env('SWITCHBOARD_AMQP_PREFIX'),
      )
      .option('--json', 'print JSON')
      .addHelpText(
        'after',
        `
Examples:
  export SWITCHBOARD_AGENT_TOKEN=$(switchboard connector token --kind webhook)
  switchboard connector token --kind webhook --broker-user > webhook.env && chmod 600 webhook.env
  (set -a; . ./webhook.env; switchboard agent --kind webhook --example webhook)`,
      ),
  ).action(
    async (
      opts: DbOpts & {
        kind: string;
        json?: boolean;
        brokerUser?: boolean;
        amqp?: string;
        management?: string;
        prefix: string;
      },
    ) => {
      const { CONNECTOR_NAME } = await import('./protocol/wire.js');
      if (!CONNECTOR_NAME.test(opts.kind) || opts.kind.length > 64)
        throw new InvalidArgumentError(
          `kind "${opts.kind}" may hold letters, digits and _ . : - only, start with a letter or digit, and be at most 64 characters`,
        );
      let broker: BrokerUser | undefined;
      if (opts.brokerUser) {
        if (!opts.amqp)
          throw new InvalidArgumentError(
            '--broker-user needs the broker: --amqp URL (or SWITCHBOARD_AMQP_URL) of an administrator user',
          );
        const { createBrokerUser } = await import('./transport/broker-user.js');
        broker = await createBrokerUser({
          amqp: opts.amqp,
          management: opts.management,
          prefix: opts.prefix,
          kind: opts.kind,
        });
      }
      const token = await withDb(opts, (db) => db.issueToken(opts.kind));
      if (opts.json)
        process.stdout.write(`${JSON.stringify({ kind: opts.kind, token, ...(broker ? { broker } : {}) })}\n`);
      else if (broker) {
        process.stderr.write(
          `switchboard: RabbitMQ user ${broker.user} may use the queues of kind ${opts.kind} only; the lines below carry its password and the token: keep them private\n`,
        );
        process.stdout.write(`SWITCHBOARD_AGENT_TOKEN=${token}\nSWITCHBOARD_AMQP_URL=${broker.url}\n`);
      } else process.stdout.write(`${token}\n`);
    },
  );
}

export function registerCommands(program: Command): void {
  registerTrigger(program);
  registerDispatcher(program);
  registerAgent(program);
  registerToken(program);
}
