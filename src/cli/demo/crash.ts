/**
 * A store view that can "crash": after `crash()`, every call on it hangs
 * forever, as if the process holding it had died. The lease it held then
 * runs out on the real store, and another worker can take the key over.
 */
import type { IdempotencyStore } from "../../stores/contract.js";

/** The view and the switch that kills it. */
export interface CrashableStore {
  readonly store: IdempotencyStore;
  crash(): void;
}

/**
 * Wraps `store`; the real store is never touched after `crash()`.
 *
 * @example
 * ```ts
 * const dying = crashable(store);
 * const worker = withIdempotency(handler, { store: dying.store, lease: "1s" });
 * dying.crash(); // from here on the worker is as good as dead
 * ```
 */
export function crashable(store: IdempotencyStore): CrashableStore {
  let dead = false;
  const never = new Promise<never>(() => {});
  const call = <T>(fn: () => Promise<T>): Promise<T> => (dead ? never : fn());

  return {
    crash: () => {
      dead = true;
    },
    store: {
      kind: store.kind,
      maxResultBytes: store.maxResultBytes,
      claim: (request) => call(() => store.claim(request)),
      complete: (id, token, request) => call(() => store.complete(id, token, request)),
      fail: (id, token, request) => call(() => store.fail(id, token, request)),
      extend: (id, token, leaseMs) => call(() => store.extend(id, token, leaseMs)),
      saveStep: (id, token, name, value) =>
        call(() => store.saveStep(id, token, name, value)),
      get: (id) => call(() => store.get(id)),
      delete: (id) => call(() => store.delete(id)),
      list: (options) => call(() => store.list(options)),
      stats: () => call(() => store.stats()),
      sweep: () => call(() => store.sweep()),
      close: async () => {},
    },
  };
}
