/**
 * The JSON API under /api: the same library operations as the CLI (sync's `openSync`, the
 * dispatcher's tables, the hub's registry). Query strings and bodies are validated with zod; every
 * error is `{ error: { code, message } }` with an HTTP status that fits the code.
 */
import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import { InvalidArgumentError, SwitchboardError } from '../core/errors.js';
import { listServices } from '../hub/service-list.js';
import type { DashboardData } from './data.js';
import type { HubLink } from './hub-link.js';

export interface ApiResult {
  status: number;
  body: unknown;
}

export const PAGE_SIZE = 50;

const id = z.coerce.number().int().min(1);
const DataQuery = z.object({
  account: z.string().min(1).optional(),
  connector: z.string().min(1).optional(),
  search: z.string().min(1).optional(),
  page: id.optional(),
  order: z.enum(['synced', 'name', 'remote-id', 'id', 'connector']).optional(),
  asc: z.enum(['true', 'false', '1', '0']).optional(),
}).strict();
const RunsQuery = z.object({ account: z.string().min(1).optional(), limit: id.max(1000).optional() }).strict();
const ExecutionsQuery = z.object({ trigger: z.string().min(1).optional(), limit: id.max(1000).optional() }).strict();
const AccountsQuery = z.object({ connector: z.string().min(1).optional() }).strict();
const NoteBody = z.object({ notes: z.string().max(100_000) }).strict();
const Empty = z.object({}).strict();

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const problems = r.error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
  throw new InvalidArgumentError(`${what}: ${problems}`);
}

const MAX_BODY = 1 << 20;

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new InvalidArgumentError(`the request body is over ${MAX_BODY} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new InvalidArgumentError('the request body is not JSON (send Content-Type: application/json with an object)');
  }
}

const STATUS: Partial<Record<string, number>> = { INVALID_ARGUMENT: 400, NOT_FOUND: 404, CONFLICT: 409, PERMISSION_DENIED: 403, UNAVAILABLE: 503, TIMEOUT: 504 };

export function errorResult(err: unknown): ApiResult {
  if (err instanceof SwitchboardError) return { status: STATUS[err.code] ?? 500, body: { error: { code: err.code, message: err.message } } };
  const message = err instanceof Error ? err.message : String(err);
  return { status: 500, body: { error: { code: 'INTERNAL', message } } };
}

export class Api {
  constructor(private readonly link: HubLink, private readonly data: DashboardData) {}

  /** Undefined when no API route has this path. */
  async handle(method: string, path: string, query: URLSearchParams, req: IncomingMessage): Promise<ApiResult | undefined> {
    const q = Object.fromEntries(query);
    const get = method === 'GET' || method === 'HEAD';
    const hub = this.link.hub;
    const note = /^\/api\/data\/([^/]+)\/note$/.exec(path);
    if (note) {
      if (method !== 'PUT') return { status: 405, body: { error: { code: 'INVALID_ARGUMENT', message: `${method} ${path}: use PUT with {"notes": "..."}` } } };
      const objectId = parse(id, note[1], 'data object id');
      const body = parse(NoteBody, await readJson(req), 'note');
      return { status: 200, body: { object: await this.data.sync.setNote(objectId, body.notes) } };
    }
    if (!path.startsWith('/api/')) return undefined;
    const route = path.slice('/api/'.length);
    const known = ['services', 'cluster', 'connectors', 'accounts', 'data', 'runs', 'triggers', 'executions'];
    if (!known.includes(route)) return { status: 404, body: { error: { code: 'NOT_FOUND', message: `no API at ${path}; try ${known.map((k) => `/api/${k}`).join(', ')}` } } };
    if (!get) return { status: 405, body: { error: { code: 'INVALID_ARGUMENT', message: `${method} ${path}: only GET is served here` } } };
    switch (route) {
      case 'services':
        parse(Empty, q, 'query');
        return { status: 200, body: { server: hub.serverName, services: listServices(hub.serverName, hub.services, hub.remote()), counts: Object.fromEntries(this.link.counts), at: Date.now() } };
      case 'cluster':
        parse(Empty, q, 'query');
        return { status: 200, body: await this.cluster() };
      case 'connectors':
        parse(Empty, q, 'query');
        return { status: 200, body: { connectors: await this.data.sync.listConnectors() } };
      case 'accounts': {
        const p = parse(AccountsQuery, q, 'query');
        return { status: 200, body: { accounts: await this.data.sync.listAccounts(p.connector ? { connector: p.connector } : {}) } };
      }
      case 'data': {
        const p = parse(DataQuery, q, 'query');
        const page = await this.data.sync.listData({
          ...(p.account ? { accounts: [p.account] } : {}), ...(p.connector ? { connector: p.connector } : {}), ...(p.search ? { search: p.search } : {}),
          page: p.page ?? 1, pageSize: PAGE_SIZE, ...(p.order ? { order: p.order } : {}), ...(p.asc === 'true' || p.asc === '1' ? { ascending: true } : {}),
        });
        return { status: 200, body: page };
      }
      case 'runs': {
        const p = parse(RunsQuery, q, 'query');
        return { status: 200, body: { runs: await this.data.sync.listRuns({ ...(p.account ? { account: p.account } : {}), limit: p.limit ?? 100 }) } };
      }
      case 'triggers':
        parse(Empty, q, 'query');
        return { status: 200, body: { triggers: await this.data.dispatch.listTriggers() } };
      case 'executions': {
        const p = parse(ExecutionsQuery, q, 'query');
        return { status: 200, body: { executions: await this.data.dispatch.listExecutions({ ...(p.trigger ? { trigger: p.trigger } : {}), limit: p.limit ?? 100 }) } };
      }
    }
    return undefined;
  }

  /** This hub, and the mesh's view of the cluster when the hub runs one. */
  private async cluster(): Promise<unknown> {
    const hub = this.link.hub;
    const reply = hub.remote() ? await this.link.request('MESH_STATUS', ['MESH_STATUS_REPLY', 'UNKNOWN']) : undefined;
    const raw = reply?.command === 'MESH_STATUS_REPLY' ? reply.params.status : undefined;
    const mesh: unknown = raw === undefined ? null : typeof raw === 'string' ? JSON.parse(raw) : raw;
    const local = listServices(hub.serverName, hub.services, undefined).filter((s) => s.status === 'up').map((s) => s.name);
    return { server: hub.serverName, addresses: hub.addresses.map((a) => ({ kind: a.kind, url: a.url })), services: local, mesh };
  }
}
