import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { JsonValue } from '../../core/message.js';
import { parseTriggers, TriggerFileError } from './parse.js';
import { compileFilter } from './filter.js';
import { resolveInputs, type EventEnvelope } from './inputs.js';
import { compileTrigger, TriggerIndex, triggerMatches, type MatchableEvent } from './matcher.js';
import { actionPolicy, backoffMs, type Filter, type TriggerSpec } from './schema.js';

const GOOD = `name: paid
when:
  kind: webhook
  event: request
filters:
  - { path: body.amount, op: gt, value: 100 }
then:
  kind: http-request
  task: request
  inputs:
    url: http://127.0.0.1:9/x
    body: { $ref: data.body }
`;

void test('parses a YAML trigger with defaults', () => {
  const [t] = parseTriggers(GOOD, 't.yml');
  assert.equal(t!.name, 'paid');
  assert.deepEqual(t!.when, { kind: 'webhook', event: 'request' });
  assert.equal(t!.filters[0]!.op, 'gt');
  assert.deepEqual(t!.then.inputs.body, { $ref: 'data.body' });
});

void test('parses JSON and lists of triggers', () => {
  const json = JSON.stringify(
    { triggers: [{ name: 'a', when: { connector: 'c1', event: '*' }, then: { connector: 'c2', task: 't' } }] },
    null,
    2,
  );
  const ts = parseTriggers(json, 't.json');
  assert.equal(ts.length, 1);
  assert.deepEqual(ts[0]!.filters, []);
  assert.deepEqual(ts[0]!.then.inputs, {});
});

void test('errors name the line and the field', () => {
  const bad = GOOD.replace('op: gt', 'op: bigger').replace('task: request', 'task: request\n  colour: red');
  assert.throws(
    () => parseTriggers(bad, 't.yml'),
    (err: unknown) => {
      assert.ok(err instanceof TriggerFileError);
      const byField = Object.fromEntries(err.problems.map((p) => [p.field, p]));
      assert.equal(byField['filters[0].op']!.line, 6);
      assert.match(byField['filters[0].op']!.message, /one of eq, ne/);
      assert.equal(byField['then.colour']!.line, 10);
      assert.match(err.message, /t\.yml:6: filters\[0\]\.op:/);
      return true;
    },
  );
});

void test('errors in a list say which trigger, and catch bad refs, regexes, targets', () => {
  const text = `- name: ok
  when: { kind: a, event: e }
  then: { kind: b, task: t }
- name: bad
  when: { kind: a, connector: x, event: e }
  filters:
    - { path: x, op: regex, value: "(" }
  then:
    kind: b
    task: t
    inputs:
      a: { $ref: body.x }
`;
  assert.throws(
    () => parseTriggers(text, 'l.yml'),
    (err: unknown) => {
      assert.ok(err instanceof TriggerFileError);
      const fields = err.problems.map((p) => `${p.line} ${p.field}`);
      assert.ok(fields.includes('5 [1].when'), fields.join('|'));
      assert.ok(fields.includes('7 [1].filters[0].value'), fields.join('|'));
      assert.ok(fields.includes('12 [1].then.inputs.a.$ref'), fields.join('|'));
      return true;
    },
  );
});

void test('tries, back-off, timeout and emit: defaults, and refusals a person can act on', () => {
  const base = 'name: t\nwhen: { kind: a, event: e }\nthen:\n  kind: b\n  task: t\n';
  const [plain] = parseTriggers(base, 't.yml');
  assert.deepEqual(actionPolicy(plain!.then), {
    attempts: 1,
    delayMs: 1000,
    factor: 2,
    maxDelayMs: 3_600_000,
    timeoutMs: null,
    emit: null,
  });
  const [full] = parseTriggers(
    `${base}  attempts: 5\n  backoff: { delay: 500ms, factor: 3, max: 1m }\n  timeout: 1m30s\n  emit: done\n`,
    't.yml',
  );
  const p = actionPolicy(full!.then);
  assert.deepEqual(p, { attempts: 5, delayMs: 500, factor: 3, maxDelayMs: 60_000, timeoutMs: 90_000, emit: 'done' });
  assert.deepEqual(
    [1, 2, 3, 4, 5].map((a) => backoffMs(p, a, 0)),
    [500, 1500, 4500, 13_500, 40_500],
  );
  assert.equal(backoffMs(p, 9, 0), 60_000, 'capped at max');
  assert.equal(backoffMs(p, 1, 1), 550, 'at most 10% longer');
  assert.equal(actionPolicy(parseTriggers(`${base}  attempts: 2\n  backoff: 2s\n`, 't.yml')[0]!.then).delayMs, 2000);

  const problem = (extra: string) => {
    try {
      parseTriggers(base + extra, 't.yml');
    } catch (err) {
      assert.ok(err instanceof TriggerFileError);
      return err.message;
    }
    assert.fail(`accepted: ${extra}`);
  };
  assert.match(
    problem('  attempts: 0\n'),
    /t\.yml:6: then\.attempts: attempts is how many times the task is tried in all: a whole number from 1 to 100/,
  );
  assert.match(problem('  attempts: 2.5\n'), /a whole number from 1 to 100/);
  assert.match(problem('  attempts: "3"\n'), /a whole number from 1 to 100/);
  assert.match(
    problem('  backoff: 2s\n'),
    /then\.backoff: backoff is the wait between tries: it needs attempts of 2 or more/,
  );
  assert.match(
    problem('  attempts: 3\n  backoff: soon\n'),
    /backoff must be a duration such as 2s \(doubling each try\), or { delay: 2s, factor: 2, max: 10m }/,
  );
  assert.match(problem('  attempts: 3\n  backoff: { delay: 1s, factor: 50 }\n'), /backoff\.factor is a number from 1/);
  assert.match(problem('  attempts: 3\n  backoff: { delay: 1s, jitter: 2 }\n'), /backoff/);
  assert.match(problem('  timeout: 10ms\n'), /then\.timeout: timeout must lie between 100ms and 7d \(got 10ms\)/);
  assert.match(problem('  timeout: 30\n'), /then\.timeout:/);
  assert.match(problem('  timeout: 8d\n'), /between 100ms and 7d/);
  assert.match(problem('  emit: "a b"\n'), /then\.emit: emit may hold letters, digits and _ \. : - only/);
});

