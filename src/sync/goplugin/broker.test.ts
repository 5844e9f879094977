import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Http2Server, type ServerHttp2Session } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectivityState } from '@grpc/grpc-js';
import type { ConnInfo } from '../proto/index.js';
import { GrpcBroker, type ConnInfoStream } from './broker.js';

/** The broker's StartStream as the plugin side holds it: the test plays the host's announcements. */
class HostStream extends EventEmitter implements ConnInfoStream {
  write(): boolean {
    return true;
  }
  end(): void {
    this.emit('end');
  }
  announce(info: ConnInfo): void {
    this.emit('data', info);
  }
}

/** Fails instead of hanging when the connection never comes. */
function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within 5 s`)), 5000);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** An HTTP/2 listener on a Unix socket (all a gRPC channel needs to become ready) that counts its sessions. */
async function listener(): Promise<{
  path: string;
  sessions: ServerHttp2Session[];
  next: () => Promise<ServerHttp2Session>;
  close: () => Promise<void>;
}> {
  const dir = await mkdtemp(join(tmpdir(), 'broker-test-'));
  const path = join(dir, 'callback.sock');
  const server: Http2Server = createServer();
  const sessions: ServerHttp2Session[] = [];
  server.on('session', (s) => sessions.push(s));
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return {
    path,
    sessions,
    next: () => new Promise((resolve) => server.once('session', resolve)),
    close: async () => {
      for (const s of sessions) s.destroy();
      await new Promise((resolve) => server.close(resolve));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

void test('preconnect: an announced service is connected on arrival, and dial hands over that connection', async () => {
  const l = await listener();
  const host = new HostStream();
  const broker = new GrpcBroker(undefined, 'unix', { preconnect: true });
  broker.attach(host);
  try {
    const connected = l.next();
    host.announce({ serviceId: 1, network: 'unix', address: l.path });
    await within(connected, 'a connection before any dial');
    const client = await broker.dial(1);
    assert.equal(client.getChannel().getConnectivityState(false), connectivityState.READY);
    assert.equal(l.sessions.length, 1, 'dial took the early connection instead of opening another');
  } finally {
    await broker.close();
    await l.close();
  }
});

void test('preconnect: an early connection nobody dialled is closed with the broker', async () => {
  const l = await listener();
  const host = new HostStream();
  const broker = new GrpcBroker(undefined, 'unix', { preconnect: true });
  broker.attach(host);
  try {
    const connected = l.next();
    host.announce({ serviceId: 2, network: 'unix', address: l.path });
    const session = await within(connected, 'a connection before any dial');
    const closed = new Promise<void>((resolve) => session.once('close', resolve));
    await broker.close();
    await within(closed, 'closing the early connection');
    await assert.rejects(broker.dial(2), /closed/);
  } finally {
    await l.close();
  }
});
