/**
 * A connector's log: hclog JSON lines on stderr (`@level`, `@message`, `@timestamp` and fields),
 * which go-plugin hosts, Switchboard's included, parse into their own logs.
 */
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

export interface ConnectorLog {
  trace(message: string, fields?: Record<string, unknown>): void;
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export function hclogLine(
  level: LogLevel,
  message: string,
  fields: Record<string, unknown> = {},
  now = new Date(),
): string {
  return JSON.stringify({ '@level': level, '@message': message, '@timestamp': now.toISOString(), ...fields });
}

export function createLog(write: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): ConnectorLog {
  const at = (level: LogLevel) => (message: string, fields?: Record<string, unknown>) =>
    write(hclogLine(level, message, fields));
  return { trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
