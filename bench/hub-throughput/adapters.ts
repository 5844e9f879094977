/**
 * The same two roles for every system: a *sink* that counts one-way DATA messages and answers
 * ECHO requests, and a *source* that sends DATA as fast as back-pressure allows and makes ECHO
 * requests. Switchboard goes through the hub, NATS through nats-server, Moleculer through its TCP
 * transporter, and "direct" is the sink listening itself with the same line framing and codec.
 */
import { setImmediate as tick } from 'node:timers/promises';
import type { SystemName } from './protocol.js';

export interface SinkCounters {
  count: number;
  firstNs: number;
  lastNs: number;
}

export interface Sink {
  counters: SinkCounters;
  /** For `direct`: the address the source connects to. */
  address?: string;
  close(): Promise<void>;
}

export interface Source {
  send(payload: string): void;
  /** Resolves when it is reasonable to send more (bounded buffers). */
  pace(sentSoFar: number): Promise<void>;
  request(payload: string): Promise<void>;
  close(): Promise<void>;
}

const SINK = 'bench_sink';
const HIGH_WATER = 1 << 20;

function counted(c: SinkCounters): void {
  const now = Number(process.hrtime.bigint());
  if (c.count === 0) c.firstNs = now;
  c.lastNs = now;
  c.count++;
}

async function paceBuffered(buffered: () => number): Promise<void> {
  while (buffered() > HIGH_WATER) await new Promise((r) => setTimeout(r, 1));
  await tick();
}

// ---- Switchboard (through the hub) ------------------------------------------------------------

async function switchboardSink(address: string): Promise<Sink> {
  const { connect } = await import('../../src/client/index.js');
  const counters: SinkCounters = { count: 0, firstNs: 0, lastNs: 0 };
  // No token: an ordinary local service, checked against the local role (the per-message cost measured).
  const hub = await connect(address, { reconnect: false, token: false });
  hub.on('DATA', () => {
    counted(counters);
  });
  hub.on('ECHO', (m) => ({ command: 'ECHOED', params: { data: m.params.data ?? '' } }));
  await hub.register(SINK, { commands: ['DATA', 'ECHO'] });
  return { counters, close: async () => hub.dispose() };
}

async function switchboardSource(address: string): Promise<Source> {
  const { connect } = await import('../../src/client/index.js');
  const hub = await connect(address, { reconnect: false, token: false });
  await hub.register(`bench_source_${process.pid}`, { commands: ['ECHOED'] });
  return {
    send: (payload) => {
      hub.send({ command: 'DATA', to: SINK, params: { data: payload } });
    },
    pace: () => paceBuffered(() => hub.bufferedBytes),
    request: async (payload) => {
      await hub.request({ command: 'ECHO', to: SINK, params: { data: payload } }, { timeoutMs: 30_000 });
    },
    close: async () => hub.dispose(),
  };
}

// ---- Direct: two processes, same framing and codec, no hub -------------------------------------

async function directSink(): Promise<Sink> {
  const { listen } = await import('../../src/core/transports/index.js');
  const { decodeLine, encodeLine } = await import('../../src/core/codec/index.js');
  const counters: SinkCounters = { count: 0, firstNs: 0, lastNs: 0 };
  const listener = await listen('cd://127.0.0.1:0', {}, (ch) => {
    ch.on('frame', (frame) => {
      const m = decodeLine(frame);
      if (m.command === 'DATA') counted(counters);
      else if (m.command === 'ECHO') {
        ch.send(
          encodeLine(
            {
              sentFrom: { server: '', service: SINK },
              to: m.sentFrom,
              command: 'ECHOED',
              params: { data: m.params.data ?? '', correlation_id: m.params.correlation_id ?? '' },
            },
            'text',
          ),
        );
      }
    });
  });
  return { counters, address: listener.address, close: () => listener.close() };
}

