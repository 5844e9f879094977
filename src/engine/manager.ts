/**
 * The PluginManager (Remix's): profiles, which plugins are active, and the permission hooks an
 * application overrides: `canActivatePlugin`, `canDeactivatePlugin`, `canCall`, `canUpdateProfile`.
 * Emits `pluginActivated`, `pluginDeactivated`, `profileAdded`, `profileUpdated`.
 *
 * Plugins call it through the engine like any plugin; those calls carry the caller's name, so the
 * manager never reads a shared `currentRequest` (it serves calls concurrently).
 */
import { SwitchboardError } from '../core/errors.js';
import type { CallContext } from './call-queue.js';
import { permissionDenied } from './errors.js';
import { Plugin, type EngineErrorContext } from './plugin.js';
import { managerProfile, type Profile } from './profile.js';
import { profileUpdateSchema } from './profile-schema.js';

/** What the engine does for the manager. */
export interface ManagerHost {
  activatePlugin(name: string): Promise<void>;
  deactivatePlugin(name: string): Promise<void>;
  hasPlugin(name: string): boolean;
  pluginCanActivate(name: string, from: Profile, method?: string): Promise<boolean>;
  pluginCanDeactivate(name: string, from: Profile): Promise<boolean>;
  reportError(err: unknown, context: EngineErrorContext): void;
}

export class PluginManager extends Plugin {
  private readonly profiles = new Map<string, Profile>();
  private readonly actives = new Set<string>();
  private readonly transitions = new Map<string, Promise<void>>();
  private managerHost: ManagerHost | undefined;

  onPluginActivated?(profile: Profile): void;
  onPluginDeactivated?(profile: Profile): void;
  onProfileAdded?(profile: Profile): void;
  onProfileUpdated?(profile: Profile): void;

  constructor(profile: Profile = managerProfile) {
    super({ ...profile, methods: [...(profile.methods ?? [])] }, { concurrency: Infinity });
  }

  /** @internal Called by Engine.register. */
  bindEngine(host: ManagerHost): void {
    this.managerHost = host;
    this.actives.add(this.name);
  }

  // ---- Remix API ----

  async getProfile(name: string): Promise<Profile | undefined> {
    return this.profiles.get(name);
  }

  getProfiles(): Profile[] {
    return [...this.profiles.values()];
  }

  getActiveProfiles(): Profile[] {
    return [...this.actives].map((n) => this.profiles.get(n)).filter((p): p is Profile => p !== undefined);
  }

  async isActive(name: string): Promise<boolean> {
    return this.actives.has(name);
  }

  /** Update a profile as the application ("manager"). */
  updateProfile(to: Partial<Profile> & { name: string }): Promise<void> {
    return this.updateProfileAs(this.name, to);
  }

  activatePlugin(names: string | string[]): Promise<void> {
    return this.activateAs(this.name, names);
  }

  deactivatePlugin(names: string | string[]): Promise<void> {
    return this.deactivateAs(this.name, names);
  }

  /** Activate or deactivate without permission checks (for the application only). */
  async toggleActive(names: string | string[]): Promise<void> {
    const list = Array.isArray(names) ? names : [names];
    await Promise.all(list.map((n) => (this.actives.has(n) ? this.stop(n) : this.start(n))));
  }

  // ---- permission hooks (override these) ----

  canActivatePlugin(_from: Profile, _to: Profile, _method?: string): boolean | Promise<boolean> {
    return true;
  }

  canDeactivatePlugin(from: Profile, to: Profile): boolean | Promise<boolean> {
    return from.name === this.name || from.name === to.name;
  }

  /** Asked for every call to a plugin whose profile has `permission: true`, and by plugins' askUserPermission. */
  canCall(_from: Profile, _to: Profile, _method: string, _message?: string): boolean | Promise<boolean> {
    return true;
  }

  canUpdateProfile(from: Profile, to: Partial<Profile> & { name: string }): boolean | Promise<boolean> {
    if (from.name !== this.name && to.name !== from.name)
      throw permissionDenied(`plugin "${from.name}" cannot change the profile of "${to.name}"`);
    const current = this.profiles.get(to.name);
    if (to.url !== undefined && current && to.url !== current.url)
      throw permissionDenied(`the url of plugin "${to.name}" cannot be updated`);
    return true;
  }

