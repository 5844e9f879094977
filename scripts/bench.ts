/**
 * `npm run bench [-- names...]`: runs the benchmarks in bench/ (`*.bench.ts`) one after another,
 * never in parallel (they compete for the machine's cores); `npm run bench -- --list [--json]`
 * shows each with the date and ratios of its last run (bench/results/<name>.json). Benchmarks
 * measure Switchboard next to peers that are dev dependencies, so they run from a source checkout
 * only: they are not part of the npm package.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { z } from 'zod';
import { printTable } from '../src/cli/table.js';
import { errorMessage } from '../src/core/errors.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

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

/** Every benchmark under `root`/bench with its last result; a result that cannot be read is reported, not thrown. */
export function listBenchmarks(root = ROOT): BenchInfo[] {
  const dir = join(root, 'bench');
  if (!existsSync(dir)) throw new Error(`no benchmarks here: ${dir} is missing`);
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

/** Runs the chosen benchmarks one by one; the exit code is 1 when any failed (each has printed why). */
function runBenchmarks(names: string[]): number {
  const all = listBenchmarks();
  const unknown = names.filter((n) => !all.some((b) => b.name.startsWith(n)));
  if (unknown.length) {
    process.stderr.write(
      `no benchmark named ${unknown.map((n) => `"${n}"`).join(', ')}; have: ${all.map((b) => b.name).join(', ')}\n`,
    );
    return 1;
  }
  const chosen = names.length ? all.filter((b) => names.some((n) => b.name.startsWith(n))) : all;
  let failed = 0;
  for (const b of chosen) {
    process.stdout.write(`\n=== ${b.name} ===\n`);
    const r = spawnSync(process.execPath, ['--import', 'tsx', join('bench', `${b.name}.bench.ts`)], {
      cwd: ROOT,
      stdio: 'inherit',
    });
    if (r.status !== 0) failed++;
  }
  return failed ? 1 : 0;
}

const program = new Command('npm run bench --')
  .description('run the benchmarks: each measures a capability next to its peers and writes bench/results/<name>.json')
  .argument('[names...]', 'benchmarks to run, by name or prefix (default: all, one after another)')
  .option('--list', 'list the benchmarks with the date and ratios of their last results instead of running')
  .option('--json', 'with --list: print JSON')
  .addHelpText(
    'after',
    `
Examples:
  npm run bench -- --list
  npm run bench -- hub-throughput          # QUICK=1 for shorter runs where a benchmark supports it
  npm run bench -- plugin-call discovery`,
  )
  .exitOverride()
  .action((names: string[], opts: { list?: boolean; json?: boolean }) => {
    if (!opts.list) {
      process.exitCode = runBenchmarks(names);
      return;
    }
    const all = listBenchmarks();
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(all, null, 2)}\n`);
      return;
    }
    printTable(
      ['NAME', 'LAST RUN', 'RATIOS'],
      all.map((b) => [b.name, b.problem ?? b.date ?? (b.unit ? 'undated' : 'never'), showRatios(b.ratios)]),
      Infinity,
    );
  });

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    program.parse(process.argv);
  } catch (err) {
    process.exitCode = err instanceof CommanderError ? err.exitCode : 1;
    if (!(err instanceof CommanderError)) process.stderr.write(`bench: ${errorMessage(err)}\n`);
  }
}
