/**
 * Runs a hub as this process's main job (`switchboard hub`, `switchboard start`): start the
 * listeners and the extensions it is given (src/start composes them), print the addresses, stop
 * cleanly on SIGINT/SIGTERM or STOP.
 */
import { errorMessage } from '../core/errors.js';
import type { HubConfig } from './config.js';
import type { ExtensionHandle, HubExtension } from './context.js';
import { Hub } from './hub.js';
import { ensurePrivateDir } from '../trust/home.js';

export interface RunOptions {
  /** Started in order once the listeners are bound, stopped in reverse order. */
  extensions: readonly HubExtension[];
  /** Print the addresses as one JSON object instead of lines. */
  json?: boolean;
  out?: NodeJS.WritableStream;
  onStarted?: (hub: Hub) => void;
}

function describe(hub: Hub, extra: { name: string; url: string }[], json: boolean): string {
  const addresses = [...hub.addresses.map((a) => ({ name: a.kind, url: a.url })), ...extra];
  const notes = hub.config.notes;
  if (json) return `${JSON.stringify({ server: hub.serverName, addresses, ...(notes.length ? { notes } : {}) })}\n`;
  const width = Math.max(...addresses.map((a) => a.name.length));
  const noteLines = notes.map((n) => `note: ${n}\n`).join('');
  return `switchboard hub "${hub.serverName}" is running:\n${addresses.map((a) => `  ${a.name.padEnd(width)}  ${a.url}`).join('\n')}\n${noteLines}(stop with Ctrl-C, or send STOP)\n`;
}

/**
 * Writes that survive a reader that went away (`switchboard hub | head -3`, a supervisor that
 * closed the pipe): the EPIPE is noted once and later lines are skipped, so the hub keeps
 * running and still stops cleanly on the first signal instead of dying on an unhandled error.
 */
function printer(out: NodeJS.WritableStream): (text: string) => void {
  let closed = false;
  out.on('error', () => {
    closed = true;
  });
  return (text) => {
    if (closed) return;
    try {
      out.write(text);
    } catch {
      closed = true;
    }
  };
}

/**
 * Runs until the hub stops (signal or STOP); resolves with the reason. `onStarted` sees the
 * running hub (tests use it to stop it).
 */
export async function runHub(config: HubConfig, options: RunOptions): Promise<string> {
  const print = printer(options.out ?? process.stdout);
  const homeProblem = ensurePrivateDir(config.dataPath);
  const hub = new Hub(config);
  if (homeProblem) hub.log.warn({ dir: config.dataPath, why: homeProblem }, 'the data directory is not private');
  await hub.start();
  const handles: { name: string; handle: ExtensionHandle }[] = [];
  try {
    for (const ext of options.extensions) {
      const handle = await ext.start(hub);
      if (handle) handles.push({ name: ext.name, handle });
    }
  } catch (err) {
    await hub.stop(`an extension failed to start: ${errorMessage(err)}`);
    for (const { handle } of handles.reverse()) await handle.stop().catch(() => undefined);
    throw err;
  }
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      hub.log.warn({ signal }, 'second signal: exiting now');
      process.exit(130);
    }
    hub.requestStop(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Printed once the signal handlers are in place: whoever reads the addresses may stop us at once.
  const extra = handles.flatMap((h) => [...(h.handle.addresses ?? [])]);
  print(describe(hub, extra, options.json ?? false));
  options.onStarted?.(hub);

  const reason = await hub.stopped;
  for (const { name, handle } of handles.reverse()) {
    try {
      await handle.stop();
    } catch (err) {
      hub.log.warn({ extension: name, err: errorMessage(err) }, 'an extension did not stop cleanly');
    }
  }
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  print(`switchboard hub "${hub.serverName}" stopped (${reason})\n`);
  return reason;
}
