import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateManifest } from './manifest.js';

const good = { name: 'files', source: 'Local', uri: '/opt/files', command: './run' };

void test('a valid manifest gets defaults; --name overrides or supplies the name', () => {
  assert.deepEqual(validateManifest(good), {
    name: 'files',
    description: '',
    source: 'Local',
    uri: '/opt/files',
    install_command: '',
    update_command: '',
    command: './run',
    protocol: 'go-plugin',
    options_schema: null,
    env: [],
    timeout: null,
    airbyte: null,
  });
  assert.equal(validateManifest(good, { nameOverride: 'other' }).name, 'other');
  const { name: _n, ...nameless } = good;
  assert.equal(validateManifest(nameless, { nameOverride: 'x' }).name, 'x');
  assert.throws(() => validateManifest(nameless), /field "name" is required \(or give --name\)/);
});

void test('relative Local URIs resolve against the manifest folder', () => {
  assert.equal(validateManifest({ ...good, uri: 'bin/conn' }, { baseDir: '/srv/m' }).uri, '/srv/m/bin/conn');
  assert.equal(
    validateManifest({ ...good, source: 'VCS', uri: 'git@h:r.git' }, { baseDir: '/srv/m' }).uri,
    'git@h:r.git',
  );
});

void test('errors name each bad field', () => {
  assert.throws(
    () => validateManifest({ name: 'x', source: 'FTP', uri: 'u', command: 'c' }),
    (err: Error) => {
      assert.match(err.message, /field "source" must be one of HTTP, VCS or Local \(got "FTP"\)/);
      assert.equal((err as { code?: string }).code, 'INVALID_ARGUMENT');
      return true;
    },
  );
  assert.throws(() => validateManifest({ name: 'x', source: 'VCS', uri: 'u' }), /field "command" is required/);
  assert.throws(() => validateManifest({ name: 'x', command: 'c', uri: 'u' }), /field "source" is required/);
  assert.throws(
    () => validateManifest({ name: 'x', source: 'HTTP', command: 'c', uri: 5 }),
    /field "uri" must be a string/,
  );
  assert.throws(() => validateManifest({ ...good, name: '../evil' }), /field "name" must be letters, digits/);
  assert.throws(() => validateManifest({ ...good }, { nameOverride: 'a b' }), /connector name "a b" must be/);
  assert.throws(() => validateManifest([1, 2]), /a manifest must be a JSON object/);
  assert.throws(
    () => validateManifest({ ...good, install_command: 3, command: '' }),
    (err: Error) => /install_command/.test(err.message) && /"command" must not be empty/.test(err.message),
  );
});
