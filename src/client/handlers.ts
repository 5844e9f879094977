/**
 * The commands this client handles: `on(command, handler)` adds to a table; an inbound message
 * runs every handler for its command. A handler's return value (or resolved value) is the reply;
 * a throw answers a request with `ERROR code=..;message=..;retryable=..` so the caller gets the
 * same typed error.
 */
import type { Message } from '../core/message.js';
import { errorParams } from '../core/protocol/index.js';
import { CORRELATION_PARAM } from './correlation.js';
import type { Handler, HandlerContext, ReplyInit } from './types.js';

export interface Replier {
  reply(to: Message, reply: ReplyInit): boolean;
  /** A handler threw (logged by the client). */
  handlerFailed(msg: Message, err: unknown): void;
}

/** Per-message context (a class, not a closure: this runs for every message). */
class ReplyContext implements HandlerContext {
  constructor(
    private readonly replier: Replier,
    private readonly msg: Message,
  ) {}
  reply(reply: ReplyInit): boolean {
    return this.replier.reply(this.msg, reply);
  }
}

export class HandlerTable {
  private readonly table = new Map<string, Handler[]>();

  has(command: string): boolean {
    return this.table.has(command);
  }

  commands(): IterableIterator<string> {
    return this.table.keys();
  }

  /** Adds a handler; returns true when it is the command's first (the COMMANDS list changed). */
  add(command: string, handler: Handler): boolean {
    const list = this.table.get(command);
    if (list) {
      list.push(handler);
      return false;
    }
    this.table.set(command, [handler]);
    return true;
  }

  /** Removes a handler; returns true when the command has none left. */
  remove(command: string, handler: Handler): boolean {
    const list = this.table.get(command)?.filter((h) => h !== handler) ?? [];
    if (list.length) {
      this.table.set(command, list);
      return false;
    }
    return this.table.delete(command);
  }

  /** Runs the handlers for `msg`; false when none is registered for its command. */
  run(msg: Message, replier: Replier): boolean {
    const list = this.table.get(msg.command);
    if (!list) return false;
    const ctx = new ReplyContext(replier, msg);
    for (const handler of list) {
      let result: ReturnType<Handler>;
      try {
        result = handler(msg, ctx);
      } catch (err) {
        fail(replier, msg, err);
        continue;
      }
      if (result instanceof Promise) {
        result.then(
          (r) => {
            if (r) replier.reply(msg, r);
          },
          (err: unknown) => fail(replier, msg, err),
        );
      } else if (result) {
        replier.reply(msg, result);
      }
    }
    return true;
  }
}

function fail(replier: Replier, msg: Message, err: unknown): void {
  replier.handlerFailed(msg, err);
  if (msg.params[CORRELATION_PARAM] === undefined || msg.sentFrom.service === '') return;
  replier.reply(msg, { command: 'ERROR', params: errorParams(err) });
}
