// GRPCStdio (newer go-plugin plugins stream their stdout/stderr over it): what the host logs, and
// that UNIMPLEMENTED (go-plugin v1.0.1, the SDK) is silent.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, credentials, Server, ServerCredentials, type ServerWritableStream } from '@grpc/grpc-js';
import { services, type Empty, type StdioData } from '../proto/index.js';
import { followStdio } from './session.js';
import type { PluginLogEntry } from './types.js';

async function serve(withStdio: boolean): Promise<{ client: Client; close: () => void }> {
  const server = new Server();
  if (withStdio) {
    server.addService(services.stdio, {
      StreamStdio: (call: ServerWritableStream<Empty, StdioData>) => {
        call.write({ channel: 'STDOUT', data: Buffer.from('hello from stdout\nsecond line\n') });
        call.write({ channel: 'STDERR', data: Buffer.from('a warning\n') });
        call.end();
      },
    });
  }
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
  return {
    client,
    close: () => {
      client.close();
      server.forceShutdown();
    },
  };
}

void test('GRPCStdio chunks become log lines with their stream', async () => {
  const { client, close } = await serve(true);
  after(close);
  const entries: PluginLogEntry[] = [];
  followStdio(client, (e) => entries.push(e));
  for (let i = 0; i < 200 && entries.length < 3; i++) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(
    entries.map((e) => [e.stream, e.message]),
    [
      ['stdout', 'hello from stdout'],
      ['stdout', 'second line'],
      ['stderr', 'a warning'],
    ],
  );
});

void test('a plugin without GRPCStdio (UNIMPLEMENTED) logs nothing', async () => {
  const { client, close } = await serve(false);
  after(close);
  const entries: PluginLogEntry[] = [];
  let ended = false;
  followStdio(
    client,
    (e) => entries.push(e),
    () => {
      ended = true;
    },
  );
  for (let i = 0; i < 200 && !ended; i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(ended);
  assert.deepEqual(entries, []);
});
