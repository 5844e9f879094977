/**
 * grpc-window.ts reaches into grpc-js's private `http2Servers` map: this fails loudly when a
 * grpc-js release renames it or the settings stop reaching the peer (then brokered servers quietly
 * keep HTTP/2's 64 KiB window and Go connectors ingest slower).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type ClientHttp2Session, type Settings } from 'node:http2';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { RECEIVE_WINDOW_BYTES, widenReceiveWindow } from './grpc-window.js';

void test("a bound grpc-js server's HTTP/2 window is widened: the peer sees the stream and connection windows", async () => {
  const server = new Server();
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  let session: ClientHttp2Session | undefined;
  try {
    assert.equal(widenReceiveWindow(server), true, 'grpc-js no longer keeps its http2 servers in `http2Servers`');
    session = connect(`http://127.0.0.1:${port}`);
    const settings = await new Promise<Settings>((resolve, reject) => {
      session!.once('remoteSettings', resolve);
      session!.once('error', reject);
    });
    assert.equal(settings.initialWindowSize, RECEIVE_WINDOW_BYTES, 'the stream window a sender may fill');
    // The connection window arrives as a WINDOW_UPDATE right after the settings.
    const deadline = Date.now() + 5000;
    while ((session.state.remoteWindowSize ?? 0) < RECEIVE_WINDOW_BYTES && Date.now() < deadline)
      await new Promise((r) => setImmediate(r));
    assert.equal(session.state.remoteWindowSize, RECEIVE_WINDOW_BYTES, 'the connection window');
  } finally {
    session?.destroy();
    server.forceShutdown();
  }
});
