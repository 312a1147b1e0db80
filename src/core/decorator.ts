import { Idempotency } from "./engine.js";
import { IdempotencyConfigError } from "./errors.js";
import type { IdempotencyOptions } from "./options.js";
import type { WrapOptions } from "./wrap.js";

/**
 * Options of {@link Idempotent}: either an `idempotency` engine to share, or
 * the engine options (with a `store`), plus the wrapper's options.
 */
export type IdempotentMethodOptions<A extends unknown[]> = WrapOptions<A> &
  ({ idempotency: Idempotency } | IdempotencyOptions);

/**
 * A standard (TypeScript 5) method decorator that makes a method
 * idempotent. The name defaults to the method's name; `key` receives the
 * method's arguments.
 *
 * @example
 * ```ts
 * class Orders {
 *   @Idempotent({ store, key: (input: OrderInput) => input.requestId })
 *   async createOrder(input: OrderInput): Promise<Order> {
 *     return this.db.insertOrder(input);
 *   }
 * }
 * ```
 */
export function Idempotent<A extends unknown[]>(options: IdempotentMethodOptions<A>) {
  if (options === null || typeof options !== "object") {
    throw new IdempotencyConfigError(
      "@Idempotent needs options with a store or an idempotency engine",
    );
  }
  const engine =
    "idempotency" in options ? options.idempotency : new Idempotency(options);

  return function decorate<This, R>(
    method: (this: This, ...args: A) => R,
    context: ClassMethodDecoratorContext<This, (this: This, ...args: A) => R>,
  ): (this: This, ...args: A) => Promise<Awaited<R>> {
    if (context.kind !== "method") {
      throw new IdempotencyConfigError("@Idempotent applies to methods only");
    }
    const name = options.name ?? String(context.name);
    return engine.wrap(method as (...args: A) => R, { ...options, name });
  };
}
