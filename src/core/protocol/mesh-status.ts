/**
 * The payload of `MESH_STATUS_REPLY` (the hub's answer to `MESH_STATUS` when it runs a mesh): the
 * mesh's view of the cluster, as `switchboard cluster-status --json` prints it and the dashboard
 * draws it. The mesh writes it; readers check it with the schema below.
 */
import { z } from 'zod';
import type { JsonValue, Message } from '../message.js';
import { fail, ok, type Result } from '../result.js';

/** The communicator's quorum rule: UP when live >= quorum, COMPLETE when every known hub is live. */
export const ClusterStatusSchema = z.object({
  up: z.boolean(),
  complete: z.boolean(),
  /** Known hubs (the communicator's `neighbors_count`). */
  total: z.number(),
  live: z.number(),
  quorum: z.number(),
});
export type ClusterStatus = z.infer<typeof ClusterStatusSchema>;

export const MeshStatusSchema = z.object({
  server: z.string(),
  address: z.string(),
  cluster: ClusterStatusSchema,
  links: z.array(
    z.object({
      server: z.string(),
      address: z.string(),
      outgoing: z.boolean(),
      secure: z.boolean(),
      since: z.number(),
    }),
  ),
  neighbors: z.array(
    z.object({
      address: z.string(),
      url: z.string(),
      role: z.string(),
      state: z.string(),
      server: z.string().optional(),
      lastError: z.string().optional(),
      nextAttempt: z.number().optional(),
    }),
  ),
  /** `links`: the hubs each one reports links with (a link is live when both ends report it). */
  hubs: z.array(
    z.object({
      name: z.string(),
      reachable: z.boolean(),
      distance: z.number().optional(),
      nextHop: z.string().optional(),
      address: z.string(),
      services: z.array(z.string()),
      links: z.array(z.string()),
    }),
  ),
  blocked: z.array(z.object({ address: z.string(), until: z.number(), failures: z.number() })),
  /** SHUTDOWN and FORGET from other hubs this hub would not obey (no proof of an identity allowed to send them); older hubs leave it out. */
  refused: z
    .array(z.object({ peer: z.string(), command: z.string(), at: z.number(), why: z.string(), count: z.number() }))
    .optional(),
  cachedForRemote: z.number(),
});
export type MeshStatus = z.infer<typeof MeshStatusSchema>;

/** The parameters of MESH_STATUS_REPLY (the status as one JSON text, so the text form carries it too). */
export function meshStatusParams(status: MeshStatus): Record<string, JsonValue> {
  return { status: JSON.stringify(status) };
}

/** Reads a MESH_STATUS_REPLY in either form. */
export function readMeshStatus(msg: Message): Result<MeshStatus> {
  const raw = msg.params.status;
  let value: unknown = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      return fail('MESH_STATUS_REPLY carries a status that is not JSON');
    }
  }
  const r = MeshStatusSchema.safeParse(value);
  // Checked, then returned as it came: fields a newer hub adds are kept.
  if (r.success) return ok(value as MeshStatus);
  const issue = r.error.issues[0];
  return fail(
    `MESH_STATUS_REPLY has a bad status: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`,
  );
}
