/** Reads a trigger file from disk within the size limit (a file is not read into memory to learn it is too big). */
import { open } from 'node:fs/promises';
import { InvalidArgumentError } from '../../core/errors.js';
import { MAX_TRIGGER_FILE_BYTES, parseTriggers } from './parse.js';
import type { TriggerSpec } from './schema.js';

export async function readTriggerFile(file: string): Promise<TriggerSpec[]> {
  const fh = await open(file, 'r').catch((err: NodeJS.ErrnoException) => {
    throw new InvalidArgumentError(`cannot read ${file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  });
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new InvalidArgumentError(`${file} is not a file`);
    if (st.size > MAX_TRIGGER_FILE_BYTES)
      throw new InvalidArgumentError(
        `${file} is ${st.size} bytes; trigger files are limited to ${MAX_TRIGGER_FILE_BYTES} bytes (1 MiB): split it`,
      );
    // Read at most one byte over the limit: the file may grow between stat and read.
    const buf = Buffer.alloc(MAX_TRIGGER_FILE_BYTES + 1);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return parseTriggers(buf.subarray(0, bytesRead).toString('utf8'), file);
  } finally {
    await fh.close();
  }
}
