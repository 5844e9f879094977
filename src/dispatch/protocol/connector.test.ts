import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeTask, parseConnectorLine } from './connector.js';

void test('connector lines: hello, event, result; problems said plainly', () => {
  assert.deepEqual(parseConnectorLine('{"type":"hello","events":["a"],"tasks":["t"]}'), {
    ok: true,
    line: { type: 'hello', events: ['a'], tasks: ['t'] },
  });
  assert.deepEqual(parseConnectorLine('{"type":"event","key":"a","data":{"x":[1]}}'), {
    ok: true,
    line: { type: 'event', key: 'a', data: { x: [1] } },
  });
  assert.deepEqual(parseConnectorLine('{"type":"event","key":"a"}'), {
    ok: true,
    line: { type: 'event', key: 'a', data: {} },
  });
  assert.deepEqual(parseConnectorLine('{"type":"result","id":"1","outputs":{"a":1}}'), {
    ok: true,
    line: { type: 'result', id: '1', outputs: { a: 1 } },
  });
  assert.deepEqual(parseConnectorLine('{"type":"result","id":"1","error":"no"}'), {
    ok: true,
    line: { type: 'result', id: '1', error: 'no' },
  });
  const bad = (line: string, re: RegExp) => {
    const r = parseConnectorLine(line);
    assert.equal(r.ok, false);
    assert.match((r as { problem: string }).problem, re);
  };
  bad('hello there', /not JSON .*write logs to stderr/);
  bad('[1]', /not a JSON object/);
  bad('{"type":"bogus"}', /unknown type "bogus"/);
  bad('{"type":"event","key":42}', /bad event line: key/);
  bad('{"type":"event","key":"a","data":1,"extra":true}', /bad event line/);
  bad('{"type":"result","id":"1"}', /outputs .* or error/);
  bad('{"type":"hello","events":"a"}', /bad hello line: events/);
  assert.equal(
    encodeTask({ id: 'x', key: 'k', inputs: { a: 1 } }),
    '{"type":"task","id":"x","key":"k","inputs":{"a":1}}',
  );
});
