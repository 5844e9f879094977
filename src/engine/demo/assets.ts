/** The demo's pages and bundles, built in memory with esbuild. */
import { fileURLToPath } from 'node:url';
import { BROWSER_BUNDLES, bundleForBrowser } from '../browser/build.js';
import { HTML, JS, type Asset } from './static-server.js';

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

export async function demoAssets(): Promise<Map<string, Asset>> {
  const code = await bundleForBrowser({
    '/switchboard-engine.js': BROWSER_BUNDLES['switchboard-engine.js'],
    '/switchboard-engine-client.js': BROWSER_BUNDLES['switchboard-engine-client.js'],
    '/demo/host.js': here('./host.ts'),
    '/demo/iframe-plugin.js': here('./iframe-plugin.ts'),
    '/demo/worker.js': here('./worker-plugin.ts'),
  });
  const assets = new Map<string, Asset>();
  for (const [path, body] of code) assets.set(path, { type: JS, body });
  assets.set('/index.html', {
    type: HTML,
    body: `<!doctype html>
<html><head><meta charset="utf-8"><title>Switchboard plugin engine demo</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem} iframe{width:100%;height:14rem;border:1px solid #ccc}</style></head>
<body><h1>Switchboard plugin engine</h1>
<p>The host page runs the engine. The iframe plugin and the Web Worker plugin call each other through it.</p>
<ul id="out"></ul><div id="frames"></div>
<script type="module" src="/demo/host.js"></script></body></html>`,
  });
  assets.set('/demo/iframe.html', {
    type: HTML,
    body: `<!doctype html>
<html><head><meta charset="utf-8"></head><body><h2>Iframe plugin</h2><button id="ask">ask the worker for fib(25)</button><ul id="log"></ul>
<script type="module" src="/demo/iframe-plugin.js"></script></body></html>`,
  });
  return assets;
}
