/**
 * Accounts: a connector plus the options (JSON) one sync of it needs. Names are unique per
 * connector; an account is referred to by id, by name when that is unambiguous, or `connector/name`.
 */
import { InvalidArgumentError, SwitchboardError, errorMessage } from '../core/errors.js';
import type { Db } from '../store/index.js';
import { getConnector } from './connectors-db.js';
import type { Account } from './types.js';

type AccountRow = {
  id: number;
  connector: string;
  name: string;
  options: string;
  created_at: string;
  state: string | null;
  state_updated_at: string | null;
  schedule: string | null;
  next_run_at: string | null;
  timeout_ms: number | null;
};

export const ACCOUNT_COLUMNS =
  'id, connector, name, options, created_at, state, state_updated_at, schedule, next_run_at, timeout_ms';

export const accountFromRow = (r: AccountRow): Account => ({
  id: Number(r.id),
  connector: r.connector,
  name: r.name,
  options: r.options,
  createdAt: r.created_at,
  state: r.state ?? null,
  stateUpdatedAt: r.state_updated_at ?? null,
  schedule: r.schedule ?? null,
  nextRunAt: r.next_run_at ?? null,
  timeoutMs: r.timeout_ms === null || r.timeout_ms === undefined ? null : Number(r.timeout_ms),
});
const fromRow = accountFromRow;

const ACCOUNT_NAME = /^[^\s/][^/]{0,127}$/;

/** Parses options text as JSON; the error says where it broke. Returns the compact JSON text. */
export function normaliseOptions(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text));
  } catch (err) {
    throw new InvalidArgumentError(
      `account options must be valid JSON, e.g. '{"path": "/data"}': ${errorMessage(err)}`,
    );
  }
}

export async function addAccount(
  db: Db,
  input: { connector: string; name: string; options?: string },
): Promise<Account> {
  if (!ACCOUNT_NAME.test(input.name))
    throw new InvalidArgumentError(
      `account name ${JSON.stringify(input.name)} must be 1-128 characters, without "/" and not starting with a space`,
    );
  const options = normaliseOptions(input.options ?? '{}');
  await getConnector(db, input.connector);
  return db.transaction(async (tx) => {
    const [dup] = await tx.query<{ id: number }>('SELECT id FROM accounts WHERE connector = ? AND name = ?', [
      input.connector,
      input.name,
    ]);
    if (dup)
      throw new SwitchboardError(
        'CONFLICT',
        `connector "${input.connector}" has an account named "${input.name}" already (id ${dup.id})`,
      );
    const [row] = await tx.query<AccountRow>(
      `INSERT INTO accounts (connector, name, options, created_at) VALUES (?, ?, ?, ?) RETURNING ${ACCOUNT_COLUMNS}`,
      [input.connector, input.name, options, new Date().toISOString()],
    );
    return fromRow(row!);
  });
}

export async function listAccounts(db: Db, filter: { connector?: string } = {}): Promise<Account[]> {
  const rows = filter.connector
    ? await db.query<AccountRow>(
        `SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE connector = ? ORDER BY connector, name`,
        [filter.connector],
      )
    : await db.query<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM accounts ORDER BY connector, name`);
  return rows.map(fromRow);
}

/** Finds one account by id, `connector/name`, or a name that only one connector uses. */
export async function resolveAccount(db: Db, ref: string): Promise<Account> {
  let rows: AccountRow[];
  if (/^\d+$/.test(ref)) {
    rows = await db.query<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE id = ?`, [Number(ref)]);
    if (!rows.length)
      rows = await db.query<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE name = ?`, [ref]);
  } else if (ref.includes('/')) {
    const at = ref.indexOf('/');
    rows = await db.query<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE connector = ? AND name = ?`, [
      ref.slice(0, at),
      ref.slice(at + 1),
    ]);
  } else {
    rows = await db.query<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE name = ? ORDER BY connector`, [
      ref,
    ]);
  }
  if (rows.length === 1) return fromRow(rows[0]!);
  if (rows.length > 1)
    throw new SwitchboardError(
      'CONFLICT',
      `"${ref}" names accounts of several connectors (${rows.map((r) => `${r.connector}/${r.name} = id ${r.id}`).join(', ')}); use the id or connector/name`,
    );
  throw new SwitchboardError('NOT_FOUND', `no account "${ref}" (see \`switchboard account list\`)`);
}

/** Changes an account's options and/or name (the next sync uses them). */
export async function updateAccount(
  db: Db,
  ref: string,
  change: { name?: string; options?: string },
): Promise<Account> {
  if (change.name === undefined && change.options === undefined)
    throw new InvalidArgumentError('nothing to change: give new options and/or a new name');
  if (change.name !== undefined && !ACCOUNT_NAME.test(change.name))
    throw new InvalidArgumentError(
      `account name ${JSON.stringify(change.name)} must be 1-128 characters, without "/" and not starting with a space`,
    );
  const options = change.options === undefined ? undefined : normaliseOptions(change.options);
  const account = await resolveAccount(db, ref);
  return db.transaction(async (tx) => {
    if (change.name !== undefined && change.name !== account.name) {
      const [dup] = await tx.query<{ id: number }>('SELECT id FROM accounts WHERE connector = ? AND name = ?', [
        account.connector,
        change.name,
      ]);
      if (dup)
        throw new SwitchboardError(
          'CONFLICT',
          `connector "${account.connector}" has an account named "${change.name}" already (id ${dup.id})`,
        );
    }
    await tx.exec('UPDATE accounts SET name = ?, options = ? WHERE id = ?', [
      change.name ?? account.name,
      options ?? account.options,
      account.id,
    ]);
    const [row] = await tx.query<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE id = ?`, [account.id]);
    return fromRow(row!);
  });
}

/** Removes an account and, by cascade, its data objects. */
export async function removeAccount(db: Db, ref: string): Promise<Account> {
  const account = await resolveAccount(db, ref);
  await db.exec('DELETE FROM accounts WHERE id = ?', [account.id]);
  return account;
}

/** Forgets an account's state: its next sync starts from scratch (a full sync). */
export async function resetState(db: Db, ref: string): Promise<Account> {
  const account = await resolveAccount(db, ref);
  await db.exec('UPDATE accounts SET state = NULL, state_updated_at = NULL WHERE id = ?', [account.id]);
  return { ...account, state: null, stateUpdatedAt: null };
}

/** Sets (or clears, with null) the longest a sync run of this account may take. */
export async function setAccountTimeout(db: Db, ref: string, timeoutMs: number | null): Promise<Account> {
  const account = await resolveAccount(db, ref);
  await db.exec('UPDATE accounts SET timeout_ms = ? WHERE id = ?', [timeoutMs, account.id]);
  return { ...account, timeoutMs };
}
