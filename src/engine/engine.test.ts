import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine, Plugin, PluginManager, type CallContext, type EngineErrorContext, type Profile } from './index.js';

process.env.SWITCHBOARD_LOG_LEVEL ??= 'silent';

class Calc extends Plugin {
  activations = 0;
  deactivations = 0;
  constructor(profile: Partial<Profile> = {}, options = {}) {
    super(
      { name: 'calc', methods: ['add', 'slow', 'wait', 'selfAdd', 'boom'], events: ['computed'], ...profile },
      options,
    );
  }
  override onActivation() {
    this.activations++;
  }
  override onDeactivation() {
    this.deactivations++;
  }
  add(a: number, b: number) {
    this.emit('computed', a + b);
    return a + b;
  }
  async slow(ms: number) {
    await new Promise((r) => setTimeout(r, ms));
    return ms;
  }
  boom() {
    throw new Error('kaboom');
  }
  selfAdd(a: number) {
    return this.call('calc', 'add', a, a);
  }
  // Sees the engine's cancellation through the call context.
  override callPluginMethod(method: string, args: unknown[], ctx: CallContext): unknown {
    if (method === 'wait') {
      return new Promise((resolve) =>
        ctx.signal.addEventListener('abort', () => {
          this.emit('aborted', (ctx.signal.reason as Error).message);
          resolve('late');
        }),
      );
    }
    return super.callPluginMethod(method, args, ctx);
  }
}

function setup(opts: { calc?: Calc; manager?: PluginManager; errors?: Array<[unknown, EngineErrorContext]> } = {}) {
  const errors = opts.errors ?? [];
  const engine = new Engine({ onError: (err, ctx) => errors.push([err, ctx]) });
  const manager = opts.manager ?? new PluginManager();
  const calc = opts.calc ?? new Calc();
  const app = new Plugin({ name: 'app' });
  engine.register([manager, calc, app]);
  return { engine, manager, calc, app, errors };
}

void test('register, activate with hooks, call, deactivate; duplicates refused', async () => {
  const { engine, manager, calc, app } = setup();
  assert.throws(() => engine.register(new Plugin({ name: 'calc' })), /already registered/);
  assert.equal(engine.isRegistered('calc'), true);
  await manager.activatePlugin(['app', 'calc']);
  assert.equal(calc.activations, 1);
  assert.equal(await manager.isActive('calc'), true);
  assert.equal(await app.call('calc', 'add', 2, 3), 5);
  await manager.deactivatePlugin('calc');
  assert.equal(calc.deactivations, 1);
  assert.equal(await manager.isActive('calc'), false);
  await engine.remove('calc');
  assert.equal(engine.isRegistered('calc'), false);
  await assert.rejects(app.call('calc', 'add', 1, 1), { code: 'NOT_FOUND' });
});

void test('manager emits pluginActivated, pluginDeactivated, profileAdded, profileUpdated', async () => {
  const { engine, manager, app } = setup();
  const seen: string[] = [];
  app.on('manager', 'pluginActivated', (p) => seen.push(`activated:${(p as Profile).name}`));
  app.on('manager', 'pluginDeactivated', (p) => seen.push(`deactivated:${(p as Profile).name}`));
  app.on('manager', 'profileAdded', (p) => seen.push(`added:${(p as Profile).name}`));
  app.on('manager', 'profileUpdated', (p) => seen.push(`updated:${(p as Profile).name}`));
  await manager.activatePlugin('app');
  await manager.activatePlugin('calc');
  engine.register(new Plugin({ name: 'late' }));
  await manager.updateProfile({ name: 'late', description: 'x' });
  await manager.deactivatePlugin('calc');
  // 'added:app' is the replay of the last profileAdded; app sees its own activation (its subscriptions apply first).
  assert.deepEqual(seen, [
    'added:app',
    'activated:app',
    'activated:calc',
    'added:late',
    'updated:late',
    'deactivated:calc',
  ]);
  assert.equal((await manager.getProfile('late'))?.description, 'x');
});

void test('a method not in the profile is refused, naming the exposed methods', async () => {
  const { manager, app } = setup();
  await manager.activatePlugin(['app', 'calc']);
  await assert.rejects(app.call('calc', 'constructor'), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'NOT_FOUND');
    assert.match(err.message, /"constructor" is not in its profile's methods \(exposed: "add"/);
    return true;
  });
});

