/** The trust building blocks: the admin token file, secrets, the configuration and the decisions. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { JSON_PROBLEMS as KINDS, jsonSyntaxProblem, parseJsonText } from '../core/json-text.js';
import { loadConfig } from '../hub/config.js';
import { parseTrustConfig } from './config.js';
import { TrustPolicy, isLoopbackAddress, normaliseSubject, tokenDigest } from './policy.js';
import { ensureTokenFile, readTokenFile } from './token-file.js';
import { readSecretFile, redactSecretText } from './secrets.js';

const dir = () => mkdtempSync(join(tmpdir(), 'sb-trust-'));
const RESERVED = new Set(['sync', 'dispatcher', 'discovery']);

void test('the admin token file is written 0600, kept across starts, and replaced when others can read it', () => {
  const path = join(dir(), 'home', 'hub.token');
  const first = ensureTokenFile(path);
  assert.equal(first.created, true);
  assert.match(first.token, /^sbh_[A-Za-z0-9_-]{43}$/);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.equal(readFileSync(path, 'utf8'), `${first.token}\n`);
  const again = ensureTokenFile(path);
  assert.deepEqual([again.created, again.token], [false, first.token]);

  chmodSync(path, 0o644);
  const read = readTokenFile(path);
  assert.ok('problem' in read && /can be read by other users \(mode 644\)/.test(read.problem));
  const replaced = ensureTokenFile(path);
  assert.equal(replaced.created, true);
  assert.notEqual(replaced.token, first.token);
  assert.match(replaced.replaced ?? '', /mode 644/);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.deepEqual(readTokenFile(join(dir(), 'absent')), { absent: true });
});

void test('two hubs creating the token at once end up with one token', () => {
  const path = join(dir(), 'hub.token');
  // The second call finds the file the first linked in place, as a racing process would.
  const a = ensureTokenFile(path);
  const b = ensureTokenFile(path);
  assert.equal(a.token, b.token);
});

void test('secret files: content trimmed, empty or multi-line refused without quoting, world-readable warned about', () => {
  const d = dir();
  const f = join(d, 's');
  writeFileSync(f, 'hunter2hunter2\n', { mode: 0o644 });
  const warnings: string[] = [];
  assert.equal(
    readSecretFile(f, 'signal_secret_file', (m) => warnings.push(m)),
    'hunter2hunter2',
  );
  assert.match(warnings[0] ?? '', /can be read by every user/);
  writeFileSync(f, 'line one secret\nline two secret\n');
  assert.throws(
    () => readSecretFile(f, 'x'),
    (err: Error) => /several lines/.test(err.message) && !err.message.includes('secret\n'),
  );
  assert.throws(() => readSecretFile(join(d, 'nope'), 'x'), /x: cannot read .*ENOENT/);
});

void test('a JSON syntax error says where, never what the text says', () => {
  const shadow = 'root:$y$j9T$saltsalt$hashhash:19000:0:99999:7:::\ndaemon:*:19000';
  assert.throws(
    () => parseJsonText(shadow, 'the manifest from /etc/shadow'),
    (err: Error) =>
      err.message ===
        'the manifest from /etc/shadow is not valid JSON (line 1, column 1: a character that cannot start a JSON value)' &&
      !err.message.includes('root'),
  );
  assert.deepEqual(jsonSyntaxProblem('{\n  "a": 1,\n}'), {
    line: 3,
    column: 1,
    problem: 'a property name (in double quotes) was expected',
  });
  assert.equal(jsonSyntaxProblem('{"a": [1, 2]}'), undefined);
  // Whatever the text, the sentence is the fixed form: a place and one of the known kinds of mistake.
  const kinds = new Set(Object.values(KINDS));
  fc.assert(
    fc.property(fc.string({ maxLength: 40 }), (s) => {
      try {
        JSON.parse(s);
        return true;
      } catch {
        try {
          parseJsonText(s, 'x');
          return false;
        } catch (err) {
          const m = /^x is not valid JSON \(line \d+, column \d+: (.*)\)$/s.exec((err as Error).message);
          return m !== null && kinds.has(m[1]!);
        }
      }
    }),
  );
});

void test('loopback addresses as sockets describe them', () => {
  for (const a of ['127.0.0.1:5000', '127.3.2.1:1', '[::1]:4040', '[::ffff:127.0.0.1]:80', 'localhost:1'])
    assert.equal(isLoopbackAddress(a), true, a);
  for (const a of ['10.0.0.1:5000', '[2001:db8::1]:4040', 'unix', '192.168.1.127:127', '[::ffff:10.0.0.1]:80'])
    assert.equal(isLoopbackAddress(a), false, a);
});

void test('the built-in roles: local may register and send but not stop, sniff, take reserved names or reach sync', () => {
  const policy = new TrustPolicy(parseTrustConfig({}, {}), RESERVED, [tokenDigest('sbh_admin_token_0123456789')]);
  const local = policy.anonymous('loopback');
  assert.equal(local.identity, 'local');
  assert.equal(local.all, false);
  assert.equal(local.registerProblem('clock'), undefined);
  assert.equal(local.registerProblem('sync')?.reason, 'reserved');
  assert.match(local.registerProblem('sync')!.message, /reserved for the hub's built-in service/);
  assert.equal(local.maySend('clock'), true);
  assert.equal(local.maySend('clock#2'), true);
  assert.equal(local.maySend('dispatcher'), true);
  assert.equal(local.maySend('sync'), false);
  assert.equal(local.maySend('sync#1'), false);
  assert.equal(local.mayBroadcast('RELOAD'), true);
  for (const c of ['LIST_SERVICES', 'SERVICE_STATUS', 'MESH_STATUS', 'CLUSTER_STATUS', 'HELP', 'AUTH', 'UNSNIFF'])
    assert.equal(local.mayUse(c), true, c);
  for (const c of ['STOP', 'SHUTDOWN', 'FORGET', 'SNIFF']) {
    assert.equal(local.mayUse(c), false, c);
    const r = local.commandRefusal(c);
    assert.equal(r.rule, 'roles.local.commands');
    assert.match(r.message, /identity "local" \(unauthenticated loopback connection, role local\) may not use/);
    assert.match(r.message, /hub\.token/);
  }
  assert.equal(local.instanceProblem('clock', 'local'), undefined);
  assert.match(local.instanceProblem('billing', 'billing')!.message, /registered by identity "billing"/);

  const admin = policy.byToken('sbh_admin_token_0123456789')!;
  assert.equal(admin.identity, 'admin');
  assert.equal(admin.all, true);
  assert.equal(admin.registerProblem('sync'), undefined);
  assert.equal(admin.instanceProblem('billing', 'billing'), undefined);
  assert.equal(policy.byToken('sbh_wrong_token_0123456789'), undefined);
  assert.equal(policy.anonymous('unix').all, true, 'the 0600 socket admits only its owner');
  assert.equal(policy.anonymous('internal').identity, 'hub');
  assert.equal(policy.anonymous('network').role, 'local');
  // One grant per identity: the connections of one identity share its caches.
  assert.equal(policy.anonymous('loopback'), local);
});

void test('local_trust=full: every local connection may do anything; the network keeps its role', () => {
  const policy = new TrustPolicy(parseTrustConfig({ local_trust: 'full' }, {}), RESERVED);
  for (const o of ['loopback', 'unix', 'signal'] as const) {
    const g = policy.anonymous(o);
    assert.equal(g.all, true);
    assert.equal(g.mayUse('STOP'), true);
    assert.equal(g.registerProblem('sync'), undefined);
  }
  assert.equal(policy.anonymous('network').all, false);
  assert.throws(() => parseTrustConfig({ local_trust: 'yes' }, {}), /local_trust must be "roles"/);
});

void test('identities: tokens from files and variables, certificate subjects, patterns, own lists on top of a role', () => {
  const d = dir();
  writeFileSync(join(d, 'billing.token'), 'billing-token-0123456789\n', { mode: 0o600 });
  const spec = parseTrustConfig(
    {
      identities: {
        billing: {
          role: 'none',
          token_file: join(d, 'billing.token'),
          register: ['billing', 'billing_*'],
          send: 'ledger, mail_*',
          broadcast: ['RELOAD'],
          commands: ['LIST_SERVICES'],
        },
        ops: { role: 'admin', token_env: 'OPS_TOKEN' },
        web: { role: 'reader', subject: 'CN=web.example.com, O=Acme' },
        syncer: {
          role: 'local',
          token_sha256: tokenDigest('syncer-token-0123456789'),
          register: ['sync'],
          send: ['sync'],
        },
      },
      roles: { reader: { send: ['*'], commands: ['LIST_SERVICES'] } },
    },
    { OPS_TOKEN: 'ops-token-0123456789' },
  );
  const p = new TrustPolicy(spec, RESERVED);
  const billing = p.byToken('billing-token-0123456789')!;
  assert.equal(billing.identity, 'billing');
  assert.equal(billing.registerProblem('billing_eu'), undefined);
  assert.equal(billing.registerProblem('billingx')?.rule, 'identities.billing.register');
  assert.equal(billing.registerProblem('sync')?.reason, 'reserved');
  assert.equal(billing.maySend('mail_eu'), true);
  assert.equal(billing.maySend('clock'), false);
  assert.equal(billing.sendRefusal('clock').rule, 'identities.billing.send');
  assert.equal(billing.mayBroadcast('RELOAD'), true);
  assert.equal(billing.mayBroadcast('PURGE'), false);
  assert.equal(billing.mayUse('LIST_SERVICES'), true);
  assert.equal(billing.mayUse('MESH_STATUS'), false);
  assert.equal(billing.instanceProblem('billing', 'billing')?.rule, 'identities.billing.instances');
  assert.equal(p.byToken('ops-token-0123456789')?.all, true);
  const web = p.byCertificate('O=Acme,CN=web.example.com') ?? p.byCertificate('CN=web.example.com,O=Acme');
  assert.equal(web?.identity, 'web');
  assert.equal(web?.proof, 'certificate');
  assert.equal(p.byCertificate('CN=other'), undefined);
  // A reserved name is granted by naming it exactly, never by a pattern.
  const syncer = p.byToken('syncer-token-0123456789')!;
  assert.equal(syncer.registerProblem('sync'), undefined);
  assert.equal(syncer.maySend('sync'), true);
  assert.equal(normaliseSubject('cn = web , o=Acme'), 'CN=web,O=Acme');
});

void test('bad trust configuration is refused with a sentence naming the key, never a token', () => {
  const refused = (sources: Parameters<typeof parseTrustConfig>[0], re: RegExp, env = {}) =>
    assert.throws(
      () => parseTrustConfig(sources, env),
      (err: Error & { code?: string }) =>
        err.code === 'INVALID_CONFIG' && re.test(err.message) && !/s3cret-token/.test(err.message),
    );
  refused(
    { identities: { a: { token: 's3cret-token-0123456789' } } },
    /identities\.a\.token: a token is not written in the configuration; give token_file/,
  );
  refused(
    { identities: { a: { token_env: 'NOPE' } } },
    /identities\.a\.token_env: the environment variable NOPE is not set/,
  );
  refused({ identities: { a: { token_env: 'T' } } }, /identities\.a\.token_env: a token must be 16 to 512/, {
    T: 'short',
  });
  refused(
    { identities: { a: { role: 'boss' } } },
    /identities\.a\.role "boss" is not a role \(built in: admin, local, none\)/,
  );
  refused({ identities: { a: { send: ['a b'] } } }, /identities\.a\.send must be a list of names or patterns/);
  refused({ identities: { a: { colour: 'red' } } }, /identities\.a\./);
  refused({ identities: { admin: {} } }, /names a built-in identity/);
  refused({ identities: { a: { token_sha256: 'abc' } } }, /must be SHA-256 digests in hex/);
  refused({ roles: { admin: {} } }, /roles\.admin is built in/);
  refused({ identities: '{"a": ' }, /identities is not valid JSON \(line 1, column 7/);
  refused({ local_role: 'boss' }, /local_role "boss" is not a role/);
});

void test('the hub configuration: both file forms, unix_group makes the socket local by default, the UDP rule', () => {
  const d = dir();
  writeFileSync(join(d, 'b.token'), 'billing-token-0123456789', { mode: 0o600 });
  const conf = join(d, 'hub.conf');
  writeFileSync(
    conf,
    [
      'local_trust=roles',
      `identity.Billing-EU.token_file=${join(d, 'b.token')}`,
      'identity.Billing-EU.register=billing,billing_*',
      'identity.Billing-EU.instances=true',
      'role.reader.commands=LIST_SERVICES',
      'unix_listen=cd:///tmp/sb-trust-test.sock',
      'unix_group=0',
    ].join('\n'),
  );
  const c = loadConfig({ env: {}, flags: { config: conf, dataPath: d } });
  assert.deepEqual(Object.keys(c.trust.identities), ['Billing-EU']);
  assert.deepEqual(c.trust.identities['Billing-EU']!.register, ['billing', 'billing_*']);
  assert.equal(c.trust.identities['Billing-EU']!.instances, true);
  assert.deepEqual(c.trust.identities['Billing-EU']!.tokenDigests, [tokenDigest('billing-token-0123456789')]);
  assert.deepEqual(c.trust.roles.reader, { commands: ['LIST_SERVICES'] });
  assert.equal(c.trust.anonymous.unix, 'local');
  assert.equal(c.unixGroup, '0');

  const json = join(d, 'hub.json');
  writeFileSync(
    json,
    JSON.stringify({ identities: { ops: { role: 'admin', token_sha256: tokenDigest('x'.repeat(20)) } } }),
  );
  assert.equal(loadConfig({ env: {}, flags: { config: json, dataPath: d } }).trust.identities.ops?.role, 'admin');
  assert.equal(loadConfig({ env: {}, flags: { dataPath: d } }).trust.anonymous.unix, 'admin');

  assert.throws(
    () => loadConfig({ env: {}, flags: { dataPath: d, signal: 'cdu://0.0.0.0:0' } }),
    /signal cdu:\/\/0\.0\.0\.0:0 listens beyond this machine without signal_secret: anyone who can reach it could send STOP/,
  );
  const secret = join(d, 'signal.secret');
  writeFileSync(secret, 'a-signal-secret\n', { mode: 0o600 });
  assert.equal(
    loadConfig({ env: {}, flags: { dataPath: d, signal: 'cdu://0.0.0.0:0', signalSecretFile: secret } }).signalSecret,
    'a-signal-secret',
  );
  assert.equal(
    loadConfig({ env: { SWITCHBOARD_SIGNAL_SECRET: 'from-env' }, flags: { dataPath: d, signal: 'cdu://0.0.0.0:0' } })
      .signalSecret,
    'from-env',
  );
  assert.throws(
    () => loadConfig({ env: {}, flags: { dataPath: d, tokenFile: 'relative/hub.token' } }),
    /token_file must be an absolute file path/,
  );
  assert.throws(
    () => loadConfig({ env: {}, flags: { dataPath: d, wsOrigins: 'evil.example' } }),
    /ws_origins must be origins/,
  );
});

void test('cluster commands: a proof holds for its identity, command and detail, once, while fresh', async () => {
  const { ClusterCommandGuard } = await import('./cluster-commands.js');
  const { RefusalLog } = await import('./refusals.js');
  const { getLogger } = await import('../core/log.js');
  const token = 'sbh_cluster-admin-token-0123456789';
  const policy = new TrustPolicy(parseTrustConfig({}, {}), RESERVED, [tokenDigest(token)]);
  let now = 1_000_000;
  const guard = new ClusterCommandGuard(policy, new RefusalLog(getLogger('test')), () => now);
  const receiver = new ClusterCommandGuard(policy, new RefusalLog(getLogger('test')), () => now);
  const proof = guard.sign('FORGET', '10.0.0.9', { identity: 'admin', digest: tokenDigest(token) })!;
  assert.match(receiver.check('FORGET', '10.0.0.8', { ...proof }, 'hub x') ?? '', /no token of an identity/);
  assert.equal(receiver.check('FORGET', '10.0.0.9', { ...proof }, 'hub x'), undefined);
  assert.match(receiver.check('FORGET', '10.0.0.9', { ...proof }, 'hub x') ?? '', /seen before \(a replay\)/);
  const late = guard.sign('SHUTDOWN', '', { identity: 'admin', digest: tokenDigest(token) })!;
  now += 6 * 60_000;
  assert.match(receiver.check('SHUTDOWN', '', { ...late }, 'hub x') ?? '', /not fresh/);
  assert.match(receiver.check('SHUTDOWN', '', {}, 'hub y') ?? '', /carries no proof/);
  const local = guard.sign('SHUTDOWN', '', { identity: 'local', digest: tokenDigest(token) })!;
  assert.match(receiver.check('SHUTDOWN', '', { ...local }, 'hub z') ?? '', /signed by "local"/);
  assert.deepEqual(
    receiver.refused().map((r) => [r.peer, r.command, r.count]),
    [
      ['hub x', 'FORGET', 2],
      ['hub x', 'SHUTDOWN', 1],
      ['hub y', 'SHUTDOWN', 1],
      ['hub z', 'SHUTDOWN', 1],
    ],
  );
});

void test('issued tokens are masked wherever they start a token, also after an underscore; other words are left', () => {
  assert.equal(redactSecretText('key sbt_abc123 here'), 'key sbt_*** here');
  assert.equal(redactSecretText('api_key=x_sbt_abc123;next'), 'api_key=x_sbt_***;next');
  assert.equal(redactSecretText('"sbh_Zz-09_x"'), '"sbh_***"');
  assert.equal(redactSecretText('absbt_abc sbtx_1'), 'absbt_abc sbtx_1');
});
