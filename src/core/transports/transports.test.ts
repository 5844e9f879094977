/** Per-transport behaviour beyond the shared contract: dial and listen failures, TLS trust, Unix socket files, UDP peers. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { existsSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { Channel } from '../channel.js';
import { freePort, tempDir, waitFor } from '../test/support.js';
import { ConnectionError, InvalidArgumentError } from '../errors.js';
import { connect, listen, streamChannel } from './index.js';
import { makeTestPki } from '../test/certs.js';

process.env.SWITCHBOARD_LOG_LEVEL ??= 'silent';

void test('connect to a closed port fails with CONNECTION_FAILED and a hint', async () => {
  const port = await freePort();
  await assert.rejects(
    connect(`cd://127.0.0.1:${port}`),
    (err: unknown) =>
      err instanceof ConnectionError &&
      err.code === 'CONNECTION_FAILED' &&
      err.retryable &&
      /ECONNREFUSED.*is the hub running/.test(err.message),
  );
  await assert.rejects(connect(`ws://127.0.0.1:${port}/`), ConnectionError);
});

void test('connect can be cancelled with an AbortSignal', async () => {
  // A listener that never completes the TLS handshake keeps the dial pending until the abort.
  const server = createServer(() => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const ac = new AbortController();
  const dialing = connect(`cds://127.0.0.1:${port}`, { signal: ac.signal, rejectUnauthorized: false });
  setTimeout(() => ac.abort(), 50);
  await assert.rejects(dialing, /cancelled/);
  server.close();
});

void test('listening on a port in use fails with a sentence', async () => {
  const first = await listen('cd://127.0.0.1:0', {}, () => undefined);
  await assert.rejects(
    listen(first.address, {}, () => undefined),
    (err: unknown) => err instanceof ConnectionError && /EADDRINUSE.*another hub/.test(err.message),
  );
  await first.close();
  await first.close(); // idempotent
});

void test('TLS: an untrusted certificate is refused, a trusted one accepted, and a listener needs cert + key', async () => {
  const cert = makeTestPki();
  try {
    await assert.rejects(
      listen('cds://127.0.0.1:0', {}, () => undefined),
      InvalidArgumentError,
    );
    await assert.rejects(
      listen(
        'cds://127.0.0.1:0',
        { certificate: '/nonexistent/cert.pem', privateKey: cert.privateKey },
        () => undefined,
      ),
      /cannot read the certificate file/,
    );
    const l = await listen('cds://127.0.0.1:0', { certificate: cert.certificate, privateKey: cert.privateKey }, (ch) =>
      ch.on('frame', (f) => ch.send(`ECHO ${f}`)),
    );
    await assert.rejects(
      connect(l.address),
      (err: unknown) =>
        err instanceof ConnectionError && /UNABLE_TO_VERIFY_LEAF_SIGNATURE|unable to verify/i.test(err.message),
    );
    await waitFor(() => l.stats.rejected === 1, { what: 'the refused handshake counted' });
    const ch = await connect(l.address.replace('127.0.0.1', 'localhost'), { ca: cert.caPem });
    const got = new Promise<string>((resolve) => ch.on('frame', resolve));
    ch.send('HI');
    assert.equal(await got, 'ECHO HI');
    ch.close();
    await l.close();
  } finally {
    cert.cleanup();
  }
});

void test('Unix socket: a stale socket file is replaced, a live one is refused, the file is removed on close', async () => {
  const dir = await tempDir('sb-unix-');
  try {
    const path = join(dir.path, 'hub.sock');
    // A stale socket: a server that died without unlinking (simulated by a child killed hard).
    const child = spawn(
      process.execPath,
      ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await once(child.stdout!, 'data');
    child.kill('SIGKILL');
    await once(child, 'exit');
    assert.ok(existsSync(path));
    const l = await listen(`cd://${path}`, { socketMode: 0o600 }, () => undefined);
    await assert.rejects(
      listen(`cd://${path}`, {}, () => undefined),
      /another process is listening/,
    );
    await l.close();
    assert.equal(existsSync(path), false);
    writeFileSync(path, 'not a socket');
    await assert.rejects(
      listen(`cd://${path}`, {}, () => undefined),
      /is not a socket/,
    );
  } finally {
    await dir.cleanup();
  }
});

void test('UDP: one channel per remote address, replies go back to the sender, idle peers are forgotten', async () => {
  const seen: string[] = [];
  const l = await listen('cdu://127.0.0.1:0', { udpIdleTimeoutMs: 200 }, (ch) => {
    seen.push(ch.remoteAddress);
    ch.on('frame', (f) => ch.send(`ECHO ${f}`));
  });
  const a = await connect(l.address);
  const b = await connect(l.address);
  const replies: string[] = [];
  a.on('frame', (f) => replies.push(`a:${f}`));
  b.on('frame', (f) => replies.push(`b:${f}`));
  a.send('ONE');
  b.send('TWO');
  a.send('THREE\n'); // a trailing newline (echo | nc -u) is not part of the message
  await waitFor(() => replies.length === 3, { what: 'three replies' });
  assert.deepEqual(replies.sort(), ['a:ECHO ONE', 'a:ECHO THREE', 'b:ECHO TWO']);
  assert.equal(seen.length, 2);
  assert.equal(l.stats.accepted, 2);
  await waitFor(
    () => {
      a.send('AGAIN');
      return seen.length === 3;
    },
    { timeoutMs: 5000, intervalMs: 300, what: 'a new channel after the idle timeout' },
  );
  a.close();
  b.close();
  await l.close();
});

void test('streamChannel over a child process: lines both ways, close when the child exits', async () => {
  const child = spawn(
    process.execPath,
    [
      '-e',
      `process.stdin.setEncoding('utf8'); let buf = ''; process.stdin.on('data', (d) => { buf += d; let i; while ((i = buf.indexOf('\\n')) >= 0) { const l = buf.slice(0, i); buf = buf.slice(i + 1); if (l === 'QUIT') process.exit(0); process.stdout.write('GOT ' + l + '\\n'); } });`,
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const ch = streamChannel(child.stdout!, child.stdin!, { transport: 'stdio', remoteAddress: `pid ${child.pid}` });
  const frames: string[] = [];
  ch.on('frame', (f) => frames.push(f));
  const closed = new Promise<void>((resolve) => ch.on('close', () => resolve()));
  ch.send('A x=1');
  ch.send('B');
  await waitFor(() => frames.length === 2, { what: 'two echoed lines' });
  assert.deepEqual(frames, ['GOT A x=1', 'GOT B']);
  ch.send('QUIT');
  await closed;
  assert.equal(ch.state, 'closed');
});

void test('send refuses a frame with a newline (it would become two messages)', async () => {
  const l = await listen('cd://127.0.0.1:0', {}, () => undefined);
  const ch = await connect(l.address);
  assert.throws(() => ch.send('A\nB'), InvalidArgumentError);
  ch.close();
  await l.close();
});

void test('no error listener: an oversized line is logged, not thrown; a throwing frame listener does not kill the connection', async () => {
  const accepted: Channel[] = [];
  const l = await listen('cd://127.0.0.1:0', { maxLineLength: 64 }, (ch) => accepted.push(ch));
  const a = await connect(l.address);
  await waitFor(() => accepted.length === 1, { what: 'the first connection' });
  const serverA = accepted[0]!;
  const seen: string[] = [];
  serverA.on('frame', (f) => {
    seen.push(f);
    throw new Error('listener bug');
  });
  a.send('ONE');
  a.send('TWO');
  await waitFor(() => seen.length === 2, { what: 'both frames despite the throwing listener' });
  const closed = new Promise((resolve) => serverA.on('close', resolve));
  a.send('X'.repeat(100)); // no 'error' listener on serverA
  await closed;
  const b = await connect(l.address);
  await waitFor(() => accepted.length === 2, { what: 'a second connection' });
  b.close();
  a.close();
  await l.close();
});

for (const url of ['cd://127.0.0.1:0', 'ws://127.0.0.1:0/']) {
  void test(`drain: a batch the socket takes whole is followed by drain; a paused input resumes with the lines it held (${url.split(':')[0]})`, async () => {
    const accepted: Channel[] = [];
    const l = await listen(url, {}, (ch) => accepted.push(ch));
    const a = await connect(l.address);
    await waitFor(() => accepted.length === 1, { what: 'the connection' });
    const server = accepted[0]!;
    // Loopback usually takes 100 KB in one write: no socket drain, yet the queue counted full is empty.
    const drained = new Promise((resolve) => server.on('drain', () => resolve(undefined)));
    server.send('x'.repeat(100_000));
    assert.ok(server.stats.bufferedBytes >= 100_000, 'counted before it is written');
    await drained;
    assert.equal(server.stats.bufferedBytes, 0);
    // Paused after the first line of one chunk: the rest waits, then comes in order.
    const seen: string[] = [];
    server.on('frame', (f) => {
      seen.push(f);
      if (f === 'ONE') server.pauseInput!();
    });
    a.send('ONE');
    a.send('TWO');
    a.send('THREE');
    await waitFor(() => seen.length === 1, { what: 'the first line' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(seen, ['ONE'], 'nothing after the pause');
    server.resumeInput!();
    await waitFor(() => seen.length === 3, { what: 'the held lines' });
    assert.deepEqual(seen, ['ONE', 'TWO', 'THREE']);
    // The peer goes while input is paused: what it sent before comes first, then the close.
    const closed = new Promise((resolve) => server.on('close', () => resolve(undefined)));
    server.pauseInput!();
    a.send('LAST');
    a.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    server.resumeInput!();
    await closed;
    assert.deepEqual(seen, ['ONE', 'TWO', 'THREE', 'LAST']);
    // Closing a paused channel closes it.
    const b = await connect(l.address);
    await waitFor(() => accepted.length === 2, { what: 'a second connection' });
    const paused = accepted[1]!;
    paused.pauseInput!();
    b.send('UNREAD');
    await new Promise((resolve) => setTimeout(resolve, 20));
    const pausedClosed = new Promise((resolve) => paused.on('close', () => resolve(undefined)));
    paused.close();
    await pausedClosed;
    b.close();
    await l.close();
  });
}

void test('frames that arrive before the caller listens are held and delivered in order', async () => {
  for (const url of ['cd://127.0.0.1:0', 'ws://127.0.0.1:0/', 'cdu://127.0.0.1:0']) {
    const l = await listen(url, {}, (ch) => {
      // Greet at once: these may arrive before connect() has even resolved on the other side.
      for (let i = 0; i < 5; i++) ch.send(`HELLO n=${i}`);
    });
    const ch = await connect(l.address);
    if (url.startsWith('cdu')) ch.send('KNOCK'); // a UDP listener meets its peer on the first datagram
    await new Promise((resolve) => setTimeout(resolve, 100)); // let the greeting land before anyone listens
    const frames: string[] = [];
    ch.on('frame', (f) => frames.push(f));
    ch.on('frame', () => undefined);
    await waitFor(() => frames.length === 5, { what: `the greeting on ${url}` });
    assert.deepEqual(
      frames,
      [0, 1, 2, 3, 4].map((i) => `HELLO n=${i}`),
    );
    assert.equal(ch.stats.framesIn, 5);
    ch.close();
    await l.close();
  }
});

void test('UDP: past maxUdpPeers, datagrams from new addresses are dropped and counted', async () => {
  const l = await listen('cdu://127.0.0.1:0', { maxUdpPeers: 2 }, () => undefined);
  const clients = [await connect(l.address), await connect(l.address), await connect(l.address)];
  for (const c of clients.slice(0, 2)) c.send('HI');
  await waitFor(() => l.stats.accepted === 2, { what: 'two peers' });
  clients[2]!.send('HI');
  await waitFor(() => l.stats.rejected === 1, { what: 'the third peer refused' });
  assert.equal(l.stats.accepted, 2);
  for (const c of clients) c.close();
  await l.close();
});
