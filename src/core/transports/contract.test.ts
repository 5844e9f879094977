/**
 * The channel contract, run against every transport: open, order, back-pressure, oversized
 * input, a peer vanishing mid-line, and close semantics.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import type { Channel } from '../channel.js';
import { waitFor } from '../test/support.js';
import { harnesses, LIMITS } from './test/harnesses.js';

process.env.SWITCHBOARD_LOG_LEVEL ??= 'silent';

function collect(ch: Channel): string[] {
  const frames: string[] = [];
  ch.on('frame', (f) => frames.push(f));
  return frames;
}

function closeEvents(ch: Channel): { count: number; reason: Error | undefined; closed: Promise<void> } {
  const state = { count: 0, reason: undefined as Error | undefined, closed: Promise.resolve() };
  state.closed = new Promise((resolve) =>
    ch.on('close', (reason) => {
      state.count++;
      state.reason = reason;
      resolve();
    }),
  );
  return state;
}

async function sendAll(from: Channel, received: string[], n: number, window: number): Promise<void> {
  for (let sent = 0; sent < n;) {
    const upTo = Math.min(n, sent + window);
    for (; sent < upTo; sent++) assert.equal(from.send(`FRAME seq=${sent}`), true);
    await waitFor(() => received.length >= sent, { timeoutMs: 10_000, intervalMs: 1, what: `${sent} frames` });
  }
}

for (const h of harnesses()) {
  void describe(`channel contract: ${h.name}`, () => {
    before(() => h.start());
    after(() => h.stop());

    void test('open: both ends are open and describe their peer', async () => {
      const { client, server } = await h.pair();
      for (const ch of [client, server]) {
        assert.equal(ch.state, 'open');
        assert.ok(ch.id.length > 0);
        assert.ok(ch.remoteAddress.length > 0);
      }
      assert.equal(client.transport, server.transport);
      if (h.listener) assert.doesNotMatch(h.listener.address, /:0(\/|$)/, 'listener reports the chosen port');
      client.close();
      server.close();
    });

    void test('order: 10k frames each way arrive complete and in order', async () => {
      const { client, server } = await h.pair();
      const atServer = collect(server);
      const atClient = collect(client);
      const window = h.reliable ? 10_000 : 100; // UDP may drop a burst on loopback: pace it
      await sendAll(client, atServer, 10_000, window);
      await sendAll(server, atClient, 10_000, window);
      for (const frames of [atServer, atClient]) {
        assert.equal(frames.length, 10_000);
        for (let i = 0; i < frames.length; i++)
          if (frames[i] !== `FRAME seq=${i}`) assert.fail(`frame ${i} is ${frames[i]}`);
      }
      assert.equal(client.stats.framesOut, server.stats.framesIn);
      assert.ok(client.stats.bytesOut > 0 && server.stats.bytesIn > 0);
      client.close();
      server.close();
    });

    void test(
      'back-pressure: a peer that never reads makes send return false, drops are counted, memory stays bounded',
      { skip: !h.stalled && 'UDP has no peer back-pressure' },
      async () => {
        const { server, release } = await h.stalled!();
        const frame = 'X'.repeat(1023);
        const rssBefore = process.memoryUsage().rss;
        let refusedAt = -1;
        for (let i = 0; i < 100_000 && refusedAt === -1; i++) {
          if (!server.send(frame)) refusedAt = i;
          if (i % 64 === 63) await tick();
        }
        assert.ok(refusedAt > 0, 'send returned false within 100 MB');
        assert.equal(server.stats.dropped, 1);
        for (let i = 0; i < 3000; i++) {
          server.send(frame);
          if (i % 64 === 63) await tick();
        }
        assert.ok(server.stats.dropped >= 1500, `most frames past the bound are dropped (${server.stats.dropped})`);
        assert.ok(
          server.stats.bufferedBytes <= LIMITS.maxQueuedBytes + 1024,
          `buffered ${server.stats.bufferedBytes} bytes`,
        );
        const growth = process.memoryUsage().rss - rssBefore;
        assert.ok(growth < 128 * 1024 * 1024, `memory grew by ${growth} bytes`);
        assert.equal(server.state, 'open');
        release();
        server.close();
      },
    );

    void test(
      'oversized input: a typed error, then (streams) a close, and the listener keeps accepting',
      { skip: !h.raw && !h.stalled && 'no raw peer' },
      async () => {
        if (h.name === 'memory') {
          const { client, server } = await h.pair();
          const errors: Error[] = [];
          server.on('error', (e) => errors.push(e));
          const closed = closeEvents(server);
          client.send('Y'.repeat(LIMITS.maxLineLength + 1));
          await closed.closed;
          assert.equal((errors[0] as { code?: string }).code, 'LINE_TOO_LONG');
          return;
        }
        const { peer, server } = await h.raw!();
        const errors: Array<Error & { code?: string }> = [];
        const frames = collect(server);
        if (!h.connectionOriented) {
          server.on('error', (e) => errors.push(e));
          peer.write('Z'.repeat(1025));
          peer.write('AFTER');
          await waitFor(() => frames.includes('AFTER'), { what: 'the datagram after the oversized one' });
          assert.equal(errors[0]?.code, 'DATAGRAM_TOO_LARGE');
          assert.equal(server.state, 'open');
          assert.equal(h.listener!.stats.rejected, 1);
          assert.equal(server.send('Z'.repeat(1025)), false, 'an oversized outbound datagram is refused');
          assert.equal(errors[1]?.code, 'DATAGRAM_TOO_LARGE');
          peer.destroy();
          return;
        }
        const closed = closeEvents(server);
        server.on('error', (e) => {
          errors.push(e);
          server.send('INVALID message=line too long');
        });
        peer.write(h.lineFramed ? 'OK a=1\n' : 'OK a=1');
        // No newline: a line held open must fail as soon as it passes the limit.
        peer.write('Y'.repeat(LIMITS.maxLineLength + 10));
        await closed.closed;
        await peer.ended;
        assert.deepEqual(frames, ['OK a=1']);
        assert.equal(errors.length, 1);
        assert.equal(errors[0]?.code, 'LINE_TOO_LONG');
        assert.equal(closed.count, 1);
        assert.equal((closed.reason as { code?: string } | undefined)?.code, 'LINE_TOO_LONG');
        if (h.lineFramed) assert.match(peer.received(), /^INVALID message=line too long\n$/);
        // The listener is still serving.
        const { client, server: next } = await h.pair();
        const got = collect(next);
        client.send('STILL_HERE');
        await waitFor(() => got.length === 1, { what: 'a frame on a new connection' });
        client.close();
      },
    );

    void test(
      'peer disconnects mid-line: complete frames delivered, the partial one discarded, close once',
      { skip: (!h.raw || !h.connectionOriented) && 'no connection to drop' },
      async () => {
        const { peer, server } = await h.raw!();
        const frames = collect(server);
        const closed = closeEvents(server);
        peer.write(h.lineFramed ? 'CMD a=1\nHALF a=' : 'CMD a=1');
        await waitFor(() => frames.length === 1, { what: 'the complete frame' });
        peer.destroy();
        await closed.closed;
        await tick();
        assert.deepEqual(frames, ['CMD a=1']);
        assert.equal(closed.count, 1);
        assert.equal(server.state, 'closed');
        assert.equal(server.send('LATE'), false);
      },
    );

    void test('close: flushes what was sent, is idempotent, reports close once on each side', async () => {
      const { client, server } = await h.pair();
      const frames = collect(server);
      const clientClosed = closeEvents(client);
      const serverClosed = closeEvents(server);
      assert.equal(client.send('BYE a=1'), true);
      client.close();
      client.close();
      assert.equal(client.send('AFTER'), false);
      await clientClosed.closed;
      if (h.connectionOriented) await serverClosed.closed;
      else await waitFor(() => frames.length === 1, { what: 'the last datagram' });
      client.close();
      await tick();
      assert.deepEqual(frames, ['BYE a=1']);
      assert.equal(client.state, 'closed');
      assert.equal(clientClosed.count, 1);
      assert.equal(clientClosed.reason, undefined);
      if (h.connectionOriented) {
        assert.equal(serverClosed.count, 1);
        assert.equal(server.state, 'closed');
      } else {
        server.close();
        server.close();
        assert.equal(serverClosed.count, 1);
      }
    });

    void test(
      'listener close ends accepted channels',
      { skip: !h.listener && !['tcp', 'unix', 'tls', 'ws', 'udp'].includes(h.name) && 'no listener' },
      async () => {
        const { client, server } = await h.pair();
        const serverClosed = closeEvents(server);
        const clientClosed = closeEvents(client);
        await h.listener!.close();
        await serverClosed.closed;
        if (h.connectionOriented) await clientClosed.closed;
        else client.close();
        assert.equal(serverClosed.count, 1);
        await h.start(); // fresh listener for the suite's after()
      },
    );
  });
}
