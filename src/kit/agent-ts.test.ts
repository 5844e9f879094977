/**
 * `switchboard agent new NAME --lang ts`, then the commands of the README it wrote, as written:
 * npm install and the connector's own test, `trigger add`, `switchboard start`, a token, the agent.
 * Its ticks must reach the dispatcher and the greetings come back into the execution log.
 */
import { test } from 'node:test';
import { tryAgentTemplate } from './test/template.js';

void test('the TypeScript event connector template registers, emits and answers as its README says', async (t) => {
  await tryAgentTemplate(t, 'ts');
});
