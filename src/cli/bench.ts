/**
 * `switchboard bench [names...]`: runs the benchmarks of a source checkout (bench/*.bench.ts, one
 * after another through scripts/run-bench.mjs) or, with `--list`, shows them with their last
 * results (bench/results/<name>.json). Benchmarks are not shipped in the npm package.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { z } from 'zod';
import { InvalidArgumentError, SwitchboardError, errorMessage } from '../core/errors.js';
import { printTable } from './table.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const ResultFile = z
  .object({
    name: z.string(),
    unit: z.string(),
    date: z.string().optional(),
    results: z.array(z.object({ system: z.string() }).passthrough()),
    ratios: z.record(z.string(), z.unknown()).optional(),
  })
  .passthrough();

export interface BenchInfo {
  name: string;
  unit?: string;
  date?: string;
  ratios?: Record<string, unknown>;
  /** Why the last result could not be read, when it could not. */
  problem?: string;
}

function benchDir(root: string): string {
  const dir = join(root, 'bench');
  if (!existsSync(join(root, 'scripts', 'run-bench.mjs')) || !existsSync(dir)) {
    throw new SwitchboardError(
      'UNAVAILABLE',
      `no benchmarks here (${dir} is missing): they come with a source checkout of Switchboard; clone it, run npm install, then switchboard bench`,
    );
  }
  return dir;
}

export function listBenchmarks(root = ROOT): BenchInfo[] {
  const dir = benchDir(root);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.bench.ts'))
    .sort()
    .map((f) => {
      const name = f.slice(0, -'.bench.ts'.length);
      const file = join(dir, 'results', `${name}.json`);
      if (!existsSync(file)) return { name };
      try {
        const r = ResultFile.parse(JSON.parse(readFileSync(file, 'utf8')));
        return { name, unit: r.unit, ...(r.date ? { date: r.date } : {}), ...(r.ratios ? { ratios: r.ratios } : {}) };
      } catch (err) {
        return { name, problem: `bench/results/${name}.json cannot be read: ${errorMessage(err)}` };
      }
    });
}

function showRatios(ratios: Record<string, unknown> | undefined): string {
  if (!ratios) return '';
  return Object.entries(ratios)
    .filter(([, v]) => typeof v === 'number')
    .map(([k, v]) => `${k}=${v as number}`)
    .join(' ');
}

export function registerCommands(program: Command): void {
  program
    .command('bench')
    .description(
      'run the benchmarks (a source checkout): each measures a capability next to its peers and writes bench/results/<name>.json',
    )
    .argument('[names...]', 'benchmarks to run, by name or prefix (default: all, one after another)')
    .option('--list', 'list the benchmarks with the date and ratios of their last results instead of running')
    .option('--json', 'with --list: print JSON')
    .addHelpText(
      'after',
      `
Examples:
  switchboard bench --list
  switchboard bench hub-throughput          # QUICK=1 for shorter runs where a benchmark supports it
  switchboard bench plugin-call discovery`,
    )
    .action(async (names: string[], opts: { list?: boolean; json?: boolean }) => {
      const all = listBenchmarks();
      if (opts.list) {
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(all, null, 2)}\n`);
          return;
        }
        printTable(
          ['NAME', 'LAST RUN', 'RATIOS'],
          all.map((b) => [b.name, b.problem ?? b.date ?? (b.unit ? 'undated' : 'never'), showRatios(b.ratios)]),
          Infinity,
        );
        return;
      }
      const unknown = names.filter((n) => !all.some((b) => b.name.startsWith(n)));
      if (unknown.length)
        throw new InvalidArgumentError(
          `no benchmark named ${unknown.map((n) => `"${n}"`).join(', ')}; have: ${all.map((b) => b.name).join(', ')}`,
        );
      const code = await new Promise<number | null>((resolve) => {
        const child = spawn(process.execPath, [join(ROOT, 'scripts', 'run-bench.mjs'), ...names], {
          cwd: ROOT,
          stdio: 'inherit',
        });
        child.on('exit', (c) => resolve(c));
      });
      // The failing benchmark has printed why; the exit code carries it on.
      if (code !== 0) process.exitCode = code ?? 1;
    });
}
