/** Whether something accepts connections at a socket path or port (used for stale Unix sockets). */
import { connect } from 'node:net';

export function portOpen(
  target: { path: string } | { host: string; port: number },
  timeoutMs = 1000,
): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(target);
    const done = (ok: boolean): void => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}
