/**
 * The two ends of a link's opening. The dialer sends CONNECT (or GOSSIP) and waits for one answer;
 * the listener reads one first message and answers. Both give up after the handshake timeout.
 * Messages that follow the first one (the peer may send its LINK_STATE right behind ACCEPT) are
 * kept, decoded, until the link takes them with `takeRest()`.
 */
import { ConnectionError, TimeoutError, type InvalidMessageError } from '../core/errors.js';
import type { Message } from '../core/message.js';
import type { MessageConnection, Received } from '../core/message-connection.js';
import type { Clock } from './clock.js';

/** A message that followed the first one, or the error of a line that did not decode. */
export type Early = Received | InvalidMessageError;

export interface FirstMessage {
  msg: Message;
  /** Stops buffering and returns what arrived after the first message, in order. */
  takeRest(): Early[];
}

function awaitFirst(
  conn: MessageConnection,
  clock: Clock,
  timeoutMs: number,
  what: string,
  closedWhy: () => string,
): Promise<FirstMessage> {
  return new Promise((resolve, reject) => {
    const rest: Early[] = [];
    let first: Message | undefined;
    let settled = false;
    const timer = clock.setTimer(timeoutMs, () => fail(new TimeoutError(`no ${what} within ${timeoutMs} ms`)));
    function fail(err: Error): void {
      if (settled) return;
      settled = true;
      timer.cancel();
      conn.detach();
      reject(err);
    }
    conn.listen({
      message: (received) => {
        if (first) {
          rest.push(received);
          return;
        }
        first = received.message;
        settled = true;
        timer.cancel();
        resolve({
          msg: first,
          takeRest: () => {
            conn.detach();
            return rest;
          },
        });
      },
      invalid: (_raw, err) => {
        if (first) rest.push(err);
        else fail(err);
      },
      close: () => fail(new ConnectionError('CONNECTION_CLOSED', closedWhy())),
    });
  });
}

/** Sends `first` and resolves with the peer's first message (the channel stays open). */
export function exchangeFirst(
  conn: MessageConnection,
  first: Message,
  clock: Clock,
  timeoutMs: number,
): Promise<FirstMessage> {
  const answer = awaitFirst(
    conn,
    clock,
    timeoutMs,
    `answer to ${first.command}`,
    () => `the hub closed the link before answering ${first.command}`,
  );
  if (!conn.send(first)) conn.close();
  return answer;
}

/** Resolves with the first message a new incoming link sends (or rejects on timeout/close/garbage). */
export function readFirst(conn: MessageConnection, clock: Clock, timeoutMs: number): Promise<FirstMessage> {
  return awaitFirst(conn, clock, timeoutMs, 'CONNECT or GOSSIP', () => 'closed before its first message');
}
