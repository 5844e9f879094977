/**
 * The benchmark's data objects: the same shape and size as the Go interop connector's (about 330
 * bytes of fields each), so every system ingests the same rows.
 */
import type { DataObject } from '../../src/sync/goplugin/types.js';

const PAD = 'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(5).slice(0, 180);

export function pageObjects(page: number, perPage: number, prefix = 'go', version?: number, first = 0): DataObject[] {
  const objects = new Array<DataObject>(perPage);
  for (let n = 0; n < perPage; n++) {
    const i = first + n;
    objects[n] = {
      remoteId: `${prefix}-${page}-${i}`,
      resourceName: `Go object ${page}/${i}`,
      uri: `go://${page}/${i}`,
      metadata:
        version === undefined
          ? `{"page":${page},"index":${i},"pad":"${PAD}"}`
          : `{"page":${page},"index":${i},"version":${version},"pad":"${PAD}"}`,
    };
  }
  return objects;
}
