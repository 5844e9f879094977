/**
 * Airbyte-protocol sources as a sync driver: the manifest's `command` is the source's entry point,
 * run as `sh -c "<command> spec | check --config F | discover --config F | read --config F --catalog F
 * [--state F]"` in the connector's folder, with the config, catalog and state in files only this
 * user can read (removed afterwards). On stdout, one JSON message a line:
 *
 * - RECORD: upserted, remote id `<stream>/<key>` from the stream's primary key (or the manifest's
 *   `airbyte.remote_id` field), resource name the stream, metadata the record's data as JSON;
 * - STATE: a checkpoint (the page so far is flushed first), kept in the form `--state` takes back:
 *   legacy `data` as is, per-stream states as a list merged by stream, a GLOBAL state as a list of one;
 * - LOG: the run's log; TRACE with an error: the run's error (the run fails even on exit code 0).
 *
 * Streams that support `incremental` are read incrementally (with the source's default cursor);
 * `full_refresh` streams are read whole, and their objects the run did not see are removed once
 * the read ends well. Reading pauses while a page is being written (the pipe fills, the source
 * waits), so memory stays bounded whatever the source sends.
 */
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ZodType } from 'zod';
import { SwitchboardError } from '../../core/errors.js';
import type { CheckResult, Driver, DriverCheckOptions, DriverRunOptions } from '../driver-types.js';
import { connectorEnv } from '../env.js';
import {
  ConnectorCancelledError,
  ConnectorSyncError,
  PageRejectedError,
  PluginExitedError,
} from '../goplugin/errors.js';
import { OutputTail, parsePluginLine } from '../goplugin/plugin-log.js';
import { LineFramer, readLines } from '../../core/framing.js';
import type { DataObject, PluginLogEntry } from '../goplugin/types.js';
import type { AirbyteSettings, ConnectorRecord } from '../types.js';
import {
  CatalogMessage,
  ConnectionStatusMessage,
  LogMessage,
  RecordMessage,
  SpecMessage,
  StateMessage,
  TraceMessage,
  type CatalogStream,
} from './protocol.js';

/** Longest message line a source may write (a record with large fields fits; a runaway line does not). */
export const MAX_LINE_BYTES = 16 * 1024 * 1024;
const PAGE_OBJECTS = 1000;
const PAGE_BYTES = 4 * 1024 * 1024;
/** spec, check and discover are quick; a source that hangs there is stopped. */
const QUICK_COMMAND_MS = 120_000;

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

interface Exit {
  code: number | null;
  signal: string | null;
}

/** One run of the source's command; `onMessage` is awaited (reading waits for it). */
async function runSource(
  connector: ConnectorRecord,
  cwd: string,
  env: Record<string, string>,
  args: string[],
  onMessage: (msg: Record<string, unknown>) => Promise<void> | void,
  onLog: (entry: PluginLogEntry) => void,
  signal: AbortSignal | undefined,
): Promise<{ exit: Exit; tail: OutputTail }> {
  const child = spawn('sh', ['-c', `${connector.command} ${args.map(quote).join(' ')}`], {
    cwd,
    env: connectorEnv(connector.env, env),
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tail = new OutputTail();
  const kill = () => {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  };
  if (signal?.aborted) kill();
  signal?.addEventListener('abort', kill, { once: true });
  const exited = new Promise<Exit>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, sig) => resolve({ code, signal: sig }));
  });
  readLines(
    child.stderr,
    (line) => {
      if (!line.trim()) return;
      tail.push(line);
      onLog(parsePluginLine(line, 'stderr'));
    },
    { overLong: 'cut', keepPartial: true, maxLineLength: 64 * 1024 },
  );
  try {
    const lines: string[] = [];
    let tooLong: Error | undefined;
    const framer = new LineFramer(
      { line: (l) => lines.push(l), error: (err) => (tooLong ??= err) },
      { maxLineLength: MAX_LINE_BYTES, overLong: 'close', keepPartial: true },
    );
    const handle = async () => {
      for (const text of lines.splice(0)) {
        if (!text.trim()) continue;
        let msg: unknown;
        try {
          msg = JSON.parse(text);
        } catch {
          onLog({ level: 'info', message: text.slice(0, 4096), fields: {}, stream: 'stdout' });
          continue;
        }
        if (msg && typeof msg === 'object' && !Array.isArray(msg)) await onMessage(msg as Record<string, unknown>);
      }
      if (tooLong)
        throw new PageRejectedError(
          `the source wrote a message line of more than ${MAX_LINE_BYTES / 1024 / 1024} MiB, the host's limit`,
          { stderrTail: tail.toString() },
        );
    };
    // Async iteration reads only as fast as the messages are handled: backpressure on the pipe.
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
      framer.push(chunk);
      await handle();
    }
    framer.end();
    await handle();
  } catch (err) {
    kill();
    await exited.catch(() => undefined);
    throw err;
  } finally {
    signal?.removeEventListener('abort', kill);
  }
  return { exit: await exited, tail };
}

