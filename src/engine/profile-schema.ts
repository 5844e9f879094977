/** The schema for profiles that come from outside the process (a manifest, a hub's registry). Node only: the classic zod API is large for browsers. */
import * as z from 'zod';

export const profileSchema = z
  .object({
    name: z
      .string()
      .min(1)
      .max(256)
      .regex(/^[^.\s]+$/, 'a plugin name has no dots or spaces'),
    displayName: z.string().max(256).optional(),
    methods: z.array(z.string().min(1).max(256)).max(10_000).optional(),
    events: z.array(z.string().min(1).max(256)).max(10_000).optional(),
    permission: z.boolean().optional(),
    description: z.string().max(10_000).optional(),
    documentation: z.string().max(2048).optional(),
    version: z.string().max(64).optional(),
    kind: z.string().max(64).optional(),
    canActivate: z.array(z.string()).optional(),
    icon: z.string().max(100_000).optional(),
    url: z.string().max(4096).optional(),
    location: z.string().max(256).optional(),
  })
  .passthrough();

/** What a plugin may send to `manager.updateProfile`: any profile fields, with the name. */
export const profileUpdateSchema = profileSchema.partial().required({ name: true });
