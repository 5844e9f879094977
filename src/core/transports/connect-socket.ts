/** Dialing a socket transport: wait for connect (or secureConnect), with a timeout and an AbortSignal. */
import type { Socket } from 'node:net';
import { ConnectionError } from '../errors.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, type ConnectOptions } from './options.js';

export function awaitConnected(
  socket: Socket,
  url: string,
  readyEvent: 'connect' | 'secureConnect',
  options: ConnectOptions | undefined,
): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const timeoutMs = options?.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const fail = (err: ConnectionError): void => {
      cleanup();
      socket.destroy();
      reject(err);
    };
    const onError = (err: NodeJS.ErrnoException): void => {
      const hint =
        err.code === 'ECONNREFUSED' || err.code === 'ENOENT' ? ' (is the hub running and listening there?)' : '';
      fail(
        new ConnectionError('CONNECTION_FAILED', `cannot connect to ${url}: ${err.code ?? err.message}${hint}`, {
          cause: err,
        }),
      );
    };
    const onAbort = (): void => fail(new ConnectionError('CONNECTION_FAILED', `connecting to ${url} was cancelled`));
    const timer = setTimeout(
      () =>
        fail(new ConnectionError('CONNECTION_FAILED', `cannot connect to ${url}: no answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onReady = (): void => {
      cleanup();
      resolve(socket);
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.off('error', onError);
      socket.off(readyEvent, onReady);
      options?.signal?.removeEventListener('abort', onAbort);
    };
    if (options?.signal?.aborted) return onAbort();
    options?.signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('error', onError);
    socket.once(readyEvent, onReady);
  });
}
