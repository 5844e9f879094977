/**
 * Verbs of the sync capability: `connector install|list|edit|update|remove`, `account
 * add|list|show|update|schedule|timeout|reset-state|runs|remove`,
 * `sync [ACCOUNT...]`, `data list|note`. The `connector` group is found-or-created so other
 * capabilities can add subcommands to it (the dispatcher adds `connector token`). Handlers load
 * their modules lazily so `switchboard --help` stays fast.
 */
import { InvalidArgumentError as UsageError, Option, type Command } from 'commander';
import type { DataOrder } from './data.js';
import type { SyncApi } from './open.js';
import { printTable } from '../cli/table.js';

interface StoreOpts {
  database?: string;
  home?: string;
}

/** `--database` / `--home` on a verb (defaults from SWITCHBOARD_DATABASE_URL / SWITCHBOARD_HOME). */
export function storeOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--database <url>', 'postgres://... URL or SQLite file (default: SQLite in the home folder)').env(
        'SWITCHBOARD_DATABASE_URL',
      ),
    )
    .addOption(new Option('--home <dir>', 'data folder (default ~/.switchboard)').env('SWITCHBOARD_HOME'));
}

/** The named command group under `program`, created when no other module made it yet. */
export function commandGroup(program: Command, name: string, description: string): Command {
  const group = program.commands.find((c) => c.name() === name) ?? program.command(name);
  return group.description(description);
}

async function withSync<T>(opts: StoreOpts, fn: (sync: SyncApi) => Promise<T>): Promise<T> {
  const { openSync } = await import('./open.js');
  const sync = await openSync({
    ...(opts.database ? { database: opts.database } : {}),
    ...(opts.home ? { home: opts.home } : {}),
  });
  try {
    return await fn(sync);
  } finally {
    await sync.close();
  }
}

const out = (line: string) => process.stdout.write(`${line}\n`);
const err = (text: string) => process.stderr.write(text);
const json = (value: unknown) => out(JSON.stringify(value, null, 2));

function positiveInt(what: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1)
      throw new UsageError(`${what} must be a whole number from 1 (got ${JSON.stringify(value)})`);
    return n;
  };
}

function registerConnector(program: Command): void {
  const connector = commandGroup(
    program,
    'connector',
    'sync connectors: install from a manifest, list, update, remove',
  );

  storeOptions(
    connector
      .command('install')
      .argument(
        '[manifest]',
        'manifest as raw JSON, an http(s) URL, or a path (a file, or a folder with manifest.json)',
      )
      .option('--name <name>', "install under this name instead of the manifest's")
      .option('--example <example>', 'install a bundled example connector instead: directory, http-json')
      .description(
        "install a connector: fetch its source (HTTP, VCS or Local) into its folder under $SWITCHBOARD_HOME/connectors and run its install_command (an Airbyte source's spec is asked for too)",
      ),
  ).action(async (manifest: string | undefined, opts: StoreOpts & { name?: string; example?: string }) => {
    const { InvalidArgumentError } = await import('../core/errors.js');
    if ((manifest === undefined) === (opts.example === undefined))
      throw new InvalidArgumentError('give either a manifest (JSON, URL or path) or --example NAME');
    let input = manifest ?? '';
    if (opts.example) {
      const { exampleManifest } = await import('./connectors/examples.js');
      input = JSON.stringify(exampleManifest(opts.example));
    }
    await withSync(opts, async (sync) => {
      const c = await sync.installConnector(input, { onOutput: err, ...(opts.name ? { name: opts.name } : {}) });
      out(
        `installed connector ${c.name} (${c.source} ${c.uri}); add an account with: switchboard account add --connector ${c.name} --name NAME --options '{...}'`,
      );
    });
  });

  storeOptions(
    connector.command('list').description('list installed connectors').option('--json', 'print JSON'),
  ).action(async (opts: StoreOpts & { json?: boolean }) => {
    await withSync(opts, async (sync) => {
      const list = await sync.listConnectors();
      if (opts.json) {
        json(list);
        return;
      }
      if (!list.length) {
        out('no connectors installed (see `switchboard connector install --help`)');
        return;
      }
      printTable(
        ['NAME', 'PROTOCOL', 'SOURCE', 'URI', 'COMMAND', 'UPDATED', 'DESCRIPTION'],
        list.map((c) => [c.name, c.protocol, c.source, c.uri, c.command, c.updatedAt, c.description]),
      );
    });
  });

  storeOptions(
    connector
      .command('update')
      .argument('<name>', 'installed connector')
      .description(
        'update a connector: its update_command, else `git pull` for VCS sources, else delete and reinstall',
      ),
  ).action(async (name: string, opts: StoreOpts) => {
    await withSync(opts, async (sync) => {
      await sync.updateConnector(name, { onOutput: err });
      out(`updated connector ${name}`);
    });
  });

  storeOptions(
    connector
      .command('edit')
      .argument('<name>', 'installed connector')
      .argument(
        '[manifest]',
        'the new manifest: raw JSON, an http(s) URL, or a path (JSON or YAML); without it, print the current one',
      )
      .description(
        "edit a connector's manifest: print it (`connector edit NAME > m.json`), change it, give it back (`connector edit NAME m.json`); a changed source or install_command reinstalls it",
      ),
  ).action(async (name: string, manifest: string | undefined, opts: StoreOpts) => {
    const { manifestJson } = await import('./manifest.js');
    const { toManifest } = await import('./connectors-db.js');
    await withSync(opts, async (sync) => {
      if (manifest === undefined) {
        json(manifestJson(toManifest(await sync.getConnector(name))));
        return;
      }
      const c = await sync.editConnector(name, manifest, { onOutput: err });
      out(`edited connector ${c.name} (${c.protocol}, ${c.source} ${c.uri})`);
    });
  });

  storeOptions(
    connector
      .command('remove')
      .argument('<name>', 'installed connector')
      .option('--force', 'also remove its accounts and their data objects')
      .description('remove a connector: its row and its folder'),
  ).action(async (name: string, opts: StoreOpts & { force?: boolean }) => {
    await withSync(opts, async (sync) => {
      const r = await sync.removeConnector(name, { ...(opts.force ? { force: true } : {}) });
      out(`removed connector ${name}${r.accountsRemoved ? ` and ${r.accountsRemoved} account(s)` : ''}`);
    });
  });
}

