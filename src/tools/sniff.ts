/**
 * `switchboard sniff`: the hub's traffic tap (src/hub/PROTOCOL.md, "The sniff tap"). Sends
 * `SNIFF [service=S][;command=C][;format=json]` and prints each `SNIFFED` as it arrives; after a
 * hub restart it reconnects and asks again.
 */
import { decodeJson } from '../core/codec/index.js';
import { SwitchboardError, errorMessage } from '../core/errors.js';
import type { JsonValue, Message } from '../core/message.js';
import { readSniffed as readNotice } from '../core/protocol/index.js';
import { connect } from '../client/index.js';
import { formatMessage } from './message-line.js';
import type { SniffOptions } from './options.js';

/** One SNIFFED notice, as printed with `--json`. */
export interface SniffedLine {
  at: number;
  outcome: string;
  delivered_to?: string[];
  reason?: string;
  message: JsonValue;
}

export function readSniffed(msg: Message): SniffedLine {
  const s = readNotice(msg);
  const out: SniffedLine = { at: s.at, outcome: s.outcome, message: s.message };
  if (s.deliveredTo !== undefined) out.delivered_to = s.deliveredTo;
  if (s.reason !== undefined) out.reason = s.reason;
  return out;
}

/** `12:03:04.567 delivered  <srv:caller clock/TIME zone=UTC  -> clock#1` */
export function formatSniffed(s: SniffedLine): string {
  const time = new Date(s.at).toISOString().slice(11, 23);
  let text: string;
  if (typeof s.message === 'string') text = s.message;
  else {
    try {
      text = formatMessage(decodeJson(JSON.stringify(s.message)), false, false);
    } catch {
      text = JSON.stringify(s.message);
    }
  }
  const to = s.delivered_to?.length ? `  -> ${s.delivered_to.join(',')}` : '';
  const why = s.reason ? `  (${s.reason})` : '';
  return `${time} ${s.outcome.padEnd(9)} ${text}${to}${why}`;
}

export async function runSniff(
  options: SniffOptions,
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Promise<void> {
  const hub = await connect(options.address, {
    format: options.json ? 'json' : 'text',
    waitOnFirstConnect: false,
  });
  const ask = () => {
    const params: Record<string, string> = { format: options.json ? 'json' : 'text' };
    if (options.service) params.service = options.service;
    if (options.command) params.command = options.command;
    hub.send({ command: 'SNIFF', params });
  };
  const finished = new Promise<void>((resolve, reject) => {
    hub.on('SNIFFING', () => {
      err.write(
        `sniffing on ${options.address}${options.service ? ` service=${options.service}` : ''}${options.command ? ` command=${options.command}` : ''} (Ctrl-C to stop)\n`,
      );
    });
    hub.on('SNIFFED', (m) => {
      const s = readSniffed(m);
      out.write(`${options.json ? JSON.stringify(s) : formatSniffed(s)}\n`);
    });
    hub.on('INVALID', (m) => {
      if (m.params.command === 'SNIFF') {
        hub.dispose();
        reject(new SwitchboardError('REFUSED', `the hub refused to sniff: ${String(m.params.message ?? '')}`));
      }
    });
    hub.onState((s) => {
      if (s.status === 'connected') {
        err.write(`reconnected to ${options.address}\n`);
        ask();
      }
      if (s.status === 'disconnected')
        err.write(
          `! ${s.reason.message}; retrying${s.retryInMs !== undefined ? ` in ${Math.round(s.retryInMs / 1000)} s` : ''}\n`,
        );
      if (s.status === 'closed') resolve();
    });
    const stop = () => {
      hub.dispose();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  ask();
  try {
    await finished;
  } catch (e) {
    throw e instanceof SwitchboardError ? e : new SwitchboardError('INTERNAL', errorMessage(e));
  }
}
