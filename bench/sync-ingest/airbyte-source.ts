// The benchmark's Airbyte-protocol source: the same objects as the go-plugin connectors, as RECORD
// lines of one stream ("objects", key "id") on stdout. Config: {"pages": N, "perPage": M}.
import { readFileSync } from 'node:fs';
import { pageObjects } from './rows.js';

const [command, ...args] = process.argv.slice(2);
const arg = (name: string) => args[args.indexOf(name) + 1]!;
const out = (m: unknown) => process.stdout.write(`${JSON.stringify(m)}\n`);
const stream = {
  name: 'objects',
  json_schema: { type: 'object' },
  supported_sync_modes: ['full_refresh'],
  source_defined_primary_key: [['id']],
};

if (command === 'spec') out({ type: 'SPEC', spec: { connectionSpecification: { type: 'object' } } });
else if (command === 'check') out({ type: 'CONNECTION_STATUS', connectionStatus: { status: 'SUCCEEDED' } });
else if (command === 'discover') out({ type: 'CATALOG', catalog: { streams: [stream] } });
else if (command === 'read') {
  const { pages, perPage } = JSON.parse(readFileSync(arg('--config'), 'utf8')) as { pages: number; perPage: number };
  for (let p = 0; p < pages; p++) {
    let chunk = '';
    for (const o of pageObjects(p, perPage)) {
      chunk += `${JSON.stringify({ type: 'RECORD', record: { stream: 'objects', data: { id: o.remoteId, name: o.resourceName, uri: o.uri, metadata: o.metadata }, emitted_at: 0 } })}\n`;
    }
    // Respect the pipe: wait when the host is not reading.
    if (!process.stdout.write(chunk)) await new Promise((r) => process.stdout.once('drain', r));
  }
}
