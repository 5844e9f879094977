/** Plain-text tables for the listing verbs: columns padded to their widest cell, long cells cut. */
export function formatTable(header: string[], rows: string[][], maxCell = 48): string {
  const all = [header, ...rows].map((r) => r.map((c) => (c.length > maxCell ? `${c.slice(0, maxCell - 1)}…` : c)));
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return (
    all
      .map((r) =>
        r
          .map((c, i) => c.padEnd(widths[i]!))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

export function printTable(header: string[], rows: string[][], maxCell = 48): void {
  process.stdout.write(formatTable(header, rows, maxCell));
}
