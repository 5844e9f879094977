/** W3C trace context (`traceparent: 00-<trace-id>-<parent-id>-<flags>`). */
import { randomBytes } from 'node:crypto';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** A child of `parent` (same trace, new span id), or the start of a new trace. */
export function childTraceparent(parent?: string): string {
  const m = parent ? TRACEPARENT.exec(parent.trim()) : null;
  const traceId = m?.[1] && !/^0+$/.test(m[1]) ? m[1] : randomBytes(16).toString('hex');
  const flags = m?.[3] ?? '01';
  return `00-${traceId}-${randomBytes(8).toString('hex')}-${flags}`;
}

export function traceIdOf(traceparent: string): string | undefined {
  return TRACEPARENT.exec(traceparent)?.[1];
}

/** Message parameters with a `traceparent` (a child of `parent`): trace context on hub messages. */
export function withTraceparent<P extends Record<string, unknown>>(
  params: P,
  parent?: string,
): P & { traceparent: string } {
  const incoming = parent ?? (typeof params.traceparent === 'string' ? params.traceparent : undefined);
  return { ...params, traceparent: childTraceparent(incoming) };
}
