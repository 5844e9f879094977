/**
 * What account add and edit (CLI, dashboard, hub service) do with options before saving them: JSON
 * first, then the connector's options schema (manifest `options_schema`, or an Airbyte source's
 * spec), then, unless asked not to, the connector's own check (go-plugin `Check`, Airbyte
 * `check`). One wording for every caller.
 */
import { InvalidArgumentError, SwitchboardError, errorMessage } from '../core/errors.js';
import type { Db } from '../store/index.js';
import { normaliseOptions } from './accounts.js';
import type { CheckResult } from './driver-types.js';
import { driverFor } from './driver.js';
import { connectorFolder } from './install.js';
import { validateOptions } from './options-schema.js';
import type { ConnectorRecord } from './types.js';

export type { CheckResult };

/**
 * Returns the normalised options text and the check's result (null when `check` is false).
 * Throws INVALID_ARGUMENT for options the schema or the connector refuse, UNAVAILABLE when the
 * connector could not be asked.
 */
export async function checkAccountOptions(
  ctx: { db: Db; home: string },
  connector: ConnectorRecord,
  optionsText: string,
  opts: { check?: boolean; signal?: AbortSignal } = {},
): Promise<{ options: string; check: CheckResult | null }> {
  const options = normaliseOptions(optionsText);
  validateOptions(connector.name, connector.optionsSchema, options);
  if (opts.check === false) return { options, check: null };
  const driver = await driverFor(connector);
  let result: CheckResult;
  try {
    const cwd = await connectorFolder(ctx.db, ctx.home, connector.name);
    result = await driver.check({
      connector,
      cwd,
      options,
      env: { SWITCHBOARD_CONNECTOR: connector.name, SWITCHBOARD_CONNECTOR_DIR: cwd },
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  } catch (err) {
    throw new SwitchboardError(
      'UNAVAILABLE',
      `could not ask connector "${connector.name}" to check the options: ${errorMessage(err)} (to save them unchecked: --no-check on the CLI, or untick "check" on the dashboard)`,
      { cause: err, data: { field: 'options' } },
    );
  }
  if (!result.ok)
    throw new InvalidArgumentError(
      `connector "${connector.name}" refused these options: ${result.message || 'no reason given'}`,
      { data: { field: 'options', check: result } },
    );
  return { options, check: result };
}