function parse<T>(schema: ZodType<T>, msg: Record<string, unknown>, what: string): T {
  const r = schema.safeParse(msg);
  if (r.success) return r.data;
  const problem = r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
  throw new PageRejectedError(`the source wrote a ${what} message the protocol does not allow: ${problem}`);
}

function exitError(what: string, exit: Exit, tail: OutputTail, traceError: string | undefined): SwitchboardError {
  if (traceError)
    return new ConnectorSyncError(`the source's ${what} failed: ${traceError}`, {
      grpcCode: 'UNKNOWN',
      stderrTail: tail.toString(),
    });
  const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
  return new PluginExitedError(`the source ${how} during ${what}`, {
    stderrTail: tail.toString(),
    exitCode: exit.code,
    exitSignal: exit.signal,
  });
}

async function withFiles<T>(
  files: Record<string, unknown>,
  fn: (paths: Record<string, string>) => Promise<T>,
): Promise<T> {
  // The config holds the account's secrets: a private folder, files readable by this user only.
  const dir = await mkdtemp(join(tmpdir(), 'sb-airbyte-'));
  await chmod(dir, 0o700);
  try {
    const paths: Record<string, string> = {};
    for (const [name, value] of Object.entries(files)) {
      const path = join(dir, `${name}.json`);
      await writeFile(path, JSON.stringify(value), { mode: 0o600 });
      paths[name] = path;
    }
    return await fn(paths);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function traceText(t: TraceMessage): string | undefined {
  if (t.trace.type !== 'ERROR' || !t.trace.error) return undefined;
  const e = t.trace.error;
  return [e.message, e.internal_message].filter(Boolean).join(': ') || 'an error without a message';
}

const LOG_LEVELS: Record<string, PluginLogEntry['level']> = {
  FATAL: 'error',
  ERROR: 'error',
  WARN: 'warn',
  WARNING: 'warn',
  INFO: 'info',
  DEBUG: 'debug',
  TRACE: 'trace',
};

/** Runs spec/check/discover: one kind of answer wanted, logs and traces handled. */
async function ask<T>(
  o: { connector: ConnectorRecord; cwd: string; env: Record<string, string>; signal?: AbortSignal },
  args: string[],
  what: string,
  type: string,
  schema: ZodType<T>,
  files: Record<string, unknown> = {},
): Promise<T> {
  let answer: T | undefined;
  let traceError: string | undefined;
  const timeout = AbortSignal.timeout(QUICK_COMMAND_MS);
  const signal = o.signal ? AbortSignal.any([o.signal, timeout]) : timeout;
  const { exit, tail } = await withFiles(files, (paths) =>
    runSource(
      o.connector,
      o.cwd,
      o.env,
      args.map((a) => (a.startsWith('@') ? paths[a.slice(1)]! : a)),
      (msg) => {
        if (msg.type === type) answer ??= parse(schema, msg, type);
        else if (msg.type === 'TRACE') traceError ??= traceText(parse(TraceMessage, msg, 'TRACE'));
      },
      () => {},
      signal,
    ),
  );
  if (timeout.aborted)
    throw new SwitchboardError('TIMEOUT', `the source's ${what} gave no answer within ${QUICK_COMMAND_MS / 1000} s`);
  if (answer !== undefined && exit.code === 0) return answer;
  if (answer === undefined && exit.code === 0 && !traceError)
    throw new ConnectorSyncError(`the source's ${what} ended without a ${type} message; is it an Airbyte source?`, {
      grpcCode: 'UNKNOWN',
      stderrTail: tail.toString(),
    });
  throw exitError(what, exit, tail, traceError);
}

function parseOptions(text: string): Record<string, unknown> {
  const v = JSON.parse(text) as unknown;
  if (!v || typeof v !== 'object' || Array.isArray(v))
    throw new SwitchboardError('INVALID_ARGUMENT', 'an Airbyte source takes a JSON object as its config (the options)');
  return v as Record<string, unknown>;
}

function streamKey(name: string, namespace: string | null | undefined): string {
  return namespace ? `${namespace}.${name}` : name;
}

/** How a stream's records get their remote id: paths into the record's data. */
function keyPaths(stream: CatalogStream, settings: AirbyteSettings | null): string[][] {
  const stated = settings?.remoteId;
  const field = typeof stated === 'string' ? stated : stated?.[stream.name];
  if (field) return [field.split('.')];
  const pk = stream.source_defined_primary_key;
  if (pk && pk.length) return pk;
  throw new SwitchboardError(
    'INVALID_ARGUMENT',
    `stream "${stream.name}" has no primary key; state the field that identifies its records in the manifest: "airbyte": {"remote_id": {"${stream.name}": "id"}}`,
  );
}

function valueAt(data: Record<string, unknown>, path: string[]): unknown {
  let v: unknown = data;
  for (const k of path) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
  return v;
}

/** The `--state` content to give back next time, from the messages so far. */
class StateKeeper {
  private legacy: unknown;
  private global: unknown;
  private readonly streams = new Map<string, unknown>();

  constructor(saved: string | undefined) {
    if (!saved) return;
    try {
      const v = JSON.parse(saved) as unknown;
      if (Array.isArray(v)) {
        for (const m of v as {
          type?: string;
          stream?: { stream_descriptor?: { name?: string; namespace?: string } };
        }[]) {
          if (m?.type === 'STREAM' && m.stream?.stream_descriptor?.name)
            this.streams.set(streamKey(m.stream.stream_descriptor.name, m.stream.stream_descriptor.namespace), m);
          else if (m?.type === 'GLOBAL') this.global = m;
        }
      } else this.legacy = v;
    } catch {
      /* not ours: the source starts afresh */
    }
  }

  /** The state file's content, or undefined when there is none. */
  fileContent(): unknown {
    if (this.global !== undefined) return [this.global];
    if (this.streams.size) return [...this.streams.values()];
    return this.legacy;
  }

  apply(m: StateMessage): string {
    const s = m.state;
    if (s.type === 'STREAM' && s.stream) {
      const d = s.stream.stream_descriptor;
      const { ...plain } = s as Record<string, unknown>;
      this.streams.set(streamKey(d.name, d.namespace), { type: 'STREAM', stream: plain.stream });
    } else if (s.type === 'GLOBAL') this.global = { type: 'GLOBAL', global: s.global };
    else this.legacy = s.data ?? null;
    return JSON.stringify(this.fileContent());
  }
}

export const airbyteDriver: Driver = {
  async spec(o) {
    const m = await ask(o, ['spec'], 'spec', 'SPEC', SpecMessage);
    return m.spec.connectionSpecification;
  },

  async check(o: DriverCheckOptions): Promise<CheckResult> {
    const config = parseOptions(o.options);
    const m = await ask(o, ['check', '--config', '@config'], 'check', 'CONNECTION_STATUS', ConnectionStatusMessage, {
      config,
    });
    return {
      supported: true,
      ok: m.connectionStatus.status === 'SUCCEEDED',
      message: m.connectionStatus.message ?? '',
    };
  },

  async run(o: DriverRunOptions): Promise<{ metadata: string }> {
    const config = parseOptions(o.options);
    const catalog = await ask(
      { ...o, signal: o.signal },
      ['discover', '--config', '@config'],
      'discover',
      'CATALOG',
      CatalogMessage,
      { config },
    );
    const wanted = o.connector.airbyte?.streams;
    const streams = catalog.catalog.streams.filter((s) => !wanted || wanted.includes(s.name));
    if (wanted) {
      const missing = wanted.filter((w) => !streams.some((s) => s.name === w));
      if (missing.length)
        throw new SwitchboardError(
          'INVALID_ARGUMENT',
          `the manifest asks for streams the source does not have: ${missing.join(', ')} (it has ${catalog.catalog.streams.map((s) => s.name).join(', ')})`,
        );
    }
    const byKey = new Map<string, { stream: CatalogStream; keys: string[][]; incremental: boolean }>();
    const configured = streams.map((s) => {
      const keys = keyPaths(s, o.connector.airbyte);
      const incremental = (s.supported_sync_modes ?? []).includes('incremental');
      byKey.set(streamKey(s.name, s.namespace), { stream: s, keys, incremental });
      return {
        stream: s,
        sync_mode: incremental ? 'incremental' : 'full_refresh',
        cursor_field: incremental ? (s.default_cursor_field ?? []) : [],
        destination_sync_mode: incremental ? 'append_dedup' : 'overwrite',
        primary_key: keys,
      };
    });
    const state = new StateKeeper(o.state);
    const saved = state.fileContent();
    let page: DataObject[] = [];
    let pageBytes = 0;
    let records = 0;
    let traceError: string | undefined;
    const flush = async () => {
      if (!page.length) return;
      const out = page;
      page = [];
      pageBytes = 0;
      await o.onPage(out);
    };
    const files: Record<string, unknown> = { config, catalog: { streams: configured } };
    if (saved !== undefined) files.state = saved;
    const args = [
      'read',
      '--config',
      '@config',
      '--catalog',
      '@catalog',
      ...(saved !== undefined ? ['--state', '@state'] : []),
    ];
    const { exit, tail } = await withFiles(files, (paths) =>
      runSource(
        o.connector,
        o.cwd,
        o.env,
        args.map((a) => (a.startsWith('@') ? paths[a.slice(1)]! : a)),
        async (msg) => {
          switch (msg.type) {
            case 'RECORD': {
              const { record } = parse(RecordMessage, msg, 'RECORD');
              const key = streamKey(record.stream, record.namespace);
              const s = byKey.get(key);
              if (!s)
                throw new PageRejectedError(`the source sent a record of stream "${key}", which was not asked for`);
              const values = s.keys.map((p) => valueAt(record.data, p));
              records++;
              if (values.some((v) => v === undefined || v === null || typeof v === 'object'))
                throw new PageRejectedError(
                  `record ${records} (stream "${key}") has no value at its key ${s.keys.map((p) => p.join('.')).join(' + ')}; every record needs one`,
                );
              const id = values.length === 1 ? String(values[0]) : JSON.stringify(values);
              const metadata = JSON.stringify(record.data);
              page.push({ remoteId: `${key}/${id}`, resourceName: key, uri: '', metadata });
              pageBytes += metadata.length + id.length;
              if (page.length >= PAGE_OBJECTS || pageBytes >= PAGE_BYTES) await flush();
              return;
            }
            case 'STATE': {
              const text = state.apply(parse(StateMessage, msg, 'STATE'));
              await flush();
              await o.onCheckpoint(text);
              return;
            }
            case 'LOG': {
              const { log } = parse(LogMessage, msg, 'LOG');
              o.onLog({
                level: LOG_LEVELS[log.level.toUpperCase()] ?? 'info',
                message: log.message,
                fields: {},
                stream: 'stdout',
              });
              return;
            }
            case 'TRACE': {
              const t = parse(TraceMessage, msg, 'TRACE');
              const text = traceText(t);
              if (text) {
                traceError ??= text;
                o.onLog({ level: 'error', message: text, fields: { trace: t.trace.type }, stream: 'stdout' });
              }
              return;
            }
            default:
              return; // CONTROL, and types of newer protocol versions
          }
        },
        o.onLog,
        o.signal,
      ),
    );
    if (o.signal.aborted) throw new ConnectorCancelledError();
    if (exit.code !== 0 || traceError) throw exitError('read', exit, tail, traceError);
    await flush();
    // Full-refresh streams were read whole: what they did not send is gone at the source.
    for (const s of byKey.values()) if (!s.incremental) await o.onClean(streamKey(s.stream.name, s.stream.namespace));
    return { metadata: JSON.stringify({ records, streams: [...byKey.keys()] }) };
  },
};
