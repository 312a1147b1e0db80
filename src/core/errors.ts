/**
 * Every error idemkit throws extends {@link IdempotencyError} and carries a
 * stable string `code`. Type guards compare codes rather than classes, so
 * they keep working when two copies of the package meet in one process.
 */

/** Stable codes, one per error class. */
export const ERROR_CODES = {
  base: "IDEMKIT_ERROR",
  keyInvalid: "IDEMKIT_KEY_INVALID",
  keyMissing: "IDEMKIT_KEY_MISSING",
  keyReuse: "IDEMKIT_KEY_REUSE",
  inProgress: "IDEMKIT_IN_PROGRESS",
  resultUnavailable: "IDEMKIT_RESULT_UNAVAILABLE",
  store: "IDEMKIT_STORE",
  config: "IDEMKIT_CONFIG",
  encode: "IDEMKIT_ENCODE",
  leaseLost: "IDEMKIT_LEASE_LOST",
  step: "IDEMKIT_STEP",
} as const;

/** One of the codes in {@link ERROR_CODES}. */
export type IdempotencyErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

/**
 * The one table that maps error codes to HTTP statuses; every HTTP adapter
 * reads it, so a code always answers with the same status.
 */
export const HTTP_STATUS_BY_CODE: Readonly<Record<IdempotencyErrorCode, number>> = {
  IDEMKIT_ERROR: 500,
  IDEMKIT_KEY_INVALID: 400,
  IDEMKIT_KEY_MISSING: 400,
  IDEMKIT_KEY_REUSE: 422,
  IDEMKIT_IN_PROGRESS: 409,
  IDEMKIT_RESULT_UNAVAILABLE: 500,
  IDEMKIT_STORE: 503,
  IDEMKIT_CONFIG: 500,
  IDEMKIT_ENCODE: 500,
  IDEMKIT_LEASE_LOST: 500,
  IDEMKIT_STEP: 500,
};

interface ErrorOptions {
  cause?: unknown;
}

/**
 * Base class of every idemkit error.
 *
 * @example
 * ```ts
 * try {
 *   await chargeOnce(input);
 * } catch (err) {
 *   if (isIdempotencyError(err)) log.warn({ code: err.code }, err.message);
 * }
 * ```
 */
export class IdempotencyError extends Error {
  /** Stable machine-readable code. */
  readonly code: IdempotencyErrorCode;

  constructor(
    message: string,
    code: IdempotencyErrorCode = ERROR_CODES.base,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "IdempotencyError";
    this.code = code;
  }

  /** The HTTP status this error maps to. */
  get status(): number {
    return HTTP_STATUS_BY_CODE[this.code];
  }
}

/**
 * A key is empty, longer than 255 characters, or holds characters outside
 * printable ASCII.
 *
 * @example
 * ```ts
 * await idem.run("", op); // throws IdempotencyKeyInvalidError
 * ```
 */
export class IdempotencyKeyInvalidError extends IdempotencyError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, ERROR_CODES.keyInvalid, options);
    this.name = "IdempotencyKeyInvalidError";
  }
}

/**
 * A key was required and none was given.
 *
 * @example
 * ```ts
 * if (isIdempotencyError(err) && err.code === "IDEMKIT_KEY_MISSING") res.status(400);
 * ```
 */
export class IdempotencyKeyMissingError extends IdempotencyError {
  constructor(message = "An idempotency key is required", options?: ErrorOptions) {
    super(message, ERROR_CODES.keyMissing, options);
    this.name = "IdempotencyKeyMissingError";
  }
}

/**
 * The key is already bound to a different request (its fingerprint differs).
 * The operation does not run.
 *
 * @example
 * ```ts
 * await charge({ amount: 10 }, "k1");
 * await charge({ amount: 99 }, "k1"); // throws IdempotencyKeyReuseError
 * ```
 */
export class IdempotencyKeyReuseError extends IdempotencyError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, ERROR_CODES.keyReuse, options);
    this.name = "IdempotencyKeyReuseError";
  }
}

/**
 * Another caller holds the key and has not finished: thrown at once with
 * `onBusy: "reject"`, or after `waitTimeout` with `onBusy: "wait"`.
 *
 * @example
 * ```ts
 * catch (err) { if (err instanceof IdempotencyInProgressError) retryLater(err.retryAfterMs); }
 * ```
 */
export class IdempotencyInProgressError extends IdempotencyError {
  /** A hint for when to try again, in milliseconds. */
  readonly retryAfterMs: number;

  constructor(message: string, retryAfterMs: number, options?: ErrorOptions) {
    super(message, ERROR_CODES.inProgress, options);
    this.name = "IdempotencyInProgressError";
    this.retryAfterMs = retryAfterMs;
  }
}

