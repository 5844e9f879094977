/**
 * The two ends of a link's opening. The dialer sends CONNECT (or GOSSIP) and waits for one answer;
 * the listener reads one first message and answers. Both give up after the handshake timeout.
 * Frames that follow the first one (the peer may send its LINK_STATE right behind ACCEPT) are kept
 * until the link takes them with `takeRest()`.
 */
import type { Channel } from '../core/channel.js';
import { decodeLine, encodeLine } from '../core/codec/index.js';
import type { Message } from '../core/message.js';
import { ConnectionError, TimeoutError, errorMessage } from '../core/errors.js';
import type { Clock } from './clock.js';

export interface FirstMessage {
  msg: Message;
  /** Stops buffering and returns the frames that arrived after the first one. */
  takeRest(): string[];
}

function awaitFirst(
  channel: Channel,
  clock: Clock,
  timeoutMs: number,
  what: string,
  closedWhy: () => string,
): Promise<FirstMessage> {
  return new Promise((resolve, reject) => {
    const rest: string[] = [];
    let first: Message | undefined;
    const timer = clock.setTimer(timeoutMs, () => fail(new TimeoutError(`no ${what} within ${timeoutMs} ms`)));
    const onFrame = (frame: string): void => {
      if (first) {
        rest.push(frame);
        return;
      }
      try {
        first = decodeLine(frame);
      } catch (err) {
        fail(err instanceof Error ? err : new Error(errorMessage(err)));
        return;
      }
      timer.cancel();
      channel.off('close', onClose);
      resolve({
        msg: first,
        takeRest: () => {
          channel.off('frame', onFrame);
          return rest;
        },
      });
    };
    const onClose = (): void => fail(new ConnectionError('CONNECTION_CLOSED', closedWhy()));
    function fail(err: Error): void {
      timer.cancel();
      channel.off('frame', onFrame);
      channel.off('close', onClose);
      reject(err);
    }
    channel.on('frame', onFrame);
    channel.on('close', onClose);
  });
}

/** Sends `first` and resolves with the peer's first message (the channel stays open). */
export function exchangeFirst(
  channel: Channel,
  first: Message,
  clock: Clock,
  timeoutMs: number,
): Promise<FirstMessage> {
  const answer = awaitFirst(
    channel,
    clock,
    timeoutMs,
    `answer to ${first.command}`,
    () => `the hub closed the link before answering ${first.command}`,
  );
  if (!channel.send(encodeLine(first, 'json'))) channel.close();
  return answer;
}

/** Resolves with the first message a new incoming channel sends (or rejects on timeout/close/garbage). */
export function readFirst(channel: Channel, clock: Clock, timeoutMs: number): Promise<FirstMessage> {
  return awaitFirst(channel, clock, timeoutMs, 'CONNECT or GOSSIP', () => 'closed before its first message');
}

/** Sends one message (JSON line). */
export function sendMessage(channel: Channel, msg: Message): boolean {
  return channel.send(encodeLine(msg, 'json'));
}
