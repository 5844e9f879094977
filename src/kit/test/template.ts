/**
 * Test helper (not shipped): a template's test as its user would do it: `new` into an empty
 * temporary folder, then its README's run blocks as written, then the test's own check commands
 * in the same session.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { freePort, tempDir } from '../../core/test/support.js';
import type { ExecutionRecord } from '../../dispatch/dispatcher/types.js';
import { BIN, cliOnPath, runBlocks, runShell } from './readme.js';

const run = promisify(execFile);

export interface TemplateRun {
  /** The folder `new` ran in (the README's commands run here too). */
  work: string;
  /** What the README's commands and the checks printed. */
  output: string;
  /** Reads a file the checks wrote under `work`. */
  read(file: string): Promise<string>;
}

/**
 * An empty folder to work in, and the environment a user's shell would have: this checkout's
 * `switchboard` on PATH, TMPDIR inside the test's folder, no SWITCHBOARD_HOME or _ADDRESS (the
 * README chooses them: mktemp -d, and the default address or the test's ports in `extra`).
 */
export async function workspace(
  t: TestContext,
  prefix: string,
  extra: NodeJS.ProcessEnv = {},
): Promise<{ work: string; env: NodeJS.ProcessEnv }> {
  const tmp = await tempDir(prefix);
  t.after(tmp.cleanup);
  const work = join(tmp.path, 'work');
  const scratch = join(tmp.path, 'tmp');
  await mkdir(work);
  await mkdir(scratch);
  const { SWITCHBOARD_HOME: _home, SWITCHBOARD_ADDRESS: _address, ...inherited } = process.env;
  const env: NodeJS.ProcessEnv = {
    ...inherited,
    PATH: `${await cliOnPath(tmp.path)}:${process.env.PATH ?? ''}`,
    TMPDIR: scratch,
    SWITCHBOARD_LOG_LEVEL: 'warn',
    ...extra,
  };
  return { work, env };
}

export async function tryTemplate(
  t: TestContext,
  args: { verb: 'connector' | 'agent'; name: string; lang: string; checks: string; env?: NodeJS.ProcessEnv },
): Promise<TemplateRun> {
  const { work, env } = await workspace(t, `switchboard-kit-${args.lang}-`, args.env);
  const made = await run(process.execPath, [BIN, args.verb, 'new', args.name, '--lang', args.lang], { cwd: work, env });
  assert.match(made.stdout, new RegExp(`created .*${args.name} \\(${args.verb}, ${args.lang}\\)`));
  const readme = await readFile(join(work, args.name, 'README.md'), 'utf8');
  assert.doesNotMatch(readme, /\{\{\w+\}\}/, 'every placeholder is filled');
  const blocks = runBlocks(readme);
  assert.ok(blocks.length > 0, 'the README has commands to run');
  const script = [...blocks, `# the test's own checks\n${args.checks}`].join('\n');
  const result = await runShell(script, { cwd: work, env });
  assert.equal(result.code, 0, `the README's commands failed:\n${result.output}`);
  return { work, output: result.output, read: (file) => readFile(join(work, file), 'utf8') };
}

/** Where `switchboard start` listens and clients connect: free ports instead of 4040/4041/4080. */
export async function hubPorts(): Promise<NodeJS.ProcessEnv> {
  const [local, signal, http] = [await freePort(), await freePort(), await freePort()];
  return {
    SWITCHBOARD_LOCAL_LISTEN: `cd://127.0.0.1:${local}`,
    SWITCHBOARD_SIGNAL: `cdu://127.0.0.1:${signal}`,
    SWITCHBOARD_HTTP: `127.0.0.1:${http}`,
    SWITCHBOARD_ADDRESS: `cd://127.0.0.1:${local}`,
  };
}

/** The checks of an agent template: the execution log and the registry, as JSON files. */
const AGENT_CHECKS = 'switchboard trigger log --json > log.json\nswitchboard agents --json > agents.json';

/**
 * An event connector template as its README says (`agent new`, its own test, `trigger add`,
 * `switchboard start` on free ports, a token, the agent): its ticks reach the dispatcher and the
 * greetings come back into the execution log.
 */
export async function tryAgentTemplate(t: TestContext, lang: string): Promise<void> {
  const name = `greeter-${lang}`;
  const run = await tryTemplate(t, { verb: 'agent', name, lang, checks: AGENT_CHECKS, env: await hubPorts() });
  await assertGreeted(run, name);
}

async function assertGreeted(run: TemplateRun, name: string): Promise<void> {
  const log = JSON.parse(await run.read('log.json')) as ExecutionRecord[];
  const done = log.filter((x) => x.status === 'done');
  assert.ok(done.length >= 1, `an execution is done:\n${JSON.stringify(log, null, 2)}\n${run.output}`);
  for (const x of done) {
    assert.equal(x.trigger, `${name}-greets`);
    assert.equal(x.eventKey, 'tick');
    assert.equal(x.task, 'greet');
    assert.deepEqual(x.inputs, { name });
    assert.deepEqual(x.outputs, { greeting: `Hello, ${name}!` });
  }
  const agents = JSON.parse(await run.read('agents.json')) as { kind: string; events: string[]; tasks: string[] }[];
  const agent = agents.find((a) => a.kind === name);
  assert.deepEqual([agent?.events, agent?.tasks], [['tick'], ['greet']], JSON.stringify(agents));
}

/** python3 for a template's commands: outside CI its absence skips the test with a reason; with CI=true it fails. */
export function needPython(t: TestContext): boolean {
  const probe = spawnSync('python3', ['--version'], { encoding: 'utf8' });
  if (!probe.error && probe.status === 0) return true;
  const reason = 'python3 is not installed (Debian: apt-get install python3)';
  if (process.env.CI === 'true') throw new Error(`${reason} (CI=true: the Python templates' tests must run)`);
  t.skip(reason);
  return false;
}
