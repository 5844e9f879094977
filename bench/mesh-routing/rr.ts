/**
 * The request/reply pattern both systems run: a requester keeps `inflight` requests outstanding
 * for `durationMs`, measuring each round trip; a responder answers each request at once.
 * Switchboard: raw JSON-line connections to a hub (REGISTER, then PING -> PONG to the sender).
 * NATS: npm `nats`, request() on a subject and respond() in the subscriber.
 */
import { decodeLine, encodeLine } from '../../src/core/codec/index.js';
import { createMessage } from '../../src/core/message.js';
import { connect } from '../../src/core/transports/index.js';
import type { Channel } from '../../src/core/channel.js';
import { LatencyRecorder } from '../hub-throughput/stats.js';

export interface RRResult {
  rate: number;
  p50us: number;
  p99us: number;
  count: number;
}

const PAYLOAD = 'x'.repeat(100);

async function registered(url: string, service: string): Promise<Channel> {
  const ch = await connect(url);
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no READY from ${url}`)), 10_000);
    const onFrame = (f: string): void => {
      if (decodeLine(f).command === 'READY') {
        clearTimeout(t);
        ch.off('frame', onFrame);
        resolve();
      }
    };
    ch.on('frame', onFrame);
    ch.send(encodeLine(createMessage('REGISTER', { service, version: '1', format: 'json' }), 'json'));
  });
  return ch;
}

/** A Switchboard responder: answers PING with PONG (same id) to whoever sent it. */
export async function switchboardResponder(url: string, service: string): Promise<() => void> {
  const ch = await registered(url, service);
  ch.on('frame', (f) => {
    const m = decodeLine(f);
    if (m.command === 'PING')
      ch.send(encodeLine(createMessage('PONG', { id: m.params.id ?? 0, payload: PAYLOAD }, m.sentFrom), 'json'));
  });
  return () => ch.close();
}

export interface Requester {
  run(inflight: number, durationMs: number): Promise<RRResult>;
  close(): void;
}

async function loop(inflight: number, durationMs: number, send: (onDone: () => void) => void): Promise<RRResult> {
  const lat = new LatencyRecorder();
  const start = performance.now();
  const end = start + durationMs;
  let count = 0;
  await new Promise<void>((resolve) => {
    let outstanding = 0;
    const fire = (): void => {
      outstanding++;
      const t0 = performance.now();
      send(() => {
        const now = performance.now();
        lat.add((now - t0) * 1000);
        count++;
        outstanding--;
        if (now < end) fire();
        else if (outstanding === 0) resolve();
      });
    };
    for (let i = 0; i < inflight; i++) fire();
  });
  const elapsed = performance.now() - start;
  const { p50, p99 } = lat.summary();
  return { rate: count / (elapsed / 1000), p50us: p50, p99us: p99, count };
}

export async function switchboardRequester(url: string, target: string): Promise<Requester> {
  const ch = await registered(url, `req_${process.pid}_${Math.floor(Math.random() * 1e6)}`);
  const pending = new Map<number, () => void>();
  let nextId = 0;
  ch.on('frame', (f) => {
    const m = decodeLine(f);
    if (m.command !== 'PONG') return;
    const id = Number(m.params.id);
    const done = pending.get(id);
    if (done) {
      pending.delete(id);
      done();
    }
  });
  return {
    run: (inflight, durationMs) =>
      loop(inflight, durationMs, (onDone) => {
        const id = ++nextId;
        pending.set(id, onDone);
        ch.send(encodeLine(createMessage('PING', { id, payload: PAYLOAD }, { service: target }), 'json'));
      }),
    close: () => ch.close(),
  };
}

export async function natsResponder(url: string, subject: string): Promise<() => Promise<void>> {
  const { connect: natsConnect } = await import('nats');
  const nc = await natsConnect({ servers: url });
  nc.subscribe(subject, {
    callback: (_err, msg) => {
      msg.respond(msg.data);
    },
  });
  await nc.flush();
  return () => nc.close();
}

export async function natsRequester(
  url: string,
  subject: string,
): Promise<Requester & { closeAsync(): Promise<void> }> {
  const { connect: natsConnect } = await import('nats');
  const nc = await natsConnect({ servers: url });
  const data = new TextEncoder().encode(PAYLOAD);
  return {
    run: (inflight, durationMs) =>
      loop(inflight, durationMs, (onDone) => {
        nc.request(subject, data, { timeout: 10_000 }).then(onDone, onDone);
      }),
    close: () => void nc.close(),
    closeAsync: () => nc.close(),
  };
}