async function directSource(address: string): Promise<Source> {
  const { connect } = await import('../../src/core/transports/index.js');
  const { decodeLine, encodeLine } = await import('../../src/core/codec/index.js');
  const ch = await connect(address);
  const pending = new Map<string, () => void>();
  let seq = 0;
  ch.on('frame', (frame) => {
    const m = decodeLine(frame);
    const id = String(m.params.correlation_id);
    pending.get(id)?.();
    pending.delete(id);
  });
  const from = { server: 'bench', service: `bench_source_${process.pid}` };
  return {
    send: (payload) => {
      ch.send(
        encodeLine(
          { sentFrom: from, to: { server: '', service: SINK }, command: 'DATA', params: { data: payload } },
          'text',
        ),
      );
    },
    pace: () => paceBuffered(() => ch.stats.bufferedBytes),
    request: (payload) =>
      new Promise<void>((resolve) => {
        const id = (++seq).toString(36);
        pending.set(id, resolve);
        ch.send(
          encodeLine(
            {
              sentFrom: from,
              to: { server: '', service: SINK },
              command: 'ECHO',
              params: { data: payload, correlation_id: id },
            },
            'text',
          ),
        );
      }),
    close: async () => ch.close(),
  };
}

// ---- NATS (nats-server at 127.0.0.1:4222, npm `nats`) ------------------------------------------

async function natsSink(url: string): Promise<Sink> {
  const { connect } = await import('nats');
  const nc = await connect({ servers: url });
  const counters: SinkCounters = { count: 0, firstNs: 0, lastNs: 0 };
  const subject = `bench.${process.pid}`;
  nc.subscribe(`${subject}.data`, { callback: () => counted(counters) });
  nc.subscribe(`${subject}.echo`, {
    callback: (_err, m) => {
      m.respond(m.data);
    },
  });
  await nc.flush();
  return { counters, address: subject, close: () => nc.close() };
}

async function natsSource(url: string, subject: string): Promise<Source> {
  const { connect } = await import('nats');
  const nc = await connect({ servers: url });
  const enc = new TextEncoder();
  return {
    send: (payload) => {
      nc.publish(`${subject}.data`, enc.encode(payload));
    },
    // nats.js buffers publishes; a flush (PING/PONG) every few thousand keeps the buffer bounded.
    pace: async (sent) => {
      if (sent % 5000 === 0) await nc.flush();
      else await tick();
    },
    request: async (payload) => {
      await nc.request(`${subject}.echo`, enc.encode(payload), { timeout: 30_000 });
    },
    close: () => nc.close(),
  };
}

// ---- Moleculer 0.14, TCP transporter -----------------------------------------------------------

async function moleculerBroker(nodeID: string, port: number, peers: string[]) {
  const { ServiceBroker } = await import('moleculer');
  return new ServiceBroker({
    nodeID,
    logger: false,
    transporter: { type: 'TCP', options: { udpDiscovery: false, port, urls: peers } },
  });
}

async function moleculerSink(port: number, peerPort: number): Promise<Sink> {
  const counters: SinkCounters = { count: 0, firstNs: 0, lastNs: 0 };
  const broker = await moleculerBroker('bench_sink', port, [`127.0.0.1:${peerPort}/bench-source`]);
  broker.createService({
    name: 'bench',
    actions: { echo: (ctx: { params: { data: string } }) => ({ data: ctx.params.data }) },
    events: {
      'bench.data': () => {
        counted(counters);
      },
    },
  });
  await broker.start();
  return { counters, close: () => broker.stop() };
}

async function moleculerSource(port: number, peerPort: number): Promise<Source> {
  const broker = await moleculerBroker('bench-source', port, [`127.0.0.1:${peerPort}/bench_sink`]);
  await broker.start();
  await broker.waitForServices(['bench'], 30_000);
  return {
    send: (payload) => {
      void broker.emit('bench.data', { data: payload });
    },
    pace: () => tick().then(() => undefined),
    request: async (payload) => {
      await broker.call('bench.echo', { data: payload }, { timeout: 30_000 });
    },
    close: () => broker.stop(),
  };
}

/** `args` come from the orchestrator: the hub or NATS URL, the direct address, or Moleculer ports. */
export async function makeSink(system: SystemName, args: string[]): Promise<Sink> {
  switch (system) {
    case 'switchboard':
    case 'switchboard-open':
      return switchboardSink(args[0]!);
    case 'direct':
      return directSink();
    case 'nats':
      return natsSink(args[0]!);
    case 'moleculer':
      return moleculerSink(Number(args[0]), Number(args[1]));
  }
}

export async function makeSource(system: SystemName, args: string[]): Promise<Source> {
  switch (system) {
    case 'switchboard':
    case 'switchboard-open':
      return switchboardSource(args[0]!);
    case 'direct':
      return directSource(args[0]!);
    case 'nats':
      return natsSource(args[0]!, args[1]!);
    case 'moleculer':
      return moleculerSource(Number(args[0]), Number(args[1]));
  }
}
