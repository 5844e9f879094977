/** This machine's load as the communicator's LOADAVG carries it (see protocol/loadavg.ts). */
import { availableParallelism, loadavg } from 'node:os';

/** The 1-minute load per processor: 1.0 is a full machine (Linux reads /proc/loadavg; Node reports 0 on Windows). */
export function sampleLoad(): number {
  return (loadavg()[0] ?? 0) / Math.max(1, availableParallelism());
}
