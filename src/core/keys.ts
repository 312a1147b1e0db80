import { hashValue } from "./canonical.js";
import { IdempotencyConfigError, IdempotencyKeyInvalidError } from "./errors.js";

/** The longest key accepted, in characters. */
export const MAX_KEY_LENGTH = 255;
/** The longest scope accepted, in characters. */
export const MAX_SCOPE_LENGTH = 1024;

// Printable ASCII: space (0x20) to tilde (0x7e).
const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;

/**
 * Checks a caller's key: 1 to 255 printable ASCII characters. Throws
 * `IdempotencyKeyInvalidError` with a message that says what is wrong.
 *
 * @example
 * ```ts
 * validateKey("order-42");  // ok
 * validateKey("a\nb");      // throws IdempotencyKeyInvalidError
 * ```
 */
export function validateKey(key: unknown): asserts key is string {
  if (typeof key !== "string") {
    throw new IdempotencyKeyInvalidError(
      `An idempotency key must be a string, got ${typeOf(key)}`,
    );
  }
  if (key.length === 0)
    throw new IdempotencyKeyInvalidError("An idempotency key must not be empty");
  if (key.length > MAX_KEY_LENGTH) {
    throw new IdempotencyKeyInvalidError(
      `An idempotency key must be at most ${MAX_KEY_LENGTH} characters, got ${key.length}`,
    );
  }
  if (!PRINTABLE_ASCII.test(key)) {
    throw new IdempotencyKeyInvalidError(
      "An idempotency key may hold only printable ASCII characters (space to ~)",
    );
  }
}

/**
 * Checks a scope: any string up to 1024 characters. Stores encode scopes, so
 * no character can collide with another scope or escape a key prefix.
 *
 * @example
 * ```ts
 * validateScope("tenant:42"); // ok
 * ```
 */
export function validateScope(scope: unknown): asserts scope is string {
  if (typeof scope !== "string") {
    throw new IdempotencyKeyInvalidError(
      `A scope must be a string, got ${typeOf(scope)}`,
    );
  }
  if (scope.length > MAX_SCOPE_LENGTH) {
    throw new IdempotencyKeyInvalidError(
      `A scope must be at most ${MAX_SCOPE_LENGTH} characters, got ${scope.length}`,
    );
  }
}

/**
 * Checks an operation name (the record's namespace).
 *
 * @example
 * ```ts
 * validateName("charge"); // ok
 * ```
 */
export function validateName(name: unknown): asserts name is string {
  if (typeof name !== "string" || name.length === 0 || name.length > MAX_KEY_LENGTH) {
    throw new IdempotencyConfigError(
      `An operation name must be a string of 1 to ${MAX_KEY_LENGTH} characters`,
    );
  }
}

/**
 * Derives a key from an operation name, its arguments and the scope:
 * SHA-256 over their canonical encoding, so equal arguments give the same
 * key whatever the order of their object keys.
 *
 * @example
 * ```ts
 * deriveKey("charge", [{ user: "u1", amount: 10 }]); // 64 hex characters
 * ```
 */
export function deriveKey(name: string, args: readonly unknown[], scope = ""): string {
  return hashValue([name, scope, args]);
}

function typeOf(value: unknown): string {
  return value === null ? "null" : typeof value;
}
