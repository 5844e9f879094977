/** Picks the driver of a connector's protocol (the types are in driver-types.ts). */
import type { Driver } from './driver-types.js';
import type { ConnectorRecord } from './types.js';

export type { CheckResult, Driver, DriverCheckOptions, DriverRunOptions } from './driver-types.js';

export async function driverFor(connector: ConnectorRecord): Promise<Driver> {
  if (connector.protocol === 'airbyte') return (await import('./airbyte/driver.js')).airbyteDriver;
  return (await import('./goplugin/driver.js')).goPluginDriver;
}
