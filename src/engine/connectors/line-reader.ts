/**
 * Splits a text stream into lines for the stdio JSON-lines mode. Unlike the hub's framer (which
 * closes a channel on an over-long line), a plugin's over-long line is skipped up to its newline
 * and reported, and the plugin keeps being served.
 */
export class LineReader {
  private buffer = '';
  private skipping = 0;

  constructor(
    private readonly maxLineLength: number,
    private readonly onLine: (line: string) => void,
    private readonly onOversized: (length: number) => void,
  ) {}

  push(chunk: string): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf('\n', start);
      if (nl < 0) break;
      const piece = chunk.slice(start, nl);
      start = nl + 1;
      if (this.skipping > 0) {
        this.onOversized(this.skipping + piece.length);
        this.skipping = 0;
        continue;
      }
      const line = this.buffer.length > 0 ? this.buffer + piece : piece;
      this.buffer = '';
      if (line.length > this.maxLineLength) this.onOversized(line.length);
      else if (line.trim().length > 0) this.onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
    }
    const rest = chunk.slice(start);
    if (this.skipping > 0) this.skipping += rest.length;
    else if (this.buffer.length + rest.length > this.maxLineLength) {
      this.skipping = this.buffer.length + rest.length;
      this.buffer = '';
    } else this.buffer += rest;
  }
}