/**
 * The operation ran once, but its result could not be stored (it could not be
 * encoded, or it was over the size limit). Duplicates get this error instead
 * of a second execution.
 *
 * @example
 * ```ts
 * catch (err) { if (isIdempotencyError(err) && err.code === "IDEMKIT_RESULT_UNAVAILABLE") ... }
 * ```
 */
export class IdempotencyResultUnavailableError extends IdempotencyError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, ERROR_CODES.resultUnavailable, options);
    this.name = "IdempotencyResultUnavailableError";
  }
}

/**
 * The store could not be reached, timed out, or returned something corrupt.
 * The operation is never run when its claim could not be written.
 *
 * @example
 * ```ts
 * catch (err) { if (err instanceof IdempotencyStoreError) return res.status(503).end(); }
 * ```
 */
export class IdempotencyStoreError extends IdempotencyError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, ERROR_CODES.store, options);
    this.name = "IdempotencyStoreError";
  }
}

/**
 * An option is missing or out of range. Thrown when a factory is called, not
 * on the first request.
 *
 * @example
 * ```ts
 * idempotent(fn, { store, ttl: -1 }); // throws IdempotencyConfigError
 * ```
 */
export class IdempotencyConfigError extends IdempotencyError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, ERROR_CODES.config, options);
    this.name = "IdempotencyConfigError";
  }
}

/**
 * A value could not be encoded by the codec. `path` names the offending
 * place, such as `$.items[2].callback`.
 *
 * @example
 * ```ts
 * defaultCodec.encode({ f() {} }); // throws IdempotencyEncodeError, path "$.f"
 * ```
 */
export class IdempotencyEncodeError extends IdempotencyError {
  /** Where in the value the problem is, in `$.a[0].b` form. */
  readonly path: string;

  constructor(message: string, path: string, options?: ErrorOptions) {
    super(message, ERROR_CODES.encode, options);
    this.name = "IdempotencyEncodeError";
    this.path = path;
  }
}

/**
 * The owner lost its lease (another caller took the key over). Used as the
 * abort reason of `ctx.signal` and thrown by `ctx.step()` for a stale owner.
 *
 * @example
 * ```ts
 * ctx.signal.addEventListener("abort", () => gateway.cancel());
 * ```
 */
export class IdempotencyLeaseLostError extends IdempotencyError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, ERROR_CODES.leaseLost, options);
    this.name = "IdempotencyLeaseLostError";
  }
}

/**
 * A recovery step was misused: a name used twice in one operation, or a
 * step called outside an operation.
 *
 * @example
 * ```ts
 * await ctx.step("charge", a);
 * await ctx.step("charge", b); // throws IdempotencyStepError
 * ```
 */
export class IdempotencyStepError extends IdempotencyError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, ERROR_CODES.step, options);
    this.name = "IdempotencyStepError";
  }
}

/**
 * Wraps anything a store or its driver threw as `IdempotencyStoreError`
 * (kept as is if it already is one), with the original as `cause`.
 *
 * @example
 * ```ts
 * throw asStoreError(err, "Redis failed (claim)"); // "Redis failed (claim): ECONNREFUSED"
 * ```
 */
export function asStoreError(error: unknown, message: string): IdempotencyStoreError {
  if (error instanceof IdempotencyStoreError) return error;
  const detail = error instanceof Error ? error.message : String(error);
  return new IdempotencyStoreError(`${message}: ${detail}`, { cause: error });
}

const KNOWN_CODES = new Set<string>(Object.values(ERROR_CODES));

/**
 * True for any idemkit error, from this copy of the package or another.
 *
 * @example
 * ```ts
 * if (isIdempotencyError(err)) return problem(err.status, err.message);
 * ```
 */
export function isIdempotencyError(value: unknown): value is IdempotencyError {
  if (!(value instanceof Error)) return false;
  const code = (value as { code?: unknown }).code;
  return typeof code === "string" && KNOWN_CODES.has(code);
}

/**
 * True when `value` is an idemkit error with the given code.
 *
 * @example
 * ```ts
 * if (hasErrorCode(err, ERROR_CODES.keyReuse)) res.status(422);
 * ```
 */
export function hasErrorCode(value: unknown, code: IdempotencyErrorCode): boolean {
  return isIdempotencyError(value) && value.code === code;
}

/**
 * The HTTP status for any thrown value: the mapped status for idemkit
 * errors, 500 for everything else.
 *
 * @example
 * ```ts
 * res.status(httpStatusOf(err));
 * ```
 */
export function httpStatusOf(value: unknown): number {
  return isIdempotencyError(value) ? HTTP_STATUS_BY_CODE[value.code] : 500;
}
