/** Something that can be undone once: a handler, a subscription, a client. `dispose()` is idempotent. */
export interface Disposable {
  dispose(): void;
}

export function disposable(fn: () => void): Disposable {
  let done = false;
  return {
    dispose: () => {
      if (!done) {
        done = true;
        fn();
      }
    },
  };
}

/** A typed list of listeners; a throwing listener does not stop the others. */
export class Listeners<T> {
  private readonly set = new Set<(value: T) => void>();

  add(listener: (value: T) => void): Disposable {
    this.set.add(listener);
    return disposable(() => this.set.delete(listener));
  }

  get size(): number {
    return this.set.size;
  }

  emit(value: T, onError: (err: unknown) => void): void {
    for (const listener of [...this.set]) {
      try {
        listener(value);
      } catch (err) {
        onError(err);
      }
    }
  }

  clear(): void {
    this.set.clear();
  }
}
