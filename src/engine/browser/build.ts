/**
 * Builds the browser bundles with esbuild: the engine (IframePlugin, WebWorkerPlugin) and the
 * plugin client. `npm run build:browser` writes them to dist/browser/; tests and the demo build
 * them in memory.
 *   node --import tsx src/engine/browser/build.ts [outdir]
 */
import { fileURLToPath } from 'node:url';

export const BROWSER_BUNDLES = {
  'switchboard-engine.js': fileURLToPath(new URL('./index.ts', import.meta.url)),
  'switchboard-engine-client.js': fileURLToPath(new URL('./client.ts', import.meta.url)),
};

/** Bundle `entries` (output name -> source file) for the browser as ES modules; returns name -> code. */
export async function bundleForBrowser(
  entries: Record<string, string>,
  options: { minify?: boolean; format?: 'esm' | 'iife' } = {},
): Promise<Map<string, string>> {
  const esbuild = await import('esbuild');
  const out = new Map<string, string>();
  for (const [name, entry] of Object.entries(entries)) {
    const result = await esbuild.build({
      entryPoints: [entry],
      bundle: true,
      write: false,
      format: options.format ?? 'esm',
      platform: 'browser',
      target: 'es2022',
      minify: options.minify ?? false,
      sourcemap: false,
      logLevel: 'silent',
      define: { 'process.env.NODE_ENV': '"production"', global: 'globalThis' },
    });
    out.set(name, result.outputFiles[0]!.text);
  }
  return out;
}

async function main(outdir: string): Promise<void> {
  const { mkdir, writeFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  await mkdir(outdir, { recursive: true });
  const bundles = await bundleForBrowser(BROWSER_BUNDLES, { minify: true });
  for (const [name, code] of bundles) {
    await writeFile(join(outdir, name), code);
    console.log(`${join(outdir, name)} ${(code.length / 1024).toFixed(1)} KiB`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv[2] ?? 'dist/browser').catch((err: unknown) => {
    console.error(`build:browser failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