void test('then: { sync: ACCOUNT } starts a sync; it takes no task or inputs, and names an account', () => {
  const base = 'name: s\nwhen: { kind: timer, event: tick }\n';
  const [t] = parseTriggers(`${base}then: { sync: github/main, attempts: 2, emit: synced }\n`, 's.yml');
  assert.equal(t!.then.sync, 'github/main');
  assert.equal(actionPolicy(t!.then).emit, 'synced');
  assert.equal(parseTriggers(`${base}then: { sync: 7 }\n`, 's.yml')[0]!.then.sync, '7', 'an account id');
  assert.equal(parseTriggers(`${base}then: { sync: main }\n`, 's.yml')[0]!.then.sync, 'main');
  const problem = (then: string) => {
    try {
      parseTriggers(`${base}then: ${then}\n`, 's.yml');
    } catch (err) {
      assert.ok(err instanceof TriggerFileError);
      return err.message;
    }
    assert.fail(`accepted: ${then}`);
  };
  assert.match(
    problem('{ sync: a/b, task: t }'),
    /s\.yml:3: then\.task: a sync runs the account's connector: it takes no task/,
  );
  assert.match(problem('{ sync: a/b, inputs: { x: 1 } }'), /then\.inputs: a sync takes no inputs/);
  assert.match(problem('{ sync: a/b, kind: k, task: t }'), /then needs exactly one of kind or connector .* or sync/);
  assert.match(problem('{ kind: k }'), /then\.task: is required: the task the connector runs/);
  assert.match(problem('{ sync: "/b" }'), /then\.sync: sync names an account: its id, connector\/name/);
  assert.match(problem('{ sync: "a b/c" }'), /sync names an account/);
  assert.match(problem('{ sync: 0 }'), /sync names an account/);
  assert.match(problem('{ sync: [a] }'), /sync names an account/);
});

void test('syntax errors and missing fields name a line', () => {
  assert.throws(() => parseTriggers('name: [oops\n', 'x.yml'), /x\.yml:\d+:/);
  assert.throws(() => parseTriggers('name: a\nwhen: { kind: k, event: e }\n', 'x.yml'), /x\.yml:1: then: is required/);
});

void test('filter ops', () => {
  const data: JsonValue = { a: { b: 5, s: 'hello', list: [1, 'x', { k: 1 }] }, n: null };
  const t = (f: Filter) => compileFilter(f).test(data);
  assert.equal(t({ path: 'a.b', op: 'eq', value: 5 }), true);
  assert.equal(t({ path: 'a.b', op: 'ne', value: 5 }), false);
  assert.equal(t({ path: 'a.b', op: 'gt', value: 4 }), true);
  assert.equal(t({ path: 'a.b', op: 'gte', value: 5 }), true);
  assert.equal(t({ path: 'a.b', op: 'lt', value: 5 }), false);
  assert.equal(t({ path: 'a.b', op: 'lte', value: 5 }), true);
  assert.equal(t({ path: 'a.s', op: 'gt', value: 4 }), false, 'string vs number never orders');
  assert.equal(t({ path: 'a.b', op: 'in', value: [1, 5] }), true);
  assert.equal(t({ path: 'a.list', op: 'include', value: { k: 1 } }), true);
  assert.equal(t({ path: 'a.s', op: 'include', value: 'ell' }), true);
  assert.equal(t({ path: 'a.list.1', op: 'eq', value: 'x' }), true);
  assert.equal(t({ path: 'a.missing', op: 'exists' }), false);
  assert.equal(t({ path: 'a.missing', op: 'exists', value: false }), true);
  assert.equal(t({ path: 'n', op: 'exists' }), true);
  assert.equal(t({ path: 'a.s', op: 'regex', value: '^h.l+o$' }), true);
  assert.equal(t({ path: 'a.b', op: 'regex', value: '5' }), false);
});

