#!/usr/bin/env node
// CPU per request/reply round trip through one in-process hub of a source tree, for comparing two
// trees (issue 14's before/after): throughput swings with the machine's load, CPU per message
// much less. The clients are raw TCP sockets writing hand-made lines (no code of either tree), so
// only the hub differs. From a tree with node_modules (tsx resolves from the working directory):
//   node --import tsx bench/before-after/hub-cpu.mjs /path/to/tree [in-flight, default 1]
// Prints one JSON line: round trips/s and process CPU us per round trip, text and JSON lines, 3 rounds.
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = resolve(process.argv[2] ?? '.');
const inflight = Number(process.argv[3] ?? 1);
const MEASURE_MS = 1500;
const PAYLOAD = 'x'.repeat(100);

const { loadConfig } = await import(pathToFileURL(join(root, 'src/hub/config.ts')).href);
const { Hub } = await import(pathToFileURL(join(root, 'src/hub/hub.ts')).href);
const hub = new Hub(
  loadConfig({
    env: {},
    flags: {
      serverName: 'b',
      localListen: 'cd://127.0.0.1:0',
      signal: 'off',
      dataPath: mkdtempSync(join(tmpdir(), 'hub-cpu-')),
    },
  }),
);
await hub.start();
const port = Number(/:(\d+)$/.exec(hub.addresses.find((a) => a.kind === 'local').url)[1]);

/** A registered raw connection: resolves once READY came; `onLine` gets every later line. */
function client(registerLine, onLine) {
  return new Promise((resolveReady) => {
    const socket = connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    let buffered = '';
    let ready = false;
    socket.on('data', (data) => {
      buffered += data.toString();
      let i;
      while ((i = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, i);
        buffered = buffered.slice(i + 1);
        if (ready) onLine(socket, line);
        else if (line.includes('READY')) {
          ready = true;
          resolveReady(socket);
        }
      }
    });
    socket.write(`${registerLine}\n`);
  });
}

const register = (format, service) =>
  format === 'json'
    ? `{"command":"REGISTER","parameters":{"service":"${service}","version":"1","format":"json"}}`
    : `REGISTER service=${service};version=1`;

async function phase(format) {
  const json = format === 'json';
  const echoName = `echo_${format}`;
  const askerName = `asker_${format}`;
  const echo = await client(register(format, echoName), (socket, line) => {
    if (json) {
      const m = JSON.parse(line);
      if (m.command === 'PING')
        socket.write(
          `${JSON.stringify({ server: m['sent-from-server'], service: m['sent-from-service'], command: 'PONG', parameters: { id: m.parameters.id, payload: PAYLOAD } })}\n`,
        );
    } else if (line.includes('PING')) {
      socket.write(`${askerName}/PONG id=${/id=(\d+)/.exec(line)[1]};payload=${PAYLOAD}\n`);
    }
  });
  let done = 0;
  let outstanding = 0;
  let end = 0;
  let n = 0;
  let finish = () => {};
  const fire = (socket) => {
    outstanding++;
    n++;
    socket.write(
      json
        ? `{"service":"${echoName}","command":"PING","parameters":{"id":${n},"payload":"${PAYLOAD}"}}\n`
        : `${echoName}/PING id=${n};payload=${PAYLOAD}\n`,
    );
  };
  const asker = await client(register(format, askerName), (socket, line) => {
    if (!line.includes('PONG')) return;
    done++;
    outstanding--;
    if (performance.now() < end) fire(socket);
    else if (outstanding === 0) finish();
  });
  const run = async (ms) => {
    const over = new Promise((r) => (finish = r));
    done = 0;
    end = performance.now() + ms;
    for (let i = 0; i < inflight; i++) fire(asker);
    await over;
  };
  await run(300); // warm-up
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await run(MEASURE_MS);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  echo.destroy();
  asker.destroy();
  return { format, rtps: Math.round(done / seconds), cpuUsPerRt: +((cpu.user + cpu.system) / done).toFixed(2) };
}

const rounds = [];
for (let r = 0; r < 3; r++) for (const format of ['text', 'json']) rounds.push(await phase(format));
process.stdout.write(`${JSON.stringify({ root, inflight, rounds })}\n`);
await hub.stop();
process.exit(0);
