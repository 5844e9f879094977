/**
 * Structured logs: one line per event, JSON when stderr is not a TTY, pretty when it is.
 * Level from SWITCHBOARD_LOG_LEVEL (default `info`; tests usually set `warn` or `silent`).
 */
import { pino, type Logger } from 'pino';

export type { Logger };

let root: Logger | undefined;

function createRoot(): Logger {
  const level = process.env.SWITCHBOARD_LOG_LEVEL ?? 'info';
  if (process.stderr.isTTY && !process.env.SWITCHBOARD_LOG_JSON) {
    return pino({
      level,
      base: undefined,
      transport: {
        target: 'pino-pretty',
        options: { destination: 2, colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' },
      },
    });
  }
  return pino(
    { level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination({ dest: 2, sync: false }),
  );
}

/** A child logger for one component (`hub`, `sync`, `engine`, ...). */
export function getLogger(component: string, bindings: Record<string, unknown> = {}): Logger {
  root ??= createRoot();
  return root.child({ component, ...bindings });
}
