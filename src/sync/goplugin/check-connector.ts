/** `checkConnector`: start a connector only to ask it whether some options are usable (e.g. on `account add`). */
import { status } from '@grpc/grpc-js';
import { methods } from '../proto/index.js';
import { hasStatus, unary } from './rpc.js';
import { startPlugin } from './session.js';
import type { RunConnectorOptions } from './types.js';

export type CheckConnectorOptions = Pick<
  RunConnectorOptions,
  'command' | 'cwd' | 'env' | 'inheritEnv' | 'options' | 'onLog' | 'signal' | 'handshakeTimeoutMs' | 'autoMTLS'
>;

export interface CheckConnectorResult {
  /** False when the connector has no Check (every c1-core Go connector): nothing was validated. */
  supported: boolean;
  ok: boolean;
  message: string;
}

export async function checkConnector(options: CheckConnectorOptions): Promise<CheckConnectorResult> {
  const session = await startPlugin(options);
  try {
    const res = await unary(session.client, methods.check, { options: options.options }, { signal: options.signal });
    return { supported: true, ok: res.ok, message: res.message };
  } catch (err) {
    if (hasStatus(err, status.UNIMPLEMENTED))
      return { supported: false, ok: true, message: 'the connector has no Check; options were not validated' };
    throw err;
  } finally {
    await session.close();
  }
}