void test('inputs: constants, references, $const, missing refs become null', () => {
  const ev: EventEnvelope = { id: 'e1', key: 'k', connector: 'c', kind: 'w', time: 't', data: { body: { x: [1, 2] } } };
  const missing: string[] = [];
  const out = resolveInputs(
    {
      a: 1,
      b: { $ref: 'data.body.x.1' },
      c: { nested: [{ $ref: 'event.id' }] },
      d: { $const: { $ref: 'raw' } },
      e: { $ref: 'data.nope' },
    },
    ev,
    missing,
  );
  assert.deepEqual(out, { a: 1, b: 2, c: { nested: ['e1'] }, d: { $ref: 'raw' }, e: null });
  assert.deepEqual(missing, ['data.nope']);
});

// Property: the index returns exactly what scanning every trigger returns.
const small = fc.constantFrom('a', 'b', 'c');
const value = fc.oneof(fc.integer({ min: 0, max: 4 }), small, fc.constant(null));
const filterArb: fc.Arbitrary<Filter> = fc.oneof(
  fc.record({
    path: fc.constantFrom('x', 'y', 'z.w'),
    op: fc.constantFrom('eq', 'ne', 'gt', 'lte') as fc.Arbitrary<Filter['op']>,
    value,
  }),
  fc.record({
    path: fc.constantFrom('x', 'y'),
    op: fc.constant('in' as const),
    value: fc.array(value, { maxLength: 3 }),
  }),
  fc.record({ path: fc.constantFrom('x', 'z'), op: fc.constant('exists' as const), value: fc.boolean() }),
);
const specArb = (i: number): fc.Arbitrary<TriggerSpec & { enabled: boolean }> =>
  fc
    .record({
      when: fc.oneof(
        fc.record({ kind: small, event: fc.constantFrom('e1', 'e2', '*') }),
        fc.record({ connector: small, event: fc.constantFrom('e1', '*') }),
      ),
      filters: fc.array(filterArb, { maxLength: 3 }),
      enabled: fc.boolean(),
    })
    .map((r) => ({ name: `t${i}`, ...r, then: { kind: 'out', task: 'do', inputs: {} } }));
const eventArb: fc.Arbitrary<MatchableEvent> = fc.record({
  connector: small,
  kind: small,
  key: fc.constantFrom('e1', 'e2'),
  data: fc.record(
    { x: value, y: value, z: fc.option(fc.record({ w: value }), { nil: undefined }) },
    { requiredKeys: [] },
  ) as fc.Arbitrary<JsonValue>,
});

void test('property: indexed match equals a full scan, also after removals', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 30 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => specArb(i)))),
      fc.array(eventArb, { minLength: 1, maxLength: 10 }),
      fc.array(fc.integer({ min: 0, max: 30 }), { maxLength: 5 }),
      (specs, events, removals) => {
        const index = new TriggerIndex(specs);
        const live = new Map(specs.filter((s) => s.enabled).map((s) => [s.name, s]));
        for (const r of removals) {
          index.remove(`t${r}`);
          live.delete(`t${r}`);
        }
        for (const ev of events) {
          const scan = [...live.values()]
            .filter((s) => {
              const w = s.when;
              const who = w.kind !== undefined ? w.kind === ev.kind : w.connector === ev.connector;
              return who && (w.event === '*' || w.event === ev.key) && triggerMatches(compileTrigger(s), ev.data);
            })
            .map((s) => s.name)
            .sort();
          assert.deepEqual(
            index.match(ev).map((t) => t.spec.name),
            scan,
          );
        }
      },
    ),
    { numRuns: 300 },
  );
});

void test('10,000 triggers: the index looks at few candidates', () => {
  const specs: TriggerSpec[] = Array.from({ length: 10_000 }, (_, i) => ({
    name: `t${i}`,
    when: { kind: 'w', event: 'e' },
    filters: [{ path: 'n', op: 'eq', value: i }],
    then: { kind: 'o', task: 't', inputs: {} },
  }));
  const index = new TriggerIndex(specs);
  let tests = 0;
  const spy = index.match({ connector: 'c', kind: 'w', key: 'e', data: { n: 4242 } });
  assert.deepEqual(
    spy.map((t) => t.spec.name),
    ['t4242'],
  );
  // Count filter evaluations by wrapping the filters of every trigger.
  for (const t of (
    index as unknown as { byName: Map<string, { trigger: { filters: { test: (d: JsonValue) => boolean }[] } }> }
  ).byName.values()) {
    for (const f of t.trigger.filters) {
      const orig = f.test;
      f.test = (d) => {
        tests++;
        return orig(d);
      };
    }
  }
  index.match({ connector: 'c', kind: 'w', key: 'e', data: { n: 7 } });
  assert.equal(tests, 1);
});