function registerAccount(program: Command): void {
  const account = commandGroup(program, 'account', 'accounts: a connector plus the JSON options one sync of it needs');

  storeOptions(
    account
      .command('add')
      .requiredOption('--connector <name>', 'installed connector')
      .requiredOption('--name <name>', 'account name (unique per connector)')
      .option('--options <json>', 'options passed to the connector, as JSON', '{}')
      .option('--no-check', 'save without asking the connector to check the options (its options schema still applies)')
      .description(
        "add an account: the options are checked against the connector's options schema and by the connector",
      ),
  ).action(async (opts: StoreOpts & { connector: string; name: string; options: string; check: boolean }) => {
    await withSync(opts, async (sync) => {
      const a = await sync.addAccount({
        connector: opts.connector,
        name: opts.name,
        options: opts.options,
        check: opts.check,
      });
      out(`added account ${a.id} (${a.connector}/${a.name}); sync it with: switchboard sync ${a.name}`);
    });
  });

  storeOptions(
    account
      .command('list')
      .description('list accounts')
      .option('--connector <name>', "only this connector's")
      .option('--json', 'print JSON'),
  ).action(async (opts: StoreOpts & { json?: boolean; connector?: string }) => {
    await withSync(opts, async (sync) => {
      const accounts = await sync.listAccounts(opts.connector ? { connector: opts.connector } : {});
      const list = await Promise.all(
        accounts.map(async (a) => ({
          ...a,
          lastRun: (await sync.listRuns({ account: String(a.id), limit: 1 }))[0] ?? null,
        })),
      );
      if (opts.json) {
        json(list);
        return;
      }
      if (!list.length) {
        out('no accounts (see `switchboard account add --help`)');
        return;
      }
      const result = (r: (typeof list)[number]['lastRun']) =>
        !r
          ? 'never synced'
          : r.success === null
            ? `running since ${r.startedAt}`
            : `${r.success ? 'ok' : r.status === 'failed' ? 'FAILED' : r.status.toUpperCase()} ${r.finishedAt ?? ''} (${r.objects} objects)`;
      printTable(
        ['ID', 'CONNECTOR', 'NAME', 'OPTIONS', 'LAST SYNC', 'SCHEDULE', 'NEXT RUN'],
        list.map((a) => [
          String(a.id),
          a.connector,
          a.name,
          a.options,
          result(a.lastRun),
          a.schedule ?? '-',
          a.nextRunAt ?? '-',
        ]),
        60,
      );
    });
  });

  storeOptions(
    account
      .command('update')
      .argument('<account>', 'id, name, or connector/name')
      .option('--options <json>', 'new options, as JSON')
      .option('--name <name>', 'new name')
      .option('--no-check', 'save new options without asking the connector to check them')
      .description("change an account's options or name (new options are checked as on add)"),
  ).action(async (ref: string, opts: StoreOpts & { options?: string; name?: string; check: boolean }) => {
    await withSync(opts, async (sync) => {
      const a = await sync.updateAccount(ref, {
        ...(opts.options !== undefined ? { options: opts.options } : {}),
        ...(opts.name !== undefined ? { name: opts.name } : {}),
        check: opts.check,
      });
      out(`updated account ${a.id} (${a.connector}/${a.name}): options ${a.options}`);
    });
  });

  storeOptions(
    account
      .command('runs')
      .argument('[account]', 'id, name, or connector/name (default: every account)')
      .option('--limit <n>', 'how many, newest first', positiveInt('--limit'), 20)
      .option('--json', 'print JSON')
      .description("sync runs: when, how many objects and pages, success, error, the connector's end metadata"),
  ).action(async (ref: string | undefined, opts: StoreOpts & { limit: number; json?: boolean }) => {
    await withSync(opts, async (sync) => {
      const runs = await sync.listRuns({ ...(ref ? { account: ref } : {}), limit: opts.limit });
      if (opts.json) {
        json(runs);
        return;
      }
      if (!runs.length) {
        out('no sync runs yet (see `switchboard sync --help`)');
        return;
      }
      const status = (r: (typeof runs)[number]) =>
        r.success === null ? 'running' : r.success ? 'ok' : r.status === 'failed' ? 'FAILED' : r.status.toUpperCase();
      printTable(
        ['RUN', 'ACCOUNT', 'STARTED', 'FINISHED', 'RESULT', 'OBJECTS', 'PAGES', 'ERROR / METADATA'],
        runs.map((r) => [
          String(r.id),
          `${r.connector}/${r.accountName}`,
          r.startedAt,
          r.finishedAt ?? '',
          status(r),
          String(r.objects),
          String(r.pages),
          (r.error ?? r.metadata ?? '').split('\n')[0]!,
        ]),
        100,
      );
    });
  });

  storeOptions(
    account
      .command('show')
      .argument('<account>', 'id, name, or connector/name')
      .option('--json', 'print JSON')
      .description('an account: options, schedule, timeout, its state (the last checkpoint) and its last runs'),
  ).action(async (ref: string, opts: StoreOpts & { json?: boolean }) => {
    const { formatDuration } = await import('./duration.js');
    await withSync(opts, async (sync) => {
      const a = await sync.resolveAccount(ref);
      const runs = await sync.listRuns({ account: String(a.id), limit: 5 });
      if (opts.json) {
        json({ ...a, runs });
        return;
      }
      let state = a.state ?? '(none: the next sync is a full one)';
      try {
        if (a.state) state = JSON.stringify(JSON.parse(a.state), null, 2);
      } catch {
        /* connector-defined text: shown as it is */
      }
      out(`account ${a.id}: ${a.connector}/${a.name}`);
      out(`options:  ${a.options}`);
      out(`schedule: ${a.schedule ?? 'none'}${a.nextRunAt ? `, next run ${a.nextRunAt}` : ''}`);
      out(`timeout:  ${a.timeoutMs ? formatDuration(a.timeoutMs) : "the connector's, else 6h"}`);
      out(`state:    ${a.stateUpdatedAt ? `(checkpointed ${a.stateUpdatedAt}) ` : ''}${state}`);
      out(runs.length ? 'last runs:' : 'last runs: none');
      for (const r of runs)
        out(
          `  run ${r.id} ${r.status} ${r.startedAt}${r.finishedAt ? ` - ${r.finishedAt}` : ''}: ${r.objects} objects, ${r.checkpoints} checkpoint(s)${r.error ? `; ${r.error.split('\n')[0]}` : ''}`,
        );
    });
  });

  storeOptions(
    account
      .command('reset-state')
      .argument('<account>', 'id, name, or connector/name')
      .description("forget an account's state (its last checkpoint): the next sync starts from scratch"),
  ).action(async (ref: string, opts: StoreOpts) => {
    await withSync(opts, async (sync) => {
      const a = await sync.resolveAccount(ref);
      await sync.resetState(String(a.id));
      out(`forgot the state of account ${a.id} (${a.connector}/${a.name}); its next sync is a full one`);
    });
  });

  storeOptions(
    account
      .command('schedule')
      .argument('<account>', 'id, name, or connector/name')
      .option('--every <duration>', 'sync every DURATION, e.g. 15m, 2h, 1d')
      .option('--cron <expression>', "sync on a cron schedule, e.g. '0 * * * *' (a sixth field in front: seconds)")
      .option('--off', 'stop syncing on a schedule')
      .description('sync an account on a schedule, run by the sync service of `switchboard start`'),
  ).action(async (ref: string, opts: StoreOpts & { every?: string; cron?: string; off?: boolean }) => {
    const { InvalidArgumentError } = await import('../core/errors.js');
    if ([opts.every, opts.cron, opts.off].filter((v) => v !== undefined).length !== 1)
      throw new InvalidArgumentError("give one of --every DURATION, --cron 'EXPRESSION' or --off");
    await withSync(opts, async (sync) => {
      const a = await sync.setSchedule(
        ref,
        opts.off ? null : { ...(opts.every ? { every: opts.every } : {}), ...(opts.cron ? { cron: opts.cron } : {}) },
      );
      out(
        a.schedule
          ? `account ${a.id} (${a.connector}/${a.name}) syncs ${a.schedule}; next run ${a.nextRunAt} (under \`switchboard start\`)`
          : `account ${a.id} (${a.connector}/${a.name}) is no longer scheduled`,
      );
    });
  });

  storeOptions(
    account
      .command('timeout')
      .argument('<account>', 'id, name, or connector/name')
      .argument('<duration>', "longest a sync run may take, e.g. 30m, 2h; 'default' for the connector's (else 6h)")
      .description('stop a sync run of this account that takes longer (it is recorded as timed_out)'),
  ).action(async (ref: string, duration: string, opts: StoreOpts) => {
    const { parseDuration, formatDuration } = await import('./duration.js');
    const ms = duration === 'default' ? null : parseDuration(duration, 'the timeout');
    await withSync(opts, async (sync) => {
      const a = await sync.setTimeout(ref, ms);
      out(
        `account ${a.id} (${a.connector}/${a.name}): runs time out after ${ms ? formatDuration(ms) : "the connector's timeout, else 6h"}`,
      );
    });
  });

  storeOptions(
    account
      .command('remove')
      .argument('<account>', 'id, name, or connector/name')
      .description('remove an account and its data objects'),
  ).action(async (ref: string, opts: StoreOpts) => {
    await withSync(opts, async (sync) => {
      const a = await sync.removeAccount(ref);
      out(`removed account ${a.id} (${a.connector}/${a.name}) and its data objects`);
    });
  });
}

