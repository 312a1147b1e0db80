import type { IdempotencyStore } from "../../src/stores/contract.js";

/**
 * The same store seen through another object. Engines coalesce duplicates
 * per store object, so an engine over this view behaves like one in another
 * process: it meets the first engine only through the store.
 */
export function anotherProcessView(store: IdempotencyStore): IdempotencyStore {
  return {
    kind: store.kind,
    maxResultBytes: store.maxResultBytes,
    claim: (request) => store.claim(request),
    complete: (id, token, request) => store.complete(id, token, request),
    fail: (id, token, request) => store.fail(id, token, request),
    extend: (id, token, leaseMs) => store.extend(id, token, leaseMs),
    saveStep: (id, token, name, value) => store.saveStep(id, token, name, value),
    get: (id) => store.get(id),
    delete: (id) => store.delete(id),
    list: (options) => store.list(options),
    stats: () => store.stats(),
    sweep: () => store.sweep(),
    close: () => store.close(),
  };
}

/** A promise with its resolve function, to hold an operation open. */
export function gate<T = void>(): { promise: Promise<T>; open: (value: T) => void } {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));
