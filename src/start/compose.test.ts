/** The composition root: which capabilities each scope runs, and configuration reaching them as values. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../hub/config.js';
import { composeExtensions } from './compose.js';

const config = loadConfig({ env: {}, flags: { serverName: 'root', localListen: 'cd://127.0.0.1:0', signal: 'off' } });

void test('switchboard hub runs the remote side and discovery; start adds the built-in services, in that order', () => {
  assert.deepEqual(
    composeExtensions('hub', config, {}).map((e) => e.name),
    ['mesh', 'backplane', 'discovery'],
  );
  assert.deepEqual(
    composeExtensions('start', config, {}).map((e) => e.name),
    ['mesh', 'backplane', 'discovery', 'dispatcher', 'sync', 'dashboard'],
  );
});

void test("the dashboard's address comes from the environment given, unless start's flags decided it", () => {
  assert.throws(
    () => composeExtensions('start', config, { SWITCHBOARD_HTTP: 'not an address!' }),
    /expected HOST:PORT/,
  );
  // `hub` does not read the dashboard's settings at all; `--http off` (null) wins over the environment.
  assert.equal(composeExtensions('hub', config, { SWITCHBOARD_HTTP: 'not an address!' }).length, 3);
  assert.equal(composeExtensions('start', config, { SWITCHBOARD_HTTP: 'not an address!' }, { http: null }).length, 6);
});
