import { Idempotency } from "./engine.js";
import type { IdempotencyOptions } from "./options.js";
import type { WrapOptions } from "./wrap.js";

/** Options of {@link idempotent}: the engine's and the wrapper's in one object. */
export interface IdempotentOptions<A extends unknown[]>
  extends IdempotencyOptions,
    WrapOptions<A> {}

/**
 * Wraps an async function so that duplicates run it once and get the first
 * result. The returned function has the same parameters as `fn`.
 *
 * Duplicates are calls with the same key: the `key` option (a string or a
 * function of the arguments), or, without it, a key derived from the name
 * and the arguments.
 *
 * @example
 * ```ts
 * import { idempotent, MemoryStore } from "idemkit";
 *
 * const charge = idempotent(
 *   async (input: { user: string; amount: number; requestId: string }) => gateway.charge(input),
 *   { store: new MemoryStore(), name: "charge", key: (input) => input.requestId },
 * );
 *
 * await Promise.all([charge(input), charge(input)]); // charges once, both get the same receipt
 * ```
 */
export function idempotent<A extends unknown[], R>(
  fn: (...args: A) => R,
  options: IdempotentOptions<A>,
): (...args: A) => Promise<Awaited<R>> {
  return new Idempotency(options).wrap(fn, options);
}
