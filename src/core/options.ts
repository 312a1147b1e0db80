import type { IdempotencyStore } from "../stores/contract.js";
import { type Codec, defaultCodec } from "./codec.js";
import { type Duration, parseDuration } from "./duration.js";
import { IdempotencyConfigError } from "./errors.js";
import type { EventHandler } from "./events.js";
import { type Logger, silentLogger } from "./logger.js";

/** What a duplicate does when another process is running the operation. */
export type OnBusy = "wait" | "reject";

/**
 * Settings that may be given once (on `Idempotency`, `idempotent()`) and
 * overridden per operation or per call.
 */
export interface ExecutionOptions {
  /**
   * How long a finished record is kept, counted from completion. Duplicates
   * within it replay; after it the key runs again.
   * @default "24h"
   */
  ttl?: Duration | undefined;
  /**
   * How long an owner holds the key without renewing. A crashed owner's key
   * is free again after one lease, not after the whole `ttl`.
   * @default "30s"
   */
  lease?: Duration | undefined;
  /**
   * How often a running owner renews its lease, or `false` for never (then
   * an operation longer than `lease` can be taken over).
   * @default lease / 3
   */
  heartbeat?: Duration | false | undefined;
  /**
   * `"wait"`: a duplicate waits for the running owner's result, up to
   * `waitTimeout`. `"reject"`: it throws `IdempotencyInProgressError` at once.
   * @default "wait"
   */
  onBusy?: OnBusy | undefined;
  /**
   * How long a waiting duplicate waits before `IdempotencyInProgressError`.
   * @default one lease
   */
  waitTimeout?: Duration | undefined;
  /**
   * Marks a failure as final: it is stored and replayed to duplicates, which
   * do not run the operation again (say, "insufficient funds"). Failures are
   * retryable otherwise.
   * @default () => false
   */
  cacheError?: ((error: unknown) => boolean) | undefined;
}

/** Options shared by every entry point. */
export interface IdempotencyOptions extends ExecutionOptions {
  /** Where records live. Required. */
  store: IdempotencyStore;
  /** Encodes results for storage. @default defaultCodec */
  codec?: Codec | undefined;
  /**
   * The largest encoded result stored, in bytes. A larger result is not
   * stored; the record completes with a marker and duplicates get
   * `IdempotencyResultUnavailableError` (never a second execution).
   * @default the store's own limit, else 16 MiB
   */
  maxResultBytes?: number | undefined;
  /** Receives debug, info, warn and error lines. @default silent */
  logger?: Logger | undefined;
  /** Receives every engine event. @default none */
  onEvent?: EventHandler | undefined;
  /**
   * Makes the running operation's context reachable through
   * `getIdempotencyContext()` and `step()` (backed by `AsyncLocalStorage`).
   * Turn it off when operations take `ctx` as their argument (`run`) and
   * nothing reads the accessor: on Node.js 20, `AsyncLocalStorage` puts
   * hooks on every promise, which measured about a fifth of the engine's
   * own time per first execution. Wrapped functions then see `undefined`.
   * @default true
   */
  asyncContext?: boolean | undefined;
}

/** Execution settings with every default applied and durations in ms. */
export interface ExecutionSettings {
  readonly ttlMs: number;
  readonly leaseMs: number;
  readonly heartbeatMs: number;
  readonly onBusy: OnBusy;
  readonly waitTimeoutMs: number;
  readonly cacheError: (error: unknown) => boolean;
}

/** Engine-wide settings with every default applied. */
export interface EngineSettings {
  readonly store: IdempotencyStore;
  readonly codec: Codec;
  readonly maxResultBytes: number;
  readonly logger: Logger;
  readonly onEvent: EventHandler | undefined;
  readonly asyncContext: boolean;
  readonly execution: ExecutionSettings;
}

/** Every default, in one place. */
export const DEFAULTS = {
  ttl: "24h",
  lease: "30s",
  onBusy: "wait",
  maxResultBytes: 16 * 1024 * 1024,
} as const;

