/**
 * codec: the message codecs and one channel, in one process.
 *  - ops/s of decodeText / encodeText (the communicator's text form), decodeJson / encodeJson
 *    (typed JSON lines), against bare JSON.parse / JSON.stringify of the same message (a floor:
 *    no validation, no model);
 *  - frames/s through a TCP channel pair on loopback (client -> server, both in this process),
 *    through a memory channel pair, and a raw net socket writing pre-joined lines (the limit).
 * Medians of 5 runs (codecs in interleaved rounds); about 40 s in all.   npm run bench -- codec
 */
import { readFileSync } from 'node:fs';
import { connect as netConnect, createServer, type AddressInfo } from 'node:net';
import { decodeJson, decodeText, encodeJson, encodeText } from '../src/core/codec/index.js';
import { connect, listen, memoryChannelPair } from '../src/core/transports/index.js';
import type { Channel } from '../src/core/channel.js';
import { writeBenchFile } from './write.js';

process.env.SWITCHBOARD_LOG_LEVEL ??= 'warn';
const RUNS = 5;
const OP_MS = 400;
const FRAMES = 300_000;

const line = `<srv1:client srv2:echo/PING data=${'x'.repeat(100)};seq=12345;timestamp=1700000000`;
const msg = decodeText(line);
const jsonLine = encodeJson(msg);
const jsonObject = JSON.parse(jsonLine) as unknown;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

let sink = 0;
/** One timed window of `fn`, in operations per second. */
function opsOnce(fn: () => unknown): number {
  for (let i = 0; i < 20_000; i++) fn();
  let n = 0;
  const start = performance.now();
  let now = start;
  while (now - start < OP_MS) {
    for (let i = 0; i < 1000; i++) if (fn()) sink++;
    n += 1000;
    now = performance.now();
  }
  return n / ((now - start) / 1000);
}

/** Runs the candidates in interleaved rounds (a load spike on the shared machine hits them all), medians. */
function opsPerSecond(candidates: Record<string, () => unknown>): Array<{ system: string; value: number }> {
  const runs: Record<string, number[]> = Object.fromEntries(Object.keys(candidates).map((k) => [k, []]));
  for (let r = 0; r < RUNS; r++) for (const [name, fn] of Object.entries(candidates)) runs[name]!.push(opsOnce(fn));
  return Object.entries(runs).map(([system, xs]) => ({ system, value: median(xs) }));
}

async function channelFramesPerSecond(
  makePair: () => Promise<{ client: Channel; server: Channel; done: () => Promise<void> }>,
): Promise<number> {
  const runs: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const { client, server, done } = await makePair();
    let got = 0;
    const finished = new Promise<void>((resolve) =>
      server.on('frame', () => {
        if (++got === FRAMES) resolve();
      }),
    );
    const start = performance.now();
    // Send in slices and wait while 1 MiB is queued, so the bounded queue never drops a frame.
    for (let sent = 0; sent < FRAMES;) {
      for (const end = Math.min(FRAMES, sent + 1000); sent < end; sent++) client.send(line);
      do await new Promise((r2) => setImmediate(r2));
      while (client.stats.bufferedBytes > 1024 * 1024);
    }
    if (client.stats.dropped > 0) throw new Error(`${client.stats.dropped} frames dropped`);
    await finished;
    runs.push(FRAMES / ((performance.now() - start) / 1000));
    client.close();
    await done();
  }
  return median(runs);
}

async function tcpPair(): Promise<{ client: Channel; server: Channel; done: () => Promise<void> }> {
  let server!: Channel;
  const accepted = new Promise<void>((resolve) => {
    void listen('cd://127.0.0.1:0', {}, (ch) => {
      server = ch;
      resolve();
    }).then((l) => {
      listener = l;
    });
  });
  let listener: Awaited<ReturnType<typeof listen>> | undefined;
  while (!listener) await new Promise((r) => setImmediate(r));
  const client = await connect(listener.address);
  await accepted;
  return { client, server, done: () => listener!.close() };
}

