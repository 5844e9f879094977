/**
 * Events between plugins, keyed `[emitter] event` like Remix. The last payload of each event is
 * remembered and replayed to a listener that subscribes later; the memory of an emitter is
 * cleared when it is deactivated. A listener that throws reaches the error handler, never the emitter.
 */
import { eventKey } from './protocol.js';

export type EventCallback = (...payload: unknown[]) => void;

interface Subscription {
  cb: EventCallback;
  once: boolean;
}

export class EventBus {
  /** eventKey -> listener plugin -> callback */
  private readonly listeners = new Map<string, Map<string, Subscription>>();
  /** emitter -> event -> last payload */
  private readonly memory = new Map<string, Map<string, unknown[]>>();

  constructor(private readonly onListenerError: (listener: string, key: string, err: unknown) => void) {}

  add(listener: string, emitter: string, event: string, cb: EventCallback, once = false): void {
    const key = eventKey(emitter, event);
    let byListener = this.listeners.get(key);
    if (!byListener) this.listeners.set(key, (byListener = new Map()));
    // Remix keeps the first callback when a plugin subscribes twice; so do we.
    if (!byListener.has(listener)) byListener.set(listener, { cb, once });
    const last = this.memory.get(emitter)?.get(event);
    if (last) this.deliver(listener, key, byListener.get(listener)!, last);
  }

  remove(listener: string, emitter: string, event: string): void {
    this.listeners.get(eventKey(emitter, event))?.delete(listener);
  }

  broadcast(emitter: string, event: string, payload: unknown[]): void {
    let mem = this.memory.get(emitter);
    if (!mem) this.memory.set(emitter, (mem = new Map()));
    mem.set(event, payload);
    const key = eventKey(emitter, event);
    const byListener = this.listeners.get(key);
    if (!byListener) return;
    for (const [listener, sub] of [...byListener]) this.deliver(listener, key, sub, payload);
  }

  /** The emitter was deactivated: forget its last values. */
  forgetEmitter(emitter: string): void {
    this.memory.delete(emitter);
  }

  /** The listener was deactivated or removed: drop all its subscriptions. */
  removeListener(listener: string): void {
    for (const byListener of this.listeners.values()) byListener.delete(listener);
  }

  listenersOf(emitter: string, event: string): string[] {
    return [...(this.listeners.get(eventKey(emitter, event))?.keys() ?? [])];
  }

  private deliver(listener: string, key: string, sub: Subscription, payload: unknown[]): void {
    if (sub.once) this.listeners.get(key)?.delete(listener);
    try {
      sub.cb(...payload);
    } catch (err) {
      this.onListenerError(listener, key, err);
    }
  }
}