function registerSync(program: Command): void {
  storeOptions(
    program
      .command('sync')
      .argument('[accounts...]', 'ids, names or connector/name (default: every account)')
      .option('--concurrency <n>', 'accounts synced at once', positiveInt('--concurrency'), 4)
      .option('--json', 'print the runs as JSON when done')
      .description('run the connectors of accounts and store what they return; one run is recorded per account'),
  ).action(async (refs: string[], opts: StoreOpts & { concurrency: number; json?: boolean }) => {
    const { SwitchboardError } = await import('../core/errors.js');
    const { SyncFailedError } = await import('./goplugin/errors.js');
    const { plainProgress, ttyProgress, finishLine } = await import('./progress.js');
    await withSync(opts, async (sync) => {
      const accounts = refs.length ? refs : (await sync.listAccounts()).map((a) => String(a.id));
      if (!accounts.length)
        throw new SwitchboardError(
          'NOT_FOUND',
          'there are no accounts to sync; add one with `switchboard account add --connector C --name N --options JSON`',
        );
      const expected = new Map<number, number>();
      for (const ref of accounts) {
        const a = await sync.resolveAccount(ref);
        const last = (await sync.listRuns({ account: String(a.id), limit: 20 })).find((r) => r.success);
        if (last) expected.set(a.id, last.objects);
      }
      const tty = process.stderr.isTTY && !opts.json;
      const view = tty
        ? ttyProgress(process.stderr, (id) => expected.get(id))
        : plainProgress((line) => err(`${line}\n`));
      const abort = new AbortController();
      const onSignal = () => {
        err('\nstopping: cancelling the running syncs\n');
        abort.abort();
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      let outcomes;
      try {
        outcomes = await sync.sync(accounts, {
          concurrency: opts.concurrency,
          signal: abort.signal,
          onProgress: (p) => view.update(p),
        });
      } finally {
        view.close();
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
      if (opts.json)
        json(
          outcomes.map((o) => ({ account: o.account, run: o.run ?? null, error: o.error ? o.error.toWire() : null })),
        );
      const failed = outcomes.filter((o) => !o.run?.success);
      for (const o of outcomes) {
        if (o.error)
          err(`${o.account.connector}/${o.account.name}: not started: ${o.error.code}: ${o.error.message}\n`);
        else if (tty && o.run && !o.run.success)
          err(
            `${finishLine({ account: o.account, runId: o.run.id, phase: 'finished', pages: o.run.pages, objects: o.run.objects, elapsedMs: Date.parse(o.run.finishedAt ?? o.run.startedAt) - Date.parse(o.run.startedAt), run: o.run })}\n`,
          );
      }
      if (failed.length) {
        throw new SyncFailedError(
          `${failed.length} of ${outcomes.length} account(s) did not sync: ${failed.map((o) => `${o.account.connector}/${o.account.name}`).join(', ')}`,
        );
      }
    });
  });
}

function registerData(program: Command): void {
  const data = commandGroup(program, 'data', 'data objects the connectors synced');

  storeOptions(
    data
      .command('list')
      .option('--account <account...>', 'only these accounts (id, name or connector/name)')
      .option('--connector <name>', "only this connector's objects")
      .option('--search <text>', 'case-insensitive text in remote id, name, URI, metadata or notes')
      .option('--page <n>', 'page number (50 a page)', positiveInt('--page'), 1)
      .option('--page-size <n>', 'objects per page', positiveInt('--page-size'), 50)
      .addOption(
        new Option('--order <key>', 'sort by (newest/largest first)')
          .choices(['synced', 'name', 'remote-id', 'id', 'connector'])
          .default('synced'),
      )
      .option('--asc', 'ascending order')
      .option('--json', 'print JSON (with total and pages)')
      .description('list data objects, those of the latest sync run first'),
  ).action(
    async (
      opts: StoreOpts & {
        account?: string[];
        connector?: string;
        search?: string;
        page: number;
        pageSize: number;
        order: DataOrder;
        asc?: boolean;
        json?: boolean;
      },
    ) => {
      await withSync(opts, async (sync) => {
        const page = await sync.listData({
          page: opts.page,
          pageSize: opts.pageSize,
          order: opts.order,
          ...(opts.asc ? { ascending: true } : {}),
          ...(opts.account ? { accounts: opts.account } : {}),
          ...(opts.connector ? { connector: opts.connector } : {}),
          ...(opts.search ? { search: opts.search } : {}),
        });
        if (opts.json) {
          json(page);
          return;
        }
        if (!page.items.length) {
          out(page.total ? `page ${page.page} is past the end (${page.pages} pages)` : 'no data objects match');
          return;
        }
        const names = new Map((await sync.listAccounts()).map((a) => [a.id, a.name]));
        printTable(
          ['ID', 'ACCOUNT', 'CONNECTOR', 'REMOTE ID', 'NAME', 'SYNCED', 'NOTES'],
          page.items.map((o) => [
            String(o.id),
            names.get(o.accountId) ?? String(o.accountId),
            o.connector,
            o.remoteId,
            o.resourceName,
            o.lastSyncedAt,
            o.notes,
          ]),
          40,
        );
        out(
          `page ${page.page} of ${page.pages} (${page.total} objects)${page.page < page.pages ? `; next: --page ${page.page + 1}` : ''}`,
        );
      });
    },
  );

  storeOptions(
    data
      .command('note')
      .argument('<id>', 'data object id')
      .argument('<text>', 'the note (empty to clear)')
      .description("set a data object's notes (syncs never overwrite them)"),
  ).action(async (id: string, text: string, opts: StoreOpts) => {
    const n = Number(id);
    if (!Number.isInteger(n) || n < 1) {
      const { InvalidArgumentError } = await import('../core/errors.js');
      throw new InvalidArgumentError(
        `the data object id must be a whole number from 1 (got ${JSON.stringify(id)}; see \`switchboard data list\`)`,
      );
    }
    await withSync(opts, async (sync) => {
      const o = await sync.setNote(n, text);
      out(`noted data object ${o.id} (${o.connector} ${o.remoteId})`);
    });
  });
}

export function registerCommands(program: Command): void {
  registerConnector(program);
  registerAccount(program);
  registerSync(program);
  registerData(program);
}
