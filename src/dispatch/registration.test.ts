// Registration and trigger changes made by another process (the CLI, the dashboard, another
// dispatcher) at the same moment: the agent must start with the triggers the store holds when it
// registers, whatever the dispatcher's poll has seen. Both transports.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { needService, tempDir, waitFor } from '../core/test/support.js';
import { getLogger } from '../core/log.js';
import { hubPort, startTestHub } from '../hub/test/support.js';
import type { Hub } from '../hub/hub.js';
import type { DispatchDb } from './dispatcher/db.js';
import { openDispatchDb } from './open.js';
import { Agent } from './agent/agent.js';
import type { DispatcherReply } from './protocol/wire.js';
import { startAgent, startDispatcher } from './run.js';
import { HubAgentTransport } from './transport/hub.js';
import { AMQP_URL, deleteTopology, testPrefix } from './test/rabbit.js';
import { parseTriggers } from './trigger/parse.js';

const log = getLogger('dispatch-test');
const counter = [process.execPath, '--import', 'tsx', join(import.meta.dirname, 'test', 'fixtures', 'counter.ts')];
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const f of cleanups.reverse()) await f().catch(() => undefined);
});

const trigger = (name: string) =>
  parseTriggers(`name: ${name}\nwhen: { kind: counter, event: tick }\nthen: { kind: upper, task: upper }\n`, 't.yml');

for (const transport of ['amqp', 'hub'] as const) {
  void test(`${transport}: a trigger stored just before registration is in the registration's answer, even before the dispatcher's poll`, async (t) => {
    if (transport === 'amqp' && !(await needService(t, 'rabbitmq'))) return;
    const home = await tempDir('sb-dispatch-reg-');
    cleanups.push(home.cleanup);
    const { db, close } = await openDispatchDb({ home: home.path });
    cleanups.push(close);
    const token = await db.issueToken('counter');
    const prefix = testPrefix();
    let hubAddress: string | undefined;
    let hubToken: string | undefined;
    if (transport === 'amqp') cleanups.push(() => deleteTopology(prefix));
    else {
      const hub = await startTestHub();
      cleanups.push(() => hub.stop());
      hubAddress = `cd://127.0.0.1:${hubPort(hub)}`;
      // The dispatcher registers the reserved name `dispatcher`: the hub's admin token proves it may.
      hubToken = hub.adminToken;
    }
    // The dispatcher polls the store for trigger changes once an hour here: only the registration
    // path can bring the new trigger.
    const dispatcher = await startDispatcher({
      db,
      ...(transport === 'amqp' ? { amqp: AMQP_URL, prefix } : { hub: hubAddress, hubToken }),
      log,
      pollMs: 3_600_000,
    });
    cleanups.push(() => dispatcher.stop());
    await db.addTriggers(trigger('first'));
    const agent = await startAgent({
      command: counter,
      kind: 'counter',
      id: `counter-${transport}`,
      token,
      ...(transport === 'amqp' ? { amqp: AMQP_URL, prefix } : { dispatcher: hubAddress }),
      log,
      helloTimeoutMs: 5000,
    });
    cleanups.push(() => agent.stop());
    assert.equal(agent.triggers, 1, 'the agent got the trigger that concerns it at registration');
    assert.equal(agent.triggerVersion, await db.triggerVersion());
  });
}

/** A store with a token of kind `counter`, and a hub (both removed after the tests). */
async function storeAndHub(): Promise<{ db: DispatchDb; token: string; hub: Hub; address: string }> {
  const home = await tempDir('sb-dispatch-reg-');
  cleanups.push(home.cleanup);
  const { db, close } = await openDispatchDb({ home: home.path });
  cleanups.push(close);
  const hub = await startTestHub();
  cleanups.push(() => hub.stop());
  return { db, token: await db.issueToken('counter'), hub, address: `cd://127.0.0.1:${hubPort(hub)}` };
}

async function dispatcherOn(db: DispatchDb, hub: Hub, address: string): Promise<void> {
  const dispatcher = await startDispatcher({ db, hub: address, hubToken: hub.adminToken, log });
  cleanups.push(() => dispatcher.stop());
}

void test('hub: a hello that arrives while the registration is on its way reaches the registry', async () => {
  const { db, token, hub, address } = await storeAndHub();
  await dispatcherOn(db, hub, address);
  // The agent registers before the connector's hello (timeout 0); this transport holds that first
  // registration until the hello has come, as a slow network or a busy dispatcher would.
  class SlowFirstRegister extends HubAgentTransport {
    agent: Agent | undefined;
    private held = false;
    override async request(...args: Parameters<HubAgentTransport['request']>): Promise<DispatcherReply> {
      const agent = this.agent!;
      if (args[0].type === 'register' && !this.held) {
        this.held = true;
        if (!agent.declared) await new Promise((resolve) => agent.connector.once('hello', resolve));
      }
      return super.request(...args);
    }
  }
  const transport = new SlowFirstRegister({ address, log });
  const agent = new Agent({
    transport,
    command: counter,
    kind: 'counter',
    id: 'counter-hello',
    token,
    log,
    helloTimeoutMs: 0,
  });
  transport.agent = agent;
  cleanups.push(() => agent.stop());
  await agent.start();
  const record = await db.getConnector('counter-hello');
  assert.deepEqual([record?.events, record?.tasks], [['tick'], ['emit']]);
});

void test('hub: an agent that starts before the dispatcher has joined the hub registers once it has', async () => {
  const { db, token, hub, address } = await storeAndHub();
  // `switchboard start` says it runs before its dispatcher has registered; an agent started right
  // after asks a hub that has never seen the name `dispatcher`, so nothing keeps its request.
  const starting = startAgent({
    command: counter,
    kind: 'counter',
    id: 'counter-early',
    token,
    dispatcher: address,
    log,
  });
  cleanups.push(async () => (await starting).stop());
  await waitFor(() => hub.router.counters.failed > 0, { what: "the agent's registration, for nobody" });
  await dispatcherOn(db, hub, address);
  await starting;
  assert.equal((await db.getConnector('counter-early'))?.status, 'online');
});
