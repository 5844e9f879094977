/** The go-plugin protocol as a sync driver (see ../driver.ts). */
import type { Driver } from '../driver-types.js';
import { checkConnector } from './check-connector.js';
import { runConnector } from './run-connector.js';

export const goPluginDriver: Driver = {
  async run(o) {
    const result = await runConnector({
      command: o.connector.command,
      cwd: o.cwd,
      options: o.options,
      ...(o.state !== undefined ? { state: o.state } : {}),
      env: o.env,
      inheritEnv: o.connector.env,
      onPage: o.onPage,
      onCheckpoint: o.onCheckpoint,
      onClean: () => o.onClean(),
      onLog: o.onLog,
      signal: o.signal,
      ...(o.handshakeTimeoutMs ? { handshakeTimeoutMs: o.handshakeTimeoutMs } : {}),
    });
    return { metadata: result.metadata };
  },
  check(o) {
    return checkConnector({
      command: o.connector.command,
      cwd: o.cwd,
      options: o.options,
      env: o.env,
      inheritEnv: o.connector.env,
      onLog: () => {},
      ...(o.signal ? { signal: o.signal } : {}),
    });
  },
};
