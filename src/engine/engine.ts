/**
 * The Engine: registers plugins, routes calls between them (checking that the method is exposed,
 * that the caller may call it, and activating the target on demand), and carries events with
 * last-value replay. Errors from hooks and listeners go to one error handler.
 */
import { SwitchboardError, asSwitchboardError } from '../core/errors.js';
import { notRegistered, permissionDenied, type EngineErrorCode } from './errors.js';
import { EventBus, type EventCallback } from './event-bus.js';
import { engineLog } from './log.js';
import { PluginManager, type ManagerHost } from './manager.js';
import type { Plugin, CallOptions, EngineErrorContext, PluginHost } from './plugin.js';
import type { Profile } from './profile.js';
import type { RequestInfo } from './protocol.js';

export interface EngineOptions {
  /** Sent to plugins in the handshake (Remix's `options.engine`). */
  name?: string;
  /** Receives errors thrown by hooks, event listeners and connectors. Default: log them. */
  onError?: (err: unknown, context: EngineErrorContext) => void;
}

export class Engine implements PluginHost, ManagerHost {
  readonly engineName: string;
  private readonly plugins = new Map<string, Plugin>();
  private managerPlugin: PluginManager | undefined;
  private readonly bus: EventBus;
  private readonly methodSets = new WeakMap<string[], Set<string>>();
  private errorHandler: (err: unknown, context: EngineErrorContext) => void;

  constructor(options: EngineOptions = {}) {
    this.engineName = options.name ?? 'switchboard';
    this.errorHandler =
      options.onError ??
      ((err, ctx) =>
        engineLog().error(
          { err, ...ctx },
          `error in ${ctx.source} of plugin "${ctx.plugin}": ${err instanceof Error ? err.message : String(err)}`,
        ));
    this.bus = new EventBus((listener, key, err) =>
      this.reportError(err, { plugin: listener, source: 'event-listener', detail: key }),
    );
  }

  get manager(): PluginManager {
    if (!this.managerPlugin)
      throw new SwitchboardError(
        'UNAVAILABLE',
        'no plugin manager is registered; call engine.register(new PluginManager()) first',
      );
    return this.managerPlugin;
  }

  /** Replace the error handler (errors from hooks, listeners, connectors). */
  onError(handler: (err: unknown, context: EngineErrorContext) => void): void {
    this.errorHandler = handler;
  }

  register(plugin: Plugin): string;
  register(plugins: Plugin[]): string[];
  register(plugins: Plugin | Plugin[]): string | string[] {
    const list = Array.isArray(plugins) ? plugins : [plugins];
    const names = list.map((p) => p.name);
    for (const name of names) {
      if (this.plugins.has(name)) throw new SwitchboardError('CONFLICT', `plugin "${name}" is already registered`);
    }
    if (new Set(names).size !== names.length)
      throw new SwitchboardError('CONFLICT', `the same plugin name appears twice in: ${names.join(', ')}`);
    // The manager first, so it knows every profile.
    const ordered = [...list].sort((a, b) => Number(b instanceof PluginManager) - Number(a instanceof PluginManager));
    for (const plugin of ordered) {
      this.plugins.set(plugin.name, plugin);
      plugin.attach(this);
      if (plugin instanceof PluginManager) {
        if (this.managerPlugin) throw new SwitchboardError('CONFLICT', 'a plugin manager is already registered');
        this.managerPlugin = plugin;
        plugin.bindEngine(this);
        plugin.setState('active');
        plugin.addProfile([...this.plugins.values()].map((p) => p.profile));
      } else {
        this.managerPlugin?.addProfile(plugin.profile);
      }
      try {
        plugin.onRegistration?.();
      } catch (err) {
        this.reportError(err, { plugin: plugin.name, source: 'onRegistration' });
      }
    }
    return Array.isArray(plugins) ? names : names[0]!;
  }

  /** Deactivate and unregister plugins. */
  async remove(names: string | string[]): Promise<void> {
    for (const name of Array.isArray(names) ? names : [names]) {
      if (!this.plugins.has(name)) continue;
      if (this.managerPlugin?.isActiveNow(name)) await this.manager.deactivatePlugin(name);
      this.plugins.delete(name);
      this.managerPlugin?.removeProfile(name);
      this.bus.removeListener(name);
    }
  }

  isRegistered(name: string): boolean {
    return this.plugins.has(name);
  }

  /** Which plugins listen on `event` of `emitter`. */
  listenersOf(emitter: string, event: string): string[] {
    return this.bus.listenersOf(emitter, event);
  }

  getPlugin(name: string): Plugin | undefined {
    return this.plugins.get(name);
  }

  /**
   * Call `method` of the plugin at `path` (`name` or `name.service`) on behalf of `caller`.
   * Checks, in order: target registered, caller active, target active (else auto-activate if the
   * manager and the target agree), method exposed, manager's `canCall` when the target's profile
   * has `permission: true`. Then the call waits its turn in the target's queue.
   */
  callMethod(
    caller: string,
    path: string,
    method: string,
    args: unknown[],
    options: CallOptions = {},
  ): Promise<unknown> {
    const dot = path.indexOf('.');
    const target = dot < 0 ? path : path.slice(0, dot);
    const plugin = this.plugins.get(target);
    if (!plugin) return Promise.reject(notRegistered(target, caller));
    const manager = this.managerPlugin;
    if (!manager)
      return Promise.reject(
        new SwitchboardError(
          'UNAVAILABLE',
          'no plugin manager is registered; call engine.register(new PluginManager()) first',
        ),
      );
    const callerPlugin = this.plugins.get(caller);
    if (callerPlugin && callerPlugin.state === 'inactive' && callerPlugin !== manager) {
      return Promise.reject(
        new SwitchboardError(
          'UNAVAILABLE',
          `plugin "${caller}" is not active, so it cannot call "${target}.${method}"; activate it first`,
        ),
      );
    }
    const to = manager.profileOf(target);
    if (!to) return Promise.reject(notRegistered(target, caller));
    if (manager.isActiveNow(target) && !to.permission) {
      const refused = this.refuseUnexposed(caller, target, to, method);
      if (refused) return Promise.reject(refused);
      return plugin.addRequest(
        dot < 0 ? { from: caller } : { from: caller, path },
        method,
        args,
        options,
        caller === target,
      );
    }
    return this.slowCall(caller, path, target, plugin, method, args, options);
  }

