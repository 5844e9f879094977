// The hand-written checks of events, results and tasks accept exactly what the zod schemas accept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agentMessage, dispatcherMessage, parseAgentMessage, parseDispatcherMessage } from './wire.js';

const event = { id: 'e1', key: 'tick', data: { n: 1 }, time: '2026-01-01T00:00:00.000Z' };
const T0 = '2026-01-01T00:00:00.000Z';
const T1 = '2026-01-01T00:00:01.250+02:00';
const result = { executionId: 'x1', outputs: { n: 1 }, startedAt: T0, finishedAt: T1 };
const base = { token: 't', connectorId: 'c1' };

const agentCases: unknown[] = [
  { type: 'events', ...base, events: [event, { ...event, id: 'e2', data: null }] },
  { type: 'events', ...base, events: [] },
  { type: 'events', ...base, events: [{ ...event, extra: 1 }] },
  { type: 'events', ...base, events: [{ ...event, id: '' }] },
  { type: 'events', ...base, events: [{ ...event, key: 'k'.repeat(201) }] },
  { type: 'events', ...base, events: [{ id: 'e', key: 'k', time: 't' }] },
  { type: 'events', ...base, events: [{ ...event, time: 5 }] },
  { type: 'events', ...base, extra: true, events: [event] },
  { type: 'events', token: 't', connectorId: '', events: [event] },
  {
    type: 'results',
    ...base,
    results: [result, { executionId: 'x2', error: 'boom', finishedAt: T1 }, { executionId: 'x3', finishedAt: T0 }],
  },
  // Times must be ISO-8601 with a zone; ids printable; connector ids from the names' alphabet.
  { type: 'results', ...base, results: [{ ...result, startedAt: 'bad' }] },
  { type: 'results', ...base, results: [{ ...result, finishedAt: '2026-13-45T99:00:00Z' }] },
  { type: 'results', ...base, results: [{ ...result, finishedAt: '2026-01-01 00:00:00' }] },
  { type: 'results', ...base, results: [{ ...result, executionId: 'x\u0000' }] },
  { type: 'events', ...base, events: [{ ...event, time: 'now' }] },
  { type: 'events', ...base, events: [{ ...event, id: 'nul\u0000-1' }] },
  { type: 'events', ...base, events: [{ ...event, key: 'tab\there' }] },
  { type: 'events', token: 't', connectorId: 'a/b', events: [event] },
  { type: 'events', token: 't', connectorId: 'c'.repeat(129), events: [event] },
  { type: 'register', token: 't', connector: { id: 'c', kind: 'k/../x' } },
  { type: 'results', ...base, results: [{ ...result, outputs: [1] }] },
  { type: 'results', ...base, results: [{ ...result, outputs: null }] },
  { type: 'results', ...base, results: [{ ...result, error: 3 }] },
  { type: 'results', ...base, results: [{ ...result, more: 'x' }] },
  { type: 'results', ...base, results: [{ executionId: 'x', finishedAt: 1 }] },
  { type: 'register', token: 't', connector: { id: 'c', kind: 'k' } },
  { type: 'nope', ...base },
  [event],
  null,
];

void test('parseAgentMessage agrees with the zod schema on every case', () => {
  for (const c of agentCases) {
    const raw = structuredClone(c);
    const fast = parseAgentMessage(raw);
    const zod = agentMessage.safeParse(structuredClone(c));
    if (zod.success) assert.deepEqual(fast, { ok: true, value: zod.data }, JSON.stringify(c));
    else assert.equal(fast.ok, false, `accepted ${JSON.stringify(c)}`);
  }
});

void test('parseDispatcherMessage agrees with the zod schema on tasks', () => {
  const task = { executionId: 'x', key: 'take', inputs: { n: 1 } };
  const cases: unknown[] = [
    { type: 'tasks', tasks: [task, { ...task, executionId: 'y', inputs: {} }] },
    { type: 'tasks', tasks: [] },
    { type: 'tasks', tasks: [{ ...task, inputs: [] }] },
    { type: 'tasks', tasks: [{ ...task, key: '' }] },
    { type: 'tasks', tasks: [{ ...task, more: 1 }] },
    { type: 'tasks', tasks: {} },
    { type: 'invalidate', version: 3 },
  ];
  for (const c of cases) {
    const fast = parseDispatcherMessage(structuredClone(c));
    const zod = dispatcherMessage.safeParse(structuredClone(c));
    if (zod.success) assert.deepEqual(fast, { ok: true, value: zod.data }, JSON.stringify(c));
    else assert.equal(fast.ok, false, `accepted ${JSON.stringify(c)}`);
  }
});

void test('a refused message says which field is wrong', () => {
  const refusal = (raw: unknown) => {
    const r = parseAgentMessage(raw);
    return r.ok ? 'accepted' : r.error;
  };
  assert.match(refusal({ type: 'events', ...base, events: [{ ...event, id: '' }] }), /events\.0\.id/);
  assert.match(
    refusal({ type: 'results', ...base, results: [{ ...result, startedAt: 'bad' }] }),
    /results\.0\.startedAt: must be an ISO-8601 time/,
  );
  assert.match(
    refusal({ type: 'events', ...base, events: [{ ...event, id: 'nul\u0000-1' }] }),
    /events\.0\.id: must not contain control characters/,
  );
});
