/**
 * `switchboard agent new NAME --lang python`, then the commands of the README it wrote, as written:
 * the connector's own test, `trigger add`, `switchboard start`, a token, the agent.
 * Its ticks must reach the dispatcher and the greetings come back into the execution log.
 */
import { test } from 'node:test';
import { needPython, tryAgentTemplate } from './test/template.js';

void test('the Python event connector template registers, emits and answers as its README says', async (t) => {
  if (!needPython(t)) return;
  await tryAgentTemplate(t, 'python');
});
