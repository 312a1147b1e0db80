import { hashValue } from "./canonical.js";
import type { Idempotency } from "./engine.js";
import { IdempotencyConfigError } from "./errors.js";
import { deriveKey, validateKey, validateName, validateScope } from "./keys.js";
import {
  type ExecutionOptions,
  hasExecutionOverrides,
  mergeExecution,
} from "./options.js";

/** How a wrapped function finds its key, scope and fingerprint. */
export interface WrapOptions<A extends unknown[]> extends ExecutionOptions {
  /**
   * The operation's name. Derived keys hash it, and records of different
   * names never meet.
   * @default the function's own name, else "default"
   */
  name?: string | undefined;
  /**
   * The key: a string, or a function of the arguments. Without it the key
   * is derived from the name, the arguments and the scope (SHA-256 over a
   * canonical encoding, so object key order does not matter).
   */
  key?: string | ((...args: A) => string) | undefined;
  /** Who the key belongs to: a string or a function of the arguments. @default "" */
  scope?: string | ((...args: A) => string) | undefined;
  /**
   * What the fingerprint covers when `key` is given: a function that picks
   * the part of the arguments that identifies the request, or `false` to
   * skip the check. Derived keys need no fingerprint (the key is one).
   * @default all arguments
   */
  fingerprint?: false | ((...args: A) => unknown) | undefined;
}

/**
 * Builds the wrapped function. Options are read and checked once, here; a
 * call does one hash (the derived key, or the fingerprint of an explicit
 * key), never two.
 */
export function wrapWith<A extends unknown[], R>(
  engine: Idempotency,
  fn: (...args: A) => R,
  options: WrapOptions<A>,
): (...args: A) => Promise<Awaited<R>> {
  if (typeof fn !== "function") {
    throw new IdempotencyConfigError(`idempotent() needs a function, got ${typeof fn}`);
  }
  const name = options.name ?? (fn.name || "default");
  validateName(name);

  const { key, scope, fingerprint } = options;
  if (key !== undefined && typeof key !== "string" && typeof key !== "function") {
    throw new IdempotencyConfigError(
      "key must be a string or a function of the arguments",
    );
  }
  if (typeof key === "string") validateKey(key);
  if (scope !== undefined && typeof scope !== "string" && typeof scope !== "function") {
    throw new IdempotencyConfigError(
      "scope must be a string or a function of the arguments",
    );
  }
  if (typeof scope === "string") validateScope(scope);
  if (
    fingerprint !== undefined &&
    fingerprint !== false &&
    typeof fingerprint !== "function"
  ) {
    throw new IdempotencyConfigError(
      "fingerprint must be a function of the arguments, or false",
    );
  }

  const settings = hasExecutionOverrides(options)
    ? mergeExecution(engine.settings.execution, options)
    : engine.settings.execution;

  return function idempotentCall(this: unknown, ...args: A): Promise<Awaited<R>> {
    try {
      const callScope = typeof scope === "function" ? scope(...args) : (scope ?? "");
      if (typeof scope === "function") validateScope(callScope);

      let callKey: string;
      let callFingerprint: string;
      if (key === undefined) {
        callKey = deriveKey(name, args, callScope);
        callFingerprint = "";
      } else {
        callKey = typeof key === "function" ? key(...args) : key;
        if (typeof key === "function") validateKey(callKey);
        callFingerprint =
          fingerprint === false
            ? ""
            : hashValue(fingerprint ? fingerprint(...args) : args);
      }

      const id = { namespace: name, scope: callScope, key: callKey };
      return engine.execute(
        id,
        callFingerprint,
        settings,
        () => fn.apply(this, args) as Awaited<R>,
      );
    } catch (error) {
      return Promise.reject(error);
    }
  };
}
