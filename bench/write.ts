/** A benchmark's results file or README table, written unless NO_WRITE=1 (a look that changes nothing). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export const writing = process.env.NO_WRITE !== '1';

export function writeBenchFile(path: string, text: string): void {
  if (!writing) return;
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}
