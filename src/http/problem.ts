/**
 * `application/problem+json` responses for every refusal the protocol
 * makes. Statuses come from the one table in `core/errors.ts`, so an
 * error code answers with the same status in every adapter.
 */
import {
  HTTP_STATUS_BY_CODE,
  type IdempotencyErrorCode,
  IdempotencyInProgressError,
  isIdempotencyError,
} from "../core/errors.js";

/** A framework-free response: what every adapter knows how to write. */
export interface HttpReply {
  readonly status: number;
  /** Header pairs; a name may repeat. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: Uint8Array;
}

/** The body of a problem response. */
export interface ProblemDetails {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  /** The idemkit error code, when the problem has one. */
  readonly code?: string | undefined;
  /** For a result that cannot be replayed: the status the first response had. */
  readonly originalStatus?: number | undefined;
}

const TITLES: Readonly<Record<string, string>> = {
  IDEMKIT_KEY_INVALID: "Invalid Idempotency-Key header",
  IDEMKIT_KEY_MISSING: "Idempotency-Key header required",
  IDEMKIT_KEY_REUSE: "Idempotency-Key reused for a different request",
  IDEMKIT_IN_PROGRESS: "A request with this Idempotency-Key is in progress",
  IDEMKIT_RESULT_UNAVAILABLE: "The original response cannot be replayed",
  IDEMKIT_STORE: "Idempotency store unavailable",
};

const encoder = new TextEncoder();

/**
 * A problem reply for an idemkit error code, with the status from
 * `HTTP_STATUS_BY_CODE`.
 *
 * @example
 * ```ts
 * problemReply("IDEMKIT_KEY_MISSING", "Send an Idempotency-Key header");
 * ```
 */
export function problemReply(
  code: IdempotencyErrorCode,
  detail: string,
  extra: {
    originalStatus?: number;
    retryAfterMs?: number;
    headers?: [string, string][];
  } = {},
): HttpReply {
  const status = HTTP_STATUS_BY_CODE[code];
  return buildProblem(
    {
      type: `urn:idemkit:problem:${code.slice("IDEMKIT_".length).toLowerCase()}`,
      title: TITLES[code] ?? "Idempotency error",
      status,
      detail,
      code,
      originalStatus: extra.originalStatus,
    },
    retryHeaders(extra.retryAfterMs).concat(extra.headers ?? []),
  );
}

/**
 * 413 for a request body over `maxBodyBytes` (no idemkit error code: the
 * request is refused before the protocol starts).
 *
 * @example
 * ```ts
 * tooLargeReply(1_048_576);
 * ```
 */
export function tooLargeReply(limit: number): HttpReply {
  return buildProblem(
    {
      type: "urn:idemkit:problem:body_too_large",
      title: "Request body too large",
      status: 413,
      detail: `The request body is larger than ${limit} bytes`,
    },
    [],
  );
}

/**
 * The problem reply for an error thrown by the engine: its mapped status,
 * `Retry-After` for an in-progress key (at most `maxRetryAfterMs`), 500 for
 * anything else.
 *
 * @example
 * ```ts
 * errorReply(new IdempotencyKeyReuseError("…")); // status 422
 * ```
 */
export function errorReply(error: unknown, maxRetryAfterMs = Infinity): HttpReply {
  if (error instanceof IdempotencyInProgressError) {
    return problemReply(error.code, error.message, {
      retryAfterMs: Math.min(error.retryAfterMs, maxRetryAfterMs),
    });
  }
  if (isIdempotencyError(error)) return problemReply(error.code, error.message);
  return problemReply("IDEMKIT_ERROR", "The request could not be processed");
}

function buildProblem(problem: ProblemDetails, headers: [string, string][]): HttpReply {
  return {
    status: problem.status,
    headers: [["content-type", "application/problem+json"], ...headers],
    body: encoder.encode(JSON.stringify(problem)),
  };
}

function retryHeaders(retryAfterMs: number | undefined): [string, string][] {
  if (retryAfterMs === undefined) return [];
  return [["retry-after", String(Math.max(1, Math.ceil(retryAfterMs / 1000)))]];
}