  // ---- engine internals ----

  /** @internal */
  addProfile(profiles: Profile | Profile[]): void {
    for (const profile of Array.isArray(profiles) ? profiles : [profiles]) {
      if (this.profiles.has(profile.name))
        throw new SwitchboardError('CONFLICT', `a plugin named "${profile.name}" already exists`);
      this.profiles.set(profile.name, profile);
      this.emitSafely('profileAdded', profile);
      this.hook('onProfileAdded', () => this.onProfileAdded?.(profile));
    }
  }

  /** @internal */
  removeProfile(name: string): void {
    this.profiles.delete(name);
  }

  /** @internal Synchronous read for the engine's hot path. */
  profileOf(name: string): Profile | undefined {
    return this.profiles.get(name);
  }

  /** @internal */
  isActiveNow(name: string): boolean {
    return this.actives.has(name);
  }

  /** @internal A connector learned the plugin's methods (no permission check: it is the plugin itself). */
  applyProfileUpdate(to: Partial<Profile> & { name: string }): void {
    const current = this.profiles.get(to.name);
    if (!current) return;
    const updated = { ...current, ...to };
    this.profiles.set(to.name, updated);
    this.emitSafely('profileUpdated', updated);
    this.hook('onProfileUpdated', () => this.onProfileUpdated?.(updated));
  }

  /** @internal The plugin went away on its own: it is no longer active. */
  markStopped(name: string): void {
    if (!this.actives.delete(name)) return;
    const profile = this.profiles.get(name);
    if (profile) this.announce('pluginDeactivated', profile);
  }

  /** @internal Auto-activation on call: checks the manager and the plugin, then starts it. */
  async activateForCall(from: Profile, to: Profile, method: string): Promise<void> {
    if (this.actives.has(to.name)) return;
    const ok =
      (await this.canActivatePlugin(from, to, method)) && (await this.host_().pluginCanActivate(to.name, from, method));
    if (!ok)
      throw permissionDenied(
        `"${from.name}" cannot call "${method}" of "${to.name}": "${to.name}" is not active and may not be activated by "${from.name}"`,
      );
    await this.start(to.name);
  }

