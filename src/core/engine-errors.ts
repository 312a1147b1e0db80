/**
 * The errors the engine raises about a key, with their messages in one
 * place so every entry point words them alike.
 */
import type { IdempotencyStore } from "../stores/contract.js";
import {
  asStoreError,
  IdempotencyInProgressError,
  IdempotencyKeyReuseError,
  type IdempotencyStoreError,
} from "./errors.js";
import type { RecordId } from "./record.js";

/** A claim that could not be written: the operation does not run. */
export function claimError(
  store: IdempotencyStore,
  id: RecordId,
  error: unknown,
): IdempotencyStoreError {
  return asStoreError(
    error,
    `Could not claim key "${id.key}" in the ${store.kind} store`,
  );
}

/** The key is bound to another request. */
export function reuseError(id: RecordId): IdempotencyKeyReuseError {
  return new IdempotencyKeyReuseError(
    `Key "${id.key}" was already used for a different request; use a new key for a new request`,
  );
}

/** Another caller holds the key. */
export function inProgressError(
  id: RecordId,
  retryAfterMs: number,
): IdempotencyInProgressError {
  return new IdempotencyInProgressError(
    `An operation with key "${id.key}" is still in progress; retry in about ${retryAfterMs} ms`,
    retryAfterMs,
  );
}
