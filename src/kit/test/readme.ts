/**
 * Test helper (not shipped): runs the code blocks of a README exactly as written. A block whose
 * fence says ```` ```sh run ```` is a command to run; other blocks are only shown. All run blocks
 * of a document go to one `sh -e` session (as a person types them into one terminal: `cd` and
 * `export` carry over), in its own process group, killed at the end with everything it left in
 * the background. What a test may change is only where things go: the environment carries the
 * temporary folders (TMPDIR, so `mktemp -d` lands in the test's folder) and the ports.
 */
import { spawn } from 'node:child_process';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../../bin/switchboard.js', import.meta.url));

/** The shell blocks a README marks as commands to run (fence info `sh run`), in order. */
export function runBlocks(markdown: string): string[] {
  const blocks: string[] = [];
  const fence = /^```([^\n]*)\n([\s\S]*?)^```\s*$/gm;
  for (let m = fence.exec(markdown); m; m = fence.exec(markdown)) {
    const info = (m[1] ?? '').trim().split(/\s+/);
    if ((info[0] === 'sh' || info[0] === 'bash') && info.includes('run')) blocks.push(m[2] ?? '');
  }
  return blocks;
}

/** A folder with a `switchboard` command that runs this checkout's CLI, for PATH. */
export async function cliOnPath(dir: string): Promise<string> {
  const bin = join(dir, 'bin');
  await mkdir(bin, { recursive: true });
  const shim = join(bin, 'switchboard');
  await writeFile(shim, `#!/bin/sh\nexec '${process.execPath}' '${BIN}' "$@"\n`);
  await chmod(shim, 0o755);
  return bin;
}

export interface ShellRun {
  code: number | null;
  output: string;
}

/**
 * Runs `script` with `sh -e` in `cwd`; resolves when it ends (or after `timeoutMs`, as a failure),
 * then kills its process group so nothing it started in the background survives.
 */
export function runShell(
  script: string,
  { cwd, env, timeoutMs = 540_000 }: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<ShellRun> {
  return new Promise((resolve) => {
    const child = spawn('sh', ['-e', '-c', script], { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (d: Buffer) => {
      output += d.toString();
      if (output.length > 400_000) output = output.slice(-200_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const signalGroup = (signal: NodeJS.Signals | 0): boolean => {
      try {
        process.kill(-child.pid!, signal);
        return true;
      } catch {
        return false; // nobody left in the group
      }
    };
    // SIGTERM first, as Ctrl-C would: agents unregister and stop their connectors; then SIGKILL.
    const stopGroup = async (): Promise<void> => {
      if (!signalGroup('SIGTERM')) return;
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline && signalGroup(0)) await new Promise((r) => setTimeout(r, 100));
      signalGroup('SIGKILL');
    };
    const timer = setTimeout(() => {
      output += `\n[the script did not finish within ${timeoutMs / 1000} s]\n`;
      void stopGroup();
    }, timeoutMs);
    // `close` waits for the pipes, which background processes hold open: end on `exit` instead.
    child.on('exit', (code) => {
      clearTimeout(timer);
      // Let the pipes deliver what the script printed last, then stop what it left running.
      setImmediate(() => {
        void stopGroup().then(() => resolve({ code, output }));
      });
    });
  });
}

/** The part of a Markdown document under `heading` (up to the next heading of the same or a higher level). */
export function section(markdown: string, heading: string): string {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => l.trim() === heading);
  if (start === -1) throw new Error(`no heading ${JSON.stringify(heading)}`);
  const level = /^#+/.exec(heading)![0].length;
  let inFence = false;
  let end = lines.length;
  for (let i = start + 1; i < lines.length; i++) {
    if (lines[i]!.startsWith('```')) inFence = !inFence;
    const m = /^(#+) /.exec(lines[i]!);
    if (!inFence && m && m[1]!.length <= level) {
      end = i;
      break;
    }
  }
  return lines.slice(start, end).join('\n');
}

/** Every fenced block's info string, in order (to check that a section holds only run blocks). */
export function fenceInfos(markdown: string): string[] {
  const infos: string[] = [];
  const fence = /^```([^\n]*)\n[\s\S]*?^```\s*$/gm;
  for (let m = fence.exec(markdown); m; m = fence.exec(markdown)) infos.push((m[1] ?? '').trim());
  return infos;
}
