/**
 * A raw line connection for the scaling curves: registers a service in the JSON form, counts the
 * lines and bytes it receives, and lets the bench wait for a line containing some text. Lighter
 * than the client library, so ten thousand of them fit in one process.
 */
import { connect, type Socket } from 'node:net';
import { encodeLine } from '../../src/core/codec/index.js';
import { createMessage, type JsonValue } from '../../src/core/message.js';

export function line(command: string, params: Record<string, JsonValue>, service = '', server = ''): string {
  return `${encodeLine(createMessage(command, params, { server, service }), 'json')}\n`;
}

export class LineConn {
  lines = 0;
  bytes = 0;
  private tail = '';
  private waiters: { text: string; resolve: () => void }[] = [];
  /** Keep line text only while someone waits for one (the throughput runs just count). */
  watch = false;

  private constructor(readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (buf: Buffer) => {
      this.bytes += buf.length;
      let i = -1;
      while ((i = buf.indexOf(10, i + 1)) !== -1) this.lines++;
      if (this.watch || this.waiters.length > 0) this.scan(buf.toString('utf8'));
    });
    socket.on('error', () => undefined);
  }

  private scan(text: string): void {
    const all = this.tail + text;
    const cut = all.lastIndexOf('\n');
    this.tail = cut === -1 ? all : all.slice(cut + 1);
    if (cut === -1) return;
    const done = all.slice(0, cut);
    this.waiters = this.waiters.filter((w) => {
      if (!done.includes(w.text)) return true;
      w.resolve();
      return false;
    });
  }

  static open(port: number, host = '127.0.0.1'): Promise<LineConn> {
    return new Promise((resolve, reject) => {
      const s = connect({ port, host }, () => resolve(new LineConn(s)));
      s.once('error', reject);
    });
  }

  /** Resolves when a line containing `text` arrives (from now on). */
  until(text: string, timeoutMs = 60_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no line with ${text} within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        text,
        resolve: () => {
          clearTimeout(t);
          resolve();
        },
      });
    });
  }

  /** REGISTER (JSON form); resolves on READY. */
  async register(service: string, commands: string[] = []): Promise<void> {
    const ready = this.until('"READY"');
    this.write(
      line('REGISTER', {
        service,
        version: '1',
        format: 'json',
        ...(commands.length ? { commands: commands.join(',') } : {}),
      }),
    );
    await ready;
  }

  write(text: string): boolean {
    return this.socket.write(text);
  }

  close(): void {
    this.socket.destroy();
  }
}
