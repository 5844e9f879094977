/**
 * A plugin's output lines: hclog JSON (`@level`, `@message`, `@timestamp`, `@module`, extra
 * fields) or plain text, turned into log entries; and a bounded tail of stderr for error reports.
 */
import { LineFramer } from '../../core/framing.js';
import type { PluginLogEntry } from './types.js';

const LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error']);
const RESERVED = new Set(['@level', '@message', '@timestamp', '@module', '@caller']);

export function parsePluginLine(line: string, stream: 'stderr' | 'stdout'): PluginLogEntry {
  if (line.startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(line);
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed) && '@message' in parsed) {
        const record = parsed as Record<string, unknown>;
        const rawLevel = typeof record['@level'] === 'string' ? record['@level'].toLowerCase() : 'info';
        const level = (LEVELS.has(rawLevel) ? rawLevel : 'info') as PluginLogEntry['level'];
        const fields: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(record)) if (!RESERVED.has(k)) fields[k] = v;
        const module = typeof record['@module'] === 'string' ? record['@module'] : undefined;
        return { level, message: String(record['@message']), fields, stream, ...(module ? { module } : {}) };
      }
    } catch {
      // Not JSON after all: a plain line that starts with "{".
    }
  }
  return { level: 'info', message: line, fields: {}, stream };
}

/** The last lines written (at most `maxLines` and `maxChars`), for the message of a failure. */
export class OutputTail {
  private readonly lines: string[] = [];
  private chars = 0;

  constructor(
    private readonly maxLines = 20,
    private readonly maxChars = 4096,
  ) {}

  push(line: string): void {
    const clipped = line.length > this.maxChars ? `${line.slice(0, this.maxChars - 3)}...` : line;
    this.lines.push(clipped);
    this.chars += clipped.length + 1;
    while (this.lines.length > this.maxLines || (this.chars > this.maxChars && this.lines.length > 1)) {
      this.chars -= (this.lines.shift() ?? '').length + 1;
    }
  }

  toString(): string {
    return this.lines.join('\n');
  }
}

/** A plugin writing without newlines cannot grow a log line past this: it is cut into pieces. */
export const MAX_LOG_LINE = 64 * 1024;

/** The framer for a plugin's output: lines over MAX_LOG_LINE are cut, an unterminated last line is kept. */
export function logLineFramer(onLine: (line: string) => void): LineFramer {
  return new LineFramer(
    { line: onLine, error: () => undefined },
    { maxLineLength: MAX_LOG_LINE, overLong: 'cut', keepPartial: true },
  );
}
