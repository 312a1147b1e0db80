/**
 * idemkit: make any operation safe to retry.
 *
 * The root entry holds the engine, the wrapper and decorator, key and
 * fingerprint helpers, the errors and the memory store. Stores with drivers
 * and the HTTP layers live in their own subpaths (`idemkit/sqlite`, …), so
 * importing this one pulls in no database driver.
 */
export { canonicalize, hashValue } from "./core/canonical.js";
export { type Codec, defaultCodec } from "./core/codec.js";
export {
  getIdempotencyContext,
  type IdempotencyContext,
  step,
} from "./core/context.js";
export { Idempotent, type IdempotentMethodOptions } from "./core/decorator.js";
export { type Duration, parseDuration } from "./core/duration.js";
export { Idempotency, type Operation, type RunOptions } from "./core/engine.js";
export {
  ERROR_CODES,
  HTTP_STATUS_BY_CODE,
  hasErrorCode,
  httpStatusOf,
  IdempotencyConfigError,
  IdempotencyEncodeError,
  IdempotencyError,
  type IdempotencyErrorCode,
  IdempotencyInProgressError,
  IdempotencyKeyInvalidError,
  IdempotencyKeyMissingError,
  IdempotencyKeyReuseError,
  IdempotencyLeaseLostError,
  IdempotencyResultUnavailableError,
  IdempotencyStepError,
  IdempotencyStoreError,
  isIdempotencyError,
} from "./core/errors.js";
export {
  CHANNELS,
  type EventHandler,
  type IdempotencyEvent,
  type IdempotencyEventType,
} from "./core/events.js";
export { type IdempotentOptions, idempotent } from "./core/idempotent.js";
export {
  deriveKey,
  MAX_KEY_LENGTH,
  MAX_SCOPE_LENGTH,
  validateKey,
  validateScope,
} from "./core/keys.js";
export { type Logger, silentLogger } from "./core/logger.js";
export {
  DEFAULTS,
  type ExecutionOptions,
  type IdempotencyOptions,
  type OnBusy,
} from "./core/options.js";
export type {
  IdempotencyRecord,
  RecordId,
  RecordStatus,
  StoredError,
} from "./core/record.js";
export { openEnvelope, type ResultEnvelope } from "./core/result-envelope.js";
export type { WrapOptions } from "./core/wrap.js";
export type {
  ClaimOutcome,
  ClaimRequest,
  CompleteRequest,
  FailRequest,
  IdempotencyStore,
  ListOptions,
  ListPage,
  StoreStats,
} from "./stores/contract.js";
export { MemoryStore, type MemoryStoreOptions } from "./stores/memory/memory-store.js";