void test('permission: a profile with permission:true asks the manager canCall; denied calls reject', async () => {
  class Strict extends PluginManager {
    override canCall(from: Profile, _to: Profile, method: string) {
      return from.name === 'app' && method === 'add';
    }
  }
  const { engine, manager, app } = setup({ manager: new Strict(), calc: new Calc({ permission: true }) });
  const other = new Plugin({ name: 'other' });
  engine.register(other);
  await manager.activatePlugin(['app', 'calc', 'other']);
  assert.equal(await app.call('calc', 'add', 1, 2), 3);
  await assert.rejects(other.call('calc', 'add', 1, 2), { code: 'PERMISSION_DENIED' });
  await assert.rejects(app.call('calc', 'slow', 1), { code: 'PERMISSION_DENIED' });
  // Remix's askUserPermission asks the same canCall for the current caller.
  const gate = new (class extends Plugin {
    async guarded(method: string) {
      return this.askUserPermission(method);
    }
  })({ name: 'gate', methods: ['guarded', 'add'] });
  engine.register(gate);
  assert.equal(await app.call('gate', 'guarded', 'add'), true);
  assert.equal(await other.call('gate', 'guarded', 'add'), false);
  assert.equal(await app.call('gate', 'guarded', 'notExposed'), false);
});

void test('auto-activation on call, and refusal by the manager or the plugin', async () => {
  class NoAuto extends PluginManager {
    override canActivatePlugin(from: Profile) {
      return from.name !== 'other';
    }
  }
  const { engine, manager, calc, app } = setup({ manager: new NoAuto() });
  const other = new Plugin({ name: 'other' });
  const shy = new (class extends Plugin {
    override canActivate() {
      return false;
    }
    add() {
      return 0;
    }
  })({ name: 'shy', methods: ['add'] });
  engine.register([other, shy]);
  await manager.activatePlugin(['app', 'other']);
  await assert.rejects(other.call('calc', 'add', 1, 1), { code: 'PERMISSION_DENIED' });
  assert.equal(calc.activations, 0);
  // Concurrent calls activate once.
  const results = await Promise.all([app.call('calc', 'add', 1, 1), app.call('calc', 'add', 2, 2)]);
  assert.deepEqual(results, [2, 4]);
  assert.equal(calc.activations, 1);
  await assert.rejects(app.call('shy', 'add'), /may not be activated/);
  // Plugin errors come back as errors.
  await assert.rejects(app.call('calc', 'boom'), /kaboom/);
});

void test('events: last value replayed to new listeners; once; off; memory cleared on deactivation', async () => {
  const { engine, manager, app } = setup();
  await manager.activatePlugin(['app', 'calc']);
  await app.call('calc', 'add', 1, 1);
  const got: unknown[] = [];
  app.on('calc', 'computed', (v) => got.push(v));
  assert.deepEqual(got, [2], 'replayed the last value');
  await app.call('calc', 'add', 2, 3);
  assert.deepEqual(got, [2, 5]);
  const onceGot: unknown[] = [];
  const listener = new Plugin({ name: 'listener' });
  engine.register(listener);
  await manager.activatePlugin('listener');
  listener.once('calc', 'computed', (v) => onceGot.push(v));
  await app.call('calc', 'add', 5, 5);
  assert.deepEqual(onceGot, [5], 'once gets the replay only');
  app.off('calc', 'computed');
  await app.call('calc', 'add', 1, 0);
  assert.deepEqual(got, [2, 5, 10]);
  await manager.deactivatePlugin('calc');
  const after: unknown[] = [];
  app.on('calc', 'computed', (v) => after.push(v));
  assert.deepEqual(after, [], 'memory of a deactivated emitter is gone');
});

void test('subscriptions made before activation are kept and applied on activation', async () => {
  const { manager, app } = setup();
  const got: unknown[] = [];
  app.on('calc', 'computed', (v) => got.push(v));
  await manager.activatePlugin(['app', 'calc']);
  await app.call('calc', 'add', 4, 4);
  assert.deepEqual(got, [8]);
});

void test('per-call timeout (default from the plugin, override per call) and AbortSignal cancellation', async () => {
  const { manager, app } = setup({ calc: new Calc({}, { callTimeoutMs: 50, concurrency: 4 }) });
  await manager.activatePlugin(['app', 'calc']);
  await assert.rejects(
    app.call('calc', 'slow', 500),
    (err: Error & { code?: string }) =>
      err.code === 'TIMEOUT' && /\[TIMEOUT\].*"calc.slow" from "app".*50 ms/.test(err.message),
  );
  assert.equal(await app.callWith({ timeoutMs: 1000 }, 'calc', 'slow', 80), 80);
  const aborted: string[] = [];
  app.on('calc', 'aborted', (m) => aborted.push(String(m)));
  const controller = new AbortController();
  const p = app.callWith({ signal: controller.signal, timeoutMs: 0 }, 'calc', 'wait');
  setTimeout(() => controller.abort(new Error('user closed the dialog')), 10);
  await assert.rejects(
    p,
    (err: Error & { code?: string }) => err.code === 'CANCELLED' && /user closed the dialog/.test(err.message),
  );
  assert.equal(aborted.length, 1, 'the method saw its signal abort');
  const pre = new AbortController();
  pre.abort();
  await assert.rejects(app.callWith({ signal: pre.signal }, 'calc', 'add', 1, 1), { code: 'CANCELLED' });
});