  override callPluginMethod(method: string, args: unknown[], ctx: CallContext): unknown {
    const from = ctx.request.from;
    switch (method) {
      case 'getProfile':
        return this.getProfile(String(args[0]));
      case 'isActive':
        return this.isActive(String(args[0]));
      case 'updateProfile': {
        // The argument came from a plugin (maybe over the wire): check it.
        const parsed = profileUpdateSchema.safeParse(args[0]);
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          throw new SwitchboardError(
            'INVALID_ARGUMENT',
            `updateProfile from "${from}" needs a profile object with a name${issue ? `; "${issue.path.join('.')}": ${issue.message}` : ''}`,
          );
        }
        return this.updateProfileAs(from, parsed.data as Partial<Profile> & { name: string });
      }
      case 'activatePlugin':
        return this.activateAs(from, args[0] as string | string[]);
      case 'deactivatePlugin':
        return this.deactivateAs(from, args[0] as string | string[]);
      case 'canCall': {
        const [f, t, m, msg] = args;
        const fromProfile = typeof f === 'string' ? this.profiles.get(f) : (f as Profile | undefined);
        const toProfile = typeof t === 'string' ? this.profiles.get(t) : (t as Profile | undefined);
        if (!fromProfile || !toProfile) return false;
        return this.canCall(fromProfile, toProfile, String(m), typeof msg === 'string' ? msg : undefined);
      }
      default:
        return super.callPluginMethod(method, args, ctx);
    }
  }

  private async updateProfileAs(fromName: string, to: Partial<Profile> & { name: string }): Promise<void> {
    if (!to || typeof to.name !== 'string')
      throw new SwitchboardError('INVALID_ARGUMENT', 'updateProfile needs a profile with a name');
    if (!this.profiles.has(to.name))
      throw new SwitchboardError(
        'NOT_FOUND',
        `plugin "${to.name}" is not registered, so its profile cannot be updated`,
      );
    const from = this.requireProfile(fromName);
    if (!(await this.canUpdateProfile(from, to)))
      throw permissionDenied(`plugin "${fromName}" may not update the profile of "${to.name}"`);
    this.applyProfileUpdate(to);
  }

  private async activateAs(fromName: string, names: string | string[]): Promise<void> {
    const from = this.requireProfile(fromName);
    const list = Array.isArray(names) ? names : [names];
    await Promise.all(
      list.map(async (name) => {
        if (this.actives.has(name)) return;
        const to = this.requireProfile(name);
        if (!(await this.canActivatePlugin(from, to)))
          throw permissionDenied(`plugin "${fromName}" has no right to activate plugin "${name}"`);
        await this.start(name);
      }),
    );
  }

  private async deactivateAs(fromName: string, names: string | string[]): Promise<void> {
    const from = this.requireProfile(fromName);
    const list = Array.isArray(names) ? names : [names];
    await Promise.all(
      list.map(async (name) => {
        if (!this.actives.has(name)) return;
        const to = this.requireProfile(name);
        if (from.name !== this.name) {
          if (!(await this.canDeactivatePlugin(from, to)))
            throw permissionDenied(`plugin "${fromName}" has no right to deactivate plugin "${name}"`);
          if (from.name !== to.name && !(await this.host_().pluginCanDeactivate(name, from)))
            throw permissionDenied(`plugin "${name}" refused to be deactivated by "${fromName}"`);
        }
        await this.stop(name);
      }),
    );
  }

  private start(name: string): Promise<void> {
    return this.transition(name, async () => {
      if (this.actives.has(name)) return;
      await this.host_().activatePlugin(name);
      this.actives.add(name);
      this.announce('pluginActivated', this.requireProfile(name));
    });
  }

  private stop(name: string): Promise<void> {
    return this.transition(name, async () => {
      if (!this.actives.has(name)) return;
      this.actives.delete(name);
      await this.host_().deactivatePlugin(name);
      const profile = this.profiles.get(name);
      if (profile) this.announce('pluginDeactivated', profile);
    });
  }

  /** One activation/deactivation at a time per plugin; concurrent requests share it. */
  private transition(name: string, run: () => Promise<void>): Promise<void> {
    const prev = this.transitions.get(name) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(run);
    this.transitions.set(name, next);
    const clear = () => {
      if (this.transitions.get(name) === next) this.transitions.delete(name);
    };
    next.then(clear, clear);
    return next;
  }

  private announce(event: 'pluginActivated' | 'pluginDeactivated', profile: Profile): void {
    this.emitSafely(event, profile);
    if (event === 'pluginActivated') this.hook('onPluginActivated', () => this.onPluginActivated?.(profile));
    else this.hook('onPluginDeactivated', () => this.onPluginDeactivated?.(profile));
  }

  private emitSafely(event: string, profile: Profile): void {
    if (this.host && this.actives.has(this.name)) this.host.broadcast(this.name, event, [profile]);
  }

  private hook(name: string, run: () => unknown): void {
    try {
      const result = run();
      if (result instanceof Promise)
        result.catch((err: unknown) =>
          this.managerHost?.reportError(err, { plugin: this.name, source: 'manager-hook', detail: name }),
        );
    } catch (err) {
      this.managerHost?.reportError(err, { plugin: this.name, source: 'manager-hook', detail: name });
    }
  }

  private requireProfile(name: string): Profile {
    const p = this.profiles.get(name);
    if (!p) throw new SwitchboardError('NOT_FOUND', `plugin "${name}" is not registered`);
    return p;
  }

  private host_(): ManagerHost {
    if (!this.managerHost)
      throw new SwitchboardError(
        'UNAVAILABLE',
        'the plugin manager is not registered in an engine; call engine.register(manager) first',
      );
    return this.managerHost;
  }
}
