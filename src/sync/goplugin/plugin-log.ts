/**
 * A plugin's output lines: hclog JSON (`@level`, `@message`, `@timestamp`, `@module`, extra
 * fields) or plain text, turned into log entries; and a bounded tail of stderr for error reports.
 */
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

/**
 * Splits a byte stream into lines (LF or CRLF). A line longer than `maxLine` is cut into pieces of
 * that size so a plugin writing without newlines cannot grow the buffer without bound.
 */
export class LineSplitter {
  private pending = '';

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxLine = 64 * 1024,
  ) {}

  push(chunk: Buffer | string): void {
    this.pending += chunk.toString();
    let nl: number;
    while ((nl = this.pending.indexOf('\n')) >= 0) {
      const line = this.pending.slice(0, nl);
      this.pending = this.pending.slice(nl + 1);
      this.onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
    }
    while (this.pending.length > this.maxLine) {
      this.onLine(this.pending.slice(0, this.maxLine));
      this.pending = this.pending.slice(this.maxLine);
    }
  }

  /** Emits what is left without a trailing newline (at end of stream). */
  end(): void {
    if (this.pending !== '') this.onLine(this.pending);
    this.pending = '';
  }
}