void test('concurrency: one call at a time by default; configurable', async () => {
  for (const [concurrency, expectMax] of [
    [1, 1],
    [3, 3],
  ] as const) {
    let running = 0;
    let max = 0;
    const p = new (class extends Plugin {
      async work() {
        running++;
        max = Math.max(max, running);
        await new Promise((r) => setTimeout(r, 5));
        running--;
        return true;
      }
    })({ name: 'worker', methods: ['work'] }, { concurrency });
    const engine = new Engine();
    const manager = new PluginManager();
    const app = new Plugin({ name: 'app' });
    engine.register([manager, p, app]);
    await manager.activatePlugin(['app', 'worker']);
    await Promise.all(Array.from({ length: 9 }, () => app.call('worker', 'work')));
    assert.equal(max, expectMax);
  }
});

void test("cancel(): Remix-style cancel of a caller's queued calls", async () => {
  const { manager, app } = setup();
  await manager.activatePlugin(['app', 'calc']);
  const first = app.call('calc', 'slow', 30);
  const queued = app.call('calc', 'slow', 30);
  assert.equal(app.cancel('calc', 'slow'), 2);
  await assert.rejects(first, { code: 'CANCELLED' });
  await assert.rejects(queued, /\[CANCEL\]/);
});

void test('a plugin calling its own method does not deadlock behind its running call', async () => {
  const { manager, app } = setup();
  await manager.activatePlugin(['app', 'calc']);
  assert.equal(await app.call('calc', 'selfAdd', 21), 42);
});

void test('errors in hooks and listeners reach the error handler; activation errors reject and are reported', async () => {
  const errors: Array<[unknown, EngineErrorContext]> = [];
  class Bad extends Plugin {
    override onRegistration() {
      throw new Error('reg failed');
    }
    override onActivation() {
      throw new Error('act failed');
    }
  }
  const { engine, manager, app } = setup({ errors });
  engine.register(new Bad({ name: 'bad' }));
  await assert.rejects(manager.activatePlugin('bad'), /act failed/);
  assert.equal(await manager.isActive('bad'), false);
  class BadOff extends Plugin {
    override async onDeactivation() {
      throw new Error('deact failed');
    }
  }
  engine.register(new BadOff({ name: 'badoff' }));
  await manager.activatePlugin(['badoff', 'app', 'calc']);
  await manager.deactivatePlugin('badoff');
  assert.equal(await manager.isActive('badoff'), false, 'deactivation still happens');
  app.on('calc', 'computed', () => {
    throw new Error('listener failed');
  });
  assert.equal(await app.call('calc', 'add', 1, 2), 3, 'a throwing listener does not break the emitter');
  manager.onPluginActivated = () => {
    throw new Error('hook failed');
  };
  engine.register(new Plugin({ name: 'z' }));
  await manager.activatePlugin('z');
  const sources = errors.map(([e, c]) => `${c.source}:${(e as Error).message}`);
  assert.deepEqual(sources, [
    'onRegistration:reg failed',
    'onActivation:act failed',
    'onDeactivation:deact failed',
    'event-listener:listener failed',
    'manager-hook:hook failed',
  ]);
});

void test('deactivation permissions: a plugin may deactivate itself, not others; plugins may refuse', async () => {
  const { engine, manager, app } = setup();
  const other = new Plugin({ name: 'other' });
  engine.register(other);
  await manager.activatePlugin(['app', 'calc', 'other']);
  await assert.rejects(app.call('manager', 'deactivatePlugin', 'calc'), { code: 'PERMISSION_DENIED' });
  await other.call('manager', 'deactivatePlugin', 'other');
  assert.equal(await manager.isActive('other'), false);
  // updateProfile from a plugin: only its own profile
  await assert.rejects(app.call('manager', 'updateProfile', { name: 'calc', description: 'hacked' }), {
    code: 'PERMISSION_DENIED',
  });
  await assert.rejects(
    app.call('manager', 'updateProfile', { name: 'app', methods: 'not a list' }),
    (err: Error & { code?: string }) => err.code === 'INVALID_ARGUMENT' && /"methods"/.test(err.message),
  );
  await app.call('manager', 'updateProfile', { name: 'app', description: 'mine' });
  assert.equal((await manager.getProfile('app'))?.description, 'mine');
});
