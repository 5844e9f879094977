/**
 * `npm run demo:engine [-- --port 4090]`: serves the plugin engine demo on 127.0.0.1.
 */
import { demoAssets } from './assets.js';
import { serveAssets } from './static-server.js';

const portArg = process.argv.indexOf('--port');
const port = portArg > 0 ? Number(process.argv[portArg + 1]) : Number(process.env.PORT ?? 4090);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(
    `demo:engine: --port must be a number from 0 to 65535, got ${process.argv[portArg + 1] ?? process.env.PORT}`,
  );
  process.exit(1);
}
const server = await serveAssets(await demoAssets(), port);
console.log(`Switchboard plugin engine demo: http://127.0.0.1:${server.port}/  (Ctrl-C to stop)`);
process.on('SIGINT', () => {
  void server.close().then(() => process.exit(0));
});
