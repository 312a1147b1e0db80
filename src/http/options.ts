import { type Duration, parseDuration } from "../core/duration.js";
import { IdempotencyConfigError } from "../core/errors.js";
import type { EventHandler } from "../core/events.js";
import { type Logger, silentLogger } from "../core/logger.js";
import type { IdempotencyStore } from "../stores/contract.js";

/** What the fingerprint and scope functions see of a request. */
export interface RequestView {
  /** Upper-case method, such as `"POST"`. */
  readonly method: string;
  /** Path and query, such as `"/orders?draft=1"`. */
  readonly url: string;
  /** A header's value, or `undefined`; the name is lower-case. */
  header(name: string): string | undefined;
}

/** Options of the HTTP protocol, shared by `withIdempotency` and every adapter. */
export interface HttpIdempotencyOptions {
  /** Where records live. Required. */
  store: IdempotencyStore;
  /**
   * The records' namespace; two APIs sharing a store keep their keys apart
   * by giving different names.
   * @default "http"
   */
  name?: string | undefined;
  /** Methods the protocol applies to; others pass through untouched. @default ["POST", "PATCH"] */
  methods?: readonly string[] | undefined;
  /** Answer 400 when a request of those methods has no key. @default false */
  required?: boolean | undefined;
  /**
   * Request headers whose values join the fingerprint (say, `content-type`
   * or an API version header). Ignored when `fingerprint` is given.
   * @default []
   */
  fingerprintHeaders?: readonly string[] | undefined;
  /**
   * Replaces the fingerprint: any string that is equal for requests that
   * mean the same thing. `body` is the request body's bytes, or its parsed
   * value when a framework parsed it already.
   * @default method + path + query + hash of the body (JSON canonicalised)
   */
  fingerprint?: ((request: RequestView, body: unknown) => string) | undefined;
  /**
   * Who the key belongs to: a user or tenant id. Keys never match across
   * scopes, so one principal never receives another's response.
   * @default a hash of the `Authorization` header and of `scopeCookie`
   */
  scope?: ((request: RequestView) => string | Promise<string>) | undefined;
  /** A cookie (say, a session id) whose hash joins the default scope. @default none */
  scopeCookie?: string | undefined;
  /**
   * Response headers kept and replayed. `Set-Cookie` and authentication
   * headers are never kept, even when listed.
   * @default DEFAULT_REPLAY_HEADERS
   */
  replayHeaders?: readonly string[] | undefined;
  /**
   * Which response statuses are stored for replay; a status it declines is
   * returned but not stored, and the next retry runs the handler again.
   * @default every status except 5xx, 408 and 429
   */
  storeStatus?: ((status: number) => boolean) | undefined;
  /** Request bodies over this many bytes get 413 before anything runs. @default 1 MiB */
  maxBodyBytes?: number | undefined;
  /**
   * Responses over this many bytes are sent but not stored; duplicates get a
   * problem response saying so, and the handler does not run again.
   * @default 1 MiB
   */
  maxResponseBytes?: number | undefined;
  /**
   * The `Retry-After` hint on a 409 (same key in flight); never more than
   * the holder's remaining lease.
   * @default "1s"
   */
  busyRetryAfter?: Duration | undefined;
  /** How long a stored response is replayed. @default "24h" */
  ttl?: Duration | undefined;
  /** How long a running request holds its key without renewing. @default "30s" */
  lease?: Duration | undefined;
  /** Receives warnings (unstored responses, store errors). @default silent */
  logger?: Logger | undefined;
  /** Receives every engine event. @default none */
  onEvent?: EventHandler | undefined;
}

/**
 * Response headers replayed by default: the ones that describe the body or
 * the created resource. Cookies and authentication headers never are.
 */
export const DEFAULT_REPLAY_HEADERS: readonly string[] = [
  "cache-control",
  "content-encoding",
  "content-language",
  "content-location",
  "content-type",
  "etag",
  "expires",
  "last-modified",
  "link",
  "location",
  "vary",
];

// Never stored, whatever the allow-list says: they carry credentials or
// session state that belongs to one response only.
const NEVER_REPLAYED = new Set([
  "set-cookie",
  "set-cookie2",
  "authorization",
  "proxy-authorization",
  "www-authenticate",
  "proxy-authenticate",
  "idempotent-replayed",
]);

/** Every HTTP default, in one place. */
export const HTTP_DEFAULTS = {
  name: "http",
  methods: ["POST", "PATCH"],
  required: false,
  maxBodyBytes: 1024 * 1024,
  maxResponseBytes: 1024 * 1024,
  busyRetryAfter: "1s",
} as const;

/** The HTTP settings with every default applied. */
export interface HttpSettings {
  readonly name: string;
  readonly methods: ReadonlySet<string>;
  readonly required: boolean;
  readonly fingerprintHeaders: readonly string[];
  readonly fingerprint: ((request: RequestView, body: unknown) => string) | undefined;
  readonly scope: ((request: RequestView) => string | Promise<string>) | undefined;
  readonly scopeCookie: string | undefined;
  readonly replayHeaders: ReadonlySet<string>;
  readonly storeStatus: (status: number) => boolean;
  readonly maxBodyBytes: number;
  readonly maxResponseBytes: number;
  readonly busyRetryAfterMs: number;
  readonly logger: Logger;
}

/** Final by default: a client may retry these, so they are never pinned to a key. */
export function isStorableStatus(status: number): boolean {
  return status < 500 && status !== 408 && status !== 429;
}

/** Applies defaults; throws `IdempotencyConfigError` on anything invalid. */
export function normalizeHttpOptions(options: HttpIdempotencyOptions): HttpSettings {
  if (options === null || typeof options !== "object") {
    throw new IdempotencyConfigError("Options are required, with at least a store");
  }

  const maxBodyBytes = options.maxBodyBytes ?? HTTP_DEFAULTS.maxBodyBytes;
  const maxResponseBytes = options.maxResponseBytes ?? HTTP_DEFAULTS.maxResponseBytes;
  for (const [label, value] of [
    ["maxBodyBytes", maxBodyBytes],
    ["maxResponseBytes", maxResponseBytes],
  ] as const) {
    if (!Number.isInteger(value) || value < 0) {
      throw new IdempotencyConfigError(
        `${label} must be a whole number >= 0, got ${value}`,
      );
    }
  }

  for (const hook of ["fingerprint", "scope", "storeStatus"] as const) {
    const value = options[hook];
    if (value !== undefined && typeof value !== "function") {
      throw new IdempotencyConfigError(`${hook} must be a function`);
    }
  }

  const methods = (options.methods ?? HTTP_DEFAULTS.methods).map((m) => m.toUpperCase());
  const replayHeaders = (options.replayHeaders ?? DEFAULT_REPLAY_HEADERS)
    .map((h) => h.toLowerCase())
    .filter((h) => !NEVER_REPLAYED.has(h));

  return {
    name: options.name ?? HTTP_DEFAULTS.name,
    methods: new Set(methods),
    required: options.required ?? HTTP_DEFAULTS.required,
    fingerprintHeaders: (options.fingerprintHeaders ?? []).map((h) => h.toLowerCase()),
    fingerprint: options.fingerprint,
    scope: options.scope,
    scopeCookie: options.scopeCookie,
    replayHeaders: new Set(replayHeaders),
    storeStatus: options.storeStatus ?? isStorableStatus,
    maxBodyBytes,
    maxResponseBytes,
    busyRetryAfterMs: parseDuration(
      options.busyRetryAfter ?? HTTP_DEFAULTS.busyRetryAfter,
      "busyRetryAfter",
    ),
    logger: options.logger ?? silentLogger,
  };
}
