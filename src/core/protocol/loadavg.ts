/**
 * The communicator's load-average exchange as data, for the hub, the mesh and clients alike:
 * `LOADAVG avg;my_address;timestamp` (avg = the machine's 1-minute load divided by its
 * processors, so 1.0 is a full machine whatever its size), `LISTEN_LOADAVG ips=<hubs>`, and the
 * rule for when a reading is worth sending: the first one, then a change of 0.1 or more (as the
 * communicator does; readings are taken once a second while anyone listens).
 */
import type { JsonValue } from '../message.js';
import { fail, ok, type Result } from '../result.js';

/** A reading is sent again when it moved by at least this much (in processors' worth of load). */
export const LOADAVG_STEP = 0.1;
/** How often the load is read while someone listens. */
export const LOADAVG_INTERVAL_MS = 1000;
/** Entries of one LISTEN_LOADAVG (and hubs one hub listens to). */
export const MAX_LISTENED_HUBS = 256;

export interface LoadReading {
  /** 1-minute load per processor. */
  readonly avg: number;
  /** The address of the hub that read it (`ip:port`). */
  readonly myAddress: string;
  /** When it was read, epoch seconds (microsecond decimals on the wire). */
  readonly timestamp: number;
}

/** True when `next` is worth sending after `last` (undefined: nothing sent yet). */
export function loadChanged(last: number | undefined, next: number): boolean {
  return last === undefined || Math.abs(next - last) >= LOADAVG_STEP - 1e-9;
}

export function loadAvgParams(avg: number, myAddress: string, atMs: number): Record<string, JsonValue> {
  return { avg: String(Math.round(avg * 1000) / 1000), my_address: myAddress, timestamp: (atMs / 1000).toFixed(6) };
}

/** Year 2000: a LOADAVG stamped earlier comes from a clock that was never set (the communicator drops those too). */
const EARLIEST_TIMESTAMP = 946_684_800;

function num(v: JsonValue | undefined): number {
  return typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
}

/** The parameters of a LOADAVG, or why it cannot be used. */
export function readLoadAvg(params: Record<string, JsonValue>): Result<LoadReading> {
  const avg = num(params.avg);
  if (!Number.isFinite(avg) || avg < 0 || avg > 10_000)
    return fail(`LOADAVG avg must be a load per processor (a number from 0; got ${JSON.stringify(params.avg)})`);
  const myAddress = params.my_address;
  if (typeof myAddress !== 'string' || myAddress === '' || myAddress.length > 300)
    return fail('LOADAVG needs my_address, the sending hub address (ip:port)');
  const timestamp = num(params.timestamp);
  if (!Number.isFinite(timestamp) || timestamp < EARLIEST_TIMESTAMP)
    return fail(`LOADAVG timestamp must be epoch seconds after 2000 (got ${JSON.stringify(params.timestamp)})`);
  return ok({ avg, myAddress, timestamp });
}

const HUB_ENTRY = /^[A-Za-z0-9_.:[\]-]{1,300}$/;

/**
 * LISTEN_LOADAVG's `ips`: hubs by address (`10.0.0.5`, `10.0.0.5:4042`, `[fd00::5]:4042`) or by
 * server name, comma separated (a JSON array too). At least one, at most MAX_LISTENED_HUBS.
 */
export function parseListenedHubs(v: JsonValue | undefined): Result<string[]> {
  const raw = Array.isArray(v)
    ? v.map((x) => (typeof x === 'string' ? x : JSON.stringify(x)))
    : typeof v === 'string'
      ? v.split(',')
      : undefined;
  if (raw === undefined)
    return fail('LISTEN_LOADAVG needs ips=<hub addresses or names, comma separated> (e.g. ips=10.0.0.5,10.0.0.6:4042)');
  const out = [...new Set(raw.map((s) => s.trim()).filter((s) => s !== ''))];
  if (out.length === 0) return fail('LISTEN_LOADAVG ips names no hub: give addresses or names, comma separated');
  if (out.length > MAX_LISTENED_HUBS)
    return fail(`LISTEN_LOADAVG ips names ${out.length} hubs; at most ${MAX_LISTENED_HUBS}`);
  const bad = out.find((s) => !HUB_ENTRY.test(s));
  if (bad !== undefined)
    return fail(
      `LISTEN_LOADAVG ips entry ${JSON.stringify(bad.slice(0, 60))} is neither an address (ip or ip:port) nor a hub name`,
    );
  return ok(out);
}

/** `10.0.0.5:4042`, `[fd00::5]:4042`, `fd00::5`, `10.0.0.5` -> host and port (when given). */
function splitAddress(address: string): { host: string; port?: string } {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(address);
  if (v6) return v6[2] === undefined ? { host: v6[1] ?? '' } : { host: v6[1] ?? '', port: v6[2] };
  if ((address.match(/:/g) ?? []).length > 1) return { host: address }; // a bare IPv6 address
  const m = /^(.*):(\d+)$/.exec(address);
  return m ? { host: m[1] ?? '', port: m[2] ?? '' } : { host: address };
}

/** Whether a LISTEN_LOADAVG entry names this hub: its name, its address, or (no port given) its address's IP. */
export function namesHub(entry: string, hub: { readonly name: string; readonly address: string }): boolean {
  if (entry === hub.name) return true;
  if (hub.address === '') return false;
  const e = splitAddress(entry);
  const h = splitAddress(hub.address);
  return e.host === h.host && (e.port === undefined || e.port === h.port);
}