  /** Cancel `caller`'s calls to `path` (one method or all). Returns how many were cancelled. */
  cancelMethod(caller: string, path: string, method?: string): number {
    const target = path.split('.')[0]!;
    const plugin = this.plugins.get(target);
    if (!plugin) throw notRegistered(target, caller);
    return plugin.cancelRequests(caller, method || undefined, `cancelled by "${caller}"`);
  }

  addListener(listener: string, emitter: string, event: string, cb: EventCallback, once: boolean): void {
    this.bus.add(listener, emitter, event, cb, once);
  }

  removeListener(listener: string, emitter: string, event: string): void {
    this.bus.remove(listener, emitter, event);
  }

  broadcast(emitter: string, event: string, payload: unknown[]): void {
    this.bus.broadcast(emitter, event, payload);
  }

  reportError(err: unknown, context: EngineErrorContext): void {
    try {
      this.errorHandler(err, context);
    } catch (handlerErr) {
      engineLog().error({ err: handlerErr }, 'the engine error handler threw');
    }
  }

  pluginFailed(name: string, err: Error): void {
    const plugin = this.plugins.get(name);
    if (!plugin || plugin.state === 'inactive') return;
    engineLog().warn({ plugin: name, err: err.message }, `plugin "${name}" stopped on its own; it is now inactive`);
    plugin.rejectAllRequests(err);
    plugin.setState('inactive');
    this.forget(name);
    this.managerPlugin?.markStopped(name);
  }

  updateProfileFromPlugin(profile: Partial<Profile> & { name: string }): void {
    this.managerPlugin?.applyProfileUpdate(profile);
  }

  // ---- ManagerHost ----

  hasPlugin(name: string): boolean {
    return this.plugins.has(name);
  }

  async activatePlugin(name: string): Promise<void> {
    const plugin = this.plugins.get(name);
    if (!plugin) throw notRegistered(name, 'manager');
    if (plugin.state === 'active') return;
    plugin.setState('activating');
    try {
      await plugin.activate();
    } catch (err) {
      plugin.setState('inactive');
      plugin.rejectAllRequests(asSwitchboardError(err, 'PLUGIN_ERROR' satisfies EngineErrorCode));
      this.forget(name);
      this.reportError(err, { plugin: name, source: 'onActivation' });
      throw err;
    }
    // The plugin may have failed while activating (crash right after the handshake).
    if (plugin.state === 'activating') plugin.setState('active');
    else throw new SwitchboardError('UNAVAILABLE', `plugin "${name}" stopped while it was being activated`);
  }

  async deactivatePlugin(name: string): Promise<void> {
    const plugin = this.plugins.get(name);
    if (!plugin || plugin.state === 'inactive') return;
    plugin.setState('deactivating');
    try {
      await plugin.deactivate();
    } catch (err) {
      this.reportError(err, { plugin: name, source: 'onDeactivation' });
    }
    plugin.rejectAllRequests(new SwitchboardError('UNAVAILABLE', `plugin "${name}" was deactivated`));
    plugin.setState('inactive');
    this.forget(name);
  }

  async pluginCanActivate(name: string, from: Profile, method?: string): Promise<boolean> {
    return (await this.plugins.get(name)?.canActivate(from, method)) ?? false;
  }

  async pluginCanDeactivate(name: string, from: Profile): Promise<boolean> {
    return (await this.plugins.get(name)?.canDeactivate(from)) ?? true;
  }

  // ---- internals ----

  private async slowCall(
    caller: string,
    path: string,
    target: string,
    plugin: Plugin,
    method: string,
    args: unknown[],
    options: CallOptions,
  ): Promise<unknown> {
    const manager = this.manager;
    const from = manager.profileOf(caller) ?? { name: caller };
    if (!manager.isActiveNow(target)) await manager.activateForCall(from, manager.profileOf(target)!, method);
    const to = manager.profileOf(target)!;
    const refused = this.refuseUnexposed(caller, target, to, method);
    if (refused) throw refused;
    if (to.permission && caller !== target && caller !== manager.name && !(await manager.canCall(from, to, method))) {
      throw permissionDenied(
        `plugin "${caller}" is not allowed to call "${target}.${method}" (the manager's canCall refused)`,
      );
    }
    const request: RequestInfo = path === target ? { from: caller } : { from: caller, path };
    return plugin.addRequest(request, method, args, options, caller === target);
  }

  private refuseUnexposed(caller: string, target: string, to: Profile, method: string): SwitchboardError | undefined {
    if (method === 'canDeactivate') return undefined;
    const methods = to.methods ?? [];
    let set = this.methodSets.get(methods);
    if (!set) this.methodSets.set(methods, (set = new Set(methods)));
    if (set.has(method)) return undefined;
    const list = methods.length ? methods.map((m) => `"${m}"`).join(', ') : 'none';
    return new SwitchboardError(
      'NOT_FOUND',
      `cannot call "${method}" of "${target}" from "${caller}": "${method}" is not in its profile's methods (exposed: ${list})`,
    );
  }

  private forget(name: string): void {
    this.bus.removeListener(name);
    this.bus.forgetEmitter(name);
  }
}
