/**
 * Runs the install/update steps (`sh -c <command>`, `git ...`) in a connector's folder, streaming
 * their output to the caller and keeping its tail for the error message when a step fails.
 */
import { connectorEnv } from './env.js';
import { spawn } from 'node:child_process';
import { SwitchboardError } from '../core/errors.js';

export type OutputSink = (text: string) => void;

const TAIL_BYTES = 4096;

export interface StepOptions {
  cwd: string;
  onOutput?: OutputSink;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

/** Runs `file args` and resolves when it exits 0; otherwise rejects naming the step and its output tail. */
export function runStep(what: string, file: string, args: readonly string[], opts: StepOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: opts.cwd,
      // Never the hub's own environment (its token, the database and broker URLs): the allow-list at least.
      env: opts.env ?? connectorEnv([]),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let tail = '';
    const take = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      opts.onOutput?.(text);
      tail = (tail + text).slice(-TAIL_BYTES);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    const onAbort = () => {
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        /* already gone */
      }
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.once('error', (err) => {
      opts.signal?.removeEventListener('abort', onAbort);
      reject(new SwitchboardError('INTERNAL', `${what}: cannot start ${file}: ${err.message}`, { cause: err }));
    });
    child.once('close', (code, signal) => {
      opts.signal?.removeEventListener('abort', onAbort);
      if (code === 0) {
        resolve();
        return;
      }
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      const out = tail.trim();
      reject(
        new SwitchboardError('INTERNAL', `${what} ${how}${out ? `; its output ended with:\n${out}` : ' (no output)'}`, {
          data: { exitCode: code, signal, outputTail: out },
        }),
      );
    });
  });
}

/** `sh -c <command>` in `cwd`, as c1-core runs install and update commands. */
export function runShell(what: string, command: string, opts: StepOptions): Promise<void> {
  opts.onOutput?.(`$ ${command}\n`);
  return runStep(what, 'sh', ['-c', command], opts);
}
