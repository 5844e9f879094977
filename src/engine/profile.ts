/** Plugin profiles (Remix's `Profile`, `ExternalProfile`, `LocationProfile`). */

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

/** The manager's own profile (same as Remix's `pluginManagerProfile`). */
export const managerProfile: Profile = {
  name: 'manager',
  methods: ['getProfile', 'updateProfile', 'activatePlugin', 'deactivatePlugin', 'isActive', 'canCall'],
  events: ['pluginActivated', 'pluginDeactivated', 'profileAdded', 'profileUpdated'],
};