const NEVER_CACHE = (): boolean => false;

/** Applies defaults to engine options; throws on anything invalid. */
export function normalizeEngineOptions(options: IdempotencyOptions): EngineSettings {
  if (options === null || typeof options !== "object") {
    throw new IdempotencyConfigError("Options are required, with at least a store");
  }
  const { store } = options;
  if (store === null || typeof store !== "object" || typeof store.claim !== "function") {
    throw new IdempotencyConfigError(
      "A store is required: pass { store: new MemoryStore() } or another store",
    );
  }

  const maxResultBytes =
    options.maxResultBytes ?? store.maxResultBytes ?? DEFAULTS.maxResultBytes;
  if (!(maxResultBytes > 0)) {
    throw new IdempotencyConfigError(
      `maxResultBytes must be positive, got ${maxResultBytes}`,
    );
  }

  return {
    store,
    codec: options.codec ?? defaultCodec,
    maxResultBytes,
    logger: options.logger ?? silentLogger,
    onEvent: options.onEvent,
    asyncContext: options.asyncContext ?? true,
    execution: mergeExecution(undefined, options),
  };
}

/**
 * Applies `overrides` over `base` (or over the defaults), re-deriving the
 * values that depend on the lease unless they were set explicitly.
 */
export function mergeExecution(
  base: ExecutionSettings | undefined,
  overrides: ExecutionOptions,
): ExecutionSettings {
  const ttlMs =
    overrides.ttl === undefined
      ? (base?.ttlMs ?? parseDuration(DEFAULTS.ttl))
      : parseDuration(overrides.ttl, "ttl");
  const leaseMs =
    overrides.lease === undefined
      ? (base?.leaseMs ?? parseDuration(DEFAULTS.lease))
      : parseDuration(overrides.lease, "lease");
  if (leaseMs < 1) throw new IdempotencyConfigError("lease must be at least 1 ms");
  if (ttlMs < 1) throw new IdempotencyConfigError("ttl must be at least 1 ms");

  const leaseChanged = overrides.lease !== undefined;
  let heartbeatMs: number;
  if (overrides.heartbeat === false) heartbeatMs = 0;
  else if (overrides.heartbeat !== undefined)
    heartbeatMs = parseDuration(overrides.heartbeat, "heartbeat");
  else if (base !== undefined && !leaseChanged) heartbeatMs = base.heartbeatMs;
  else heartbeatMs = Math.max(1, Math.floor(leaseMs / 3));
  if (heartbeatMs >= leaseMs) {
    throw new IdempotencyConfigError(
      `heartbeat (${heartbeatMs} ms) must be shorter than the lease (${leaseMs} ms), or false`,
    );
  }

  const onBusy = overrides.onBusy ?? base?.onBusy ?? DEFAULTS.onBusy;
  if (onBusy !== "wait" && onBusy !== "reject") {
    throw new IdempotencyConfigError(
      `onBusy must be "wait" or "reject", got ${String(onBusy)}`,
    );
  }

  let waitTimeoutMs: number;
  if (overrides.waitTimeout !== undefined)
    waitTimeoutMs = parseDuration(overrides.waitTimeout, "waitTimeout");
  else if (base !== undefined && !leaseChanged) waitTimeoutMs = base.waitTimeoutMs;
  else waitTimeoutMs = leaseMs;

  const cacheError = overrides.cacheError ?? base?.cacheError ?? NEVER_CACHE;
  if (typeof cacheError !== "function") {
    throw new IdempotencyConfigError("cacheError must be a function (error) => boolean");
  }

  return { ttlMs, leaseMs, heartbeatMs, onBusy, waitTimeoutMs, cacheError };
}

/** True when `options` overrides any execution setting. */
export function hasExecutionOverrides(options: ExecutionOptions): boolean {
  return (
    options.ttl !== undefined ||
    options.lease !== undefined ||
    options.heartbeat !== undefined ||
    options.onBusy !== undefined ||
    options.waitTimeout !== undefined ||
    options.cacheError !== undefined
  );
}
