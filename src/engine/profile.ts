/** Plugin profiles (Remix's `Profile`, `ExternalProfile`, `LocationProfile`), with a schema for profiles that come from outside. */
import { z } from 'zod';

export interface Profile {
  name: string;
  displayName?: string;
  methods?: string[];
  events?: string[];
  /** True when callers need the manager's `canCall` permission to call this plugin's methods. */
  permission?: boolean;
  description?: string;
  documentation?: string;
  version?: string;
  kind?: string;
  canActivate?: string[];
  icon?: string;
  /** Where an external plugin lives (script, URL, command). */
  url?: string;
  location?: string;
}

export const profileSchema = z.object({
  name: z.string().min(1).max(256).regex(/^[^.\s]+$/, 'a plugin name has no dots or spaces'),
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
}).passthrough();

/** The manager's own profile (same as Remix's `pluginManagerProfile`). */
export const managerProfile: Profile = {
  name: 'manager',
  methods: ['getProfile', 'updateProfile', 'activatePlugin', 'deactivatePlugin', 'isActive', 'canCall'],
  events: ['pluginActivated', 'pluginDeactivated', 'profileAdded', 'profileUpdated'],
};
