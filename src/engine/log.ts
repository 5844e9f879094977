/**
 * The engine's logger, kept behind a tiny interface so the same engine code runs in Node (pino,
 * set by `switchboard/engine`) and in the browser bundle (console).
 */
export interface EngineLogger {
  error(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  debug(fields: Record<string, unknown>, message: string): void;
}

export const consoleLogger: EngineLogger = {
  error: (fields, message) => console.error(`[switchboard engine] ${message}`, fields),
  warn: (fields, message) => console.warn(`[switchboard engine] ${message}`, fields),
  debug: () => undefined,
};

let current: EngineLogger = consoleLogger;

export function setEngineLogger(logger: EngineLogger): void {
  current = logger;
}

export function engineLog(): EngineLogger {
  return current;
}
