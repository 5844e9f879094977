/**
 * Example connector (TypeScript SDK): a paginated HTTP JSON API. Each item of each page becomes a
 * data object (the item itself as metadata). Pagination by page number (`?page=1,2,...` until an
 * empty or short page) or by a next link / cursor field in the response.
 *
 * Options: { "url": "https://api.example.com/items", "itemsField": "items", "idField": "id",
 *   "nameField": "name", "uriField": "url", "pageParam": "page", "pageSizeParam": "per_page",
 *   "pageSize": 100, "nextField": "next", "headers": { "authorization": "Bearer ..." }, "maxPages": 1000 }
 */
import { z } from 'zod';
import { serveConnector } from '../../sdk/index.js';

const Options = z.object({
  url: z.url(),
  /** Where the list is in a page (dotted path); empty when the page is the list itself. */
  itemsField: z.string().default('items'),
  idField: z.string().default('id'),
  nameField: z.string().default('name'),
  uriField: z.string().optional(),
  pageParam: z.string().default('page'),
  pageSizeParam: z.string().optional(),
  pageSize: z.number().int().min(1).optional(),
  /** A response field holding the next page's URL (absolute or relative) or a cursor; when set, page numbers are not used. */
  nextField: z.string().optional(),
  /** The query parameter a cursor from `nextField` goes in (when it is not a URL). */
  cursorParam: z.string().default('cursor'),
  headers: z.record(z.string(), z.string()).default({}),
  maxPages: z.number().int().min(1).default(1000),
});
type Options = z.infer<typeof Options>;

function pick(value: unknown, path: string): unknown {
  if (path === '') return value;
  let v = value;
  for (const key of path.split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined;
  return v;
}

async function getJson(url: URL, o: Options, signal: AbortSignal): Promise<unknown> {
  const res = await fetch(url, { headers: { accept: 'application/json', ...o.headers }, signal });
  if (!res.ok) throw new Error(`GET ${url.href} answered ${res.status} ${res.statusText}`);
  try {
    return await res.json();
  } catch {
    throw new Error(`GET ${url.href} did not return JSON`);
  }
}

function nextUrl(current: URL, next: unknown, o: Options): URL | undefined {
  if (typeof next !== 'string' || next === '') return undefined;
  if (/^(https?:)?\//.test(next) || next.startsWith('?')) return new URL(next, current);
  const url = new URL(current);
  url.searchParams.set(o.cursorParam, next);
  return url;
}

await serveConnector({
  options: Options,
  async check(o) {
    const url = new URL(o.url);
    if (!o.nextField) url.searchParams.set(o.pageParam, '1');
    const page = await getJson(url, o, AbortSignal.timeout(10_000));
    if (!Array.isArray(pick(page, o.itemsField))) throw new Error(`${url.href} has no list at "${o.itemsField}"`);
  },
  async sync(o, { upsert, signal, log }) {
    let url: URL | undefined = new URL(o.url);
    let pageNumber = 1;
    let objects = 0;
    let pages = 0;
    if (!o.nextField) url.searchParams.set(o.pageParam, '1');
    if (o.pageSizeParam && o.pageSize) url.searchParams.set(o.pageSizeParam, String(o.pageSize));
    for (; url && pageNumber <= o.maxPages; pageNumber++) {
      const body = await getJson(url, o, signal);
      const items = pick(body, o.itemsField);
      if (!Array.isArray(items)) throw new Error(`page ${pageNumber} (${url.href}) has no list at "${o.itemsField}"`);
      if (items.length === 0) break;
      await upsert(
        items.map((item: unknown, i) => {
          const id = pick(item, o.idField);
          if (id === undefined || id === null || id === '')
            throw new Error(`item ${i + 1} of page ${pageNumber} has no "${o.idField}"`);
          const name = pick(item, o.nameField);
          const uri = o.uriField ? pick(item, o.uriField) : undefined;
          return {
            remoteId: String(id),
            resourceName: name === undefined ? '' : String(name),
            uri: typeof uri === 'string' ? uri : url!.href,
            metadata: JSON.stringify(item),
          };
        }),
      );
      objects += items.length;
      pages++;
      if (o.nextField) {
        url = nextUrl(url, pick(body, o.nextField), o);
      } else {
        if (o.pageSize && items.length < o.pageSize) break;
        url = new URL(url);
        url.searchParams.set(o.pageParam, String(pageNumber + 1));
      }
    }
    log.info('http json synced', { pages, objects });
    return { pages, objects };
  },
});