async function rawSocketLinesPerSecond(): Promise<number> {
  const runs: number[] = [];
  const batch = `${Array.from({ length: 2000 }, () => line).join('\n')}\n`;
  for (let r = 0; r < RUNS; r++) {
    let lines = 0;
    let resolveDone!: () => void;
    const done = new Promise<void>((resolve) => {
      resolveDone = resolve;
    });
    const server = createServer((s) =>
      s.on('data', (d: Buffer) => {
        let i = -1;
        while ((i = d.indexOf(10, i + 1)) !== -1) lines++;
        if (lines >= FRAMES) resolveDone();
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const sock = netConnect((server.address() as AddressInfo).port, '127.0.0.1');
    await new Promise((resolve) => sock.once('connect', resolve));
    const start = performance.now();
    for (let sent = 0; sent < FRAMES; sent += 2000) {
      sock.write(batch);
      await new Promise((r2) => setImmediate(r2));
    }
    await done;
    runs.push(FRAMES / ((performance.now() - start) / 1000));
    sock.destroy();
    server.close();
  }
  return median(runs);
}

const results = [
  ...opsPerSecond({
    decodeText: () => decodeText(line),
    encodeText: () => encodeText(msg),
    decodeJson: () => decodeJson(jsonLine),
    encodeJson: () => encodeJson(msg),
    'JSON.parse (baseline)': () => JSON.parse(jsonLine),
    'JSON.stringify (baseline)': () => JSON.stringify(jsonObject),
  }),
  { system: 'tcp channel (frames/s)', value: await channelFramesPerSecond(tcpPair) },
  {
    system: 'memory channel (frames/s)',
    value: await channelFramesPerSecond(async () => {
      const [client, server] = memoryChannelPair();
      return { client, server, done: async () => undefined };
    }),
  },
  { system: 'raw net socket, pre-joined lines (frames/s)', value: await rawSocketLinesPerSecond() },
].map((r) => ({ ...r, value: Math.round(r.value) }));

const by = Object.fromEntries(results.map((r) => [r.system, r.value]));
const ratio = (a: string, b: string): number => Math.round((by[a]! / by[b]!) * 100) / 100;
const ratios = {
  decodeText_vs_JSON_parse: ratio('decodeText', 'JSON.parse (baseline)'),
  decodeText_vs_decodeJson: ratio('decodeText', 'decodeJson'),
  encodeText_vs_JSON_stringify: ratio('encodeText', 'JSON.stringify (baseline)'),
  encodeText_vs_encodeJson: ratio('encodeText', 'encodeJson'),
  tcp_channel_vs_raw_socket: ratio('tcp channel (frames/s)', 'raw net socket, pre-joined lines (frames/s)'),
};
const out = {
  name: 'codec',
  unit: 'operations/s (codecs); frames/s (channels)',
  date: new Date().toISOString(),
  node: process.version,
  message: line,
  lineBytes: line.length,
  results,
  ratios,
  sink,
};
writeBenchFile('bench/results/codec.json', `${JSON.stringify(out, null, 2)}\n`);
console.table(results);
console.log(ratios);

/** Rewrites the table between the codec markers in bench/README.md (only this section). */
function writeTable(): void {
  const begin = '<!-- codec:begin -->';
  const end = '<!-- codec:end -->';
  const text = readFileSync('bench/README.md', 'utf8');
  if (!text.includes(begin) || !text.includes(end)) return;
  const fmt = (v: number): string => (v >= 1e6 ? `${(v / 1e6).toFixed(2)}M` : `${(v / 1e3).toFixed(0)}k`);
  const table = [
    begin,
    `Measured ${out.date.slice(0, 10)}, Node ${out.node}, medians of ${RUNS} runs, ${line.length}-byte message.`,
    '',
    '| what | per second |',
    '|---|---|',
    ...results.map((r) => `| ${r.system} | ${fmt(r.value)} |`),
    '',
    `Ratios: ${Object.entries(ratios)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}.`,
    end,
  ].join('\n');
  writeBenchFile(
    'bench/README.md',
    text.slice(0, text.indexOf(begin)) + table + text.slice(text.indexOf(end) + end.length),
  );
}
writeTable();
