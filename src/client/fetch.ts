/**
 * A `fetch` that is safe to retry: one idempotency key per logical
 * request, sent on every attempt, so a server speaking the protocol runs
 * the request once however many attempts reach it.
 *
 * What is retried: network errors (the request may or may not have
 * arrived: the key makes resending safe), 5xx, 409 (the first attempt is
 * still running) and 429. Never other 4xx, and never a replay: an answer
 * marked `Idempotent-Replayed` is the first attempt's final outcome.
 */
import { randomUUID } from "node:crypto";
import { type Duration, parseDuration } from "../core/duration.js";
import { IdempotencyConfigError } from "../core/errors.js";
import { formatIdempotencyKey, parseIdempotencyKey } from "../http/key-header.js";
import { fullJitter, parseRetryAfter, sleep } from "./backoff.js";

/** What `onRetry` is told before each retry. */
export interface RetryInfo {
  /** The attempt that just failed, from 1. */
  readonly attempt: number;
  /** How long the client waits before the next attempt. */
  readonly delayMs: number;
  /** The key every attempt carries. */
  readonly key: string;
  /** The failed attempt's response (5xx, 409, 429), when there was one. */
  readonly response?: Response | undefined;
  /** The network error, when there was no response. */
  readonly error?: unknown;
}

/** Options of {@link createIdempotentFetch} and {@link idempotentFetch}. */
export interface IdempotentFetchOptions {
  /** The `fetch` to call. @default globalThis.fetch */
  fetch?: typeof globalThis.fetch | undefined;
  /** The key; give one to tie several calls to one logical request. @default a random UUID */
  key?: string | undefined;
  /** Retries after the first attempt. @default 3 */
  maxRetries?: number | undefined;
  /** The first backoff ceiling; it doubles per retry. @default "100ms" */
  baseDelay?: Duration | undefined;
  /** The largest backoff ceiling. @default "5s" */
  maxDelay?: Duration | undefined;
  /**
   * The time budget for all attempts and waits together. A retry that
   * would start after it is not made; an attempt still running when it ends
   * is aborted with a `TimeoutError`.
   * @default "60s"
   */
  deadline?: Duration | undefined;
  /** Called before each retry (for logs and metrics). @default none */
  onRetry?: ((info: RetryInfo) => void) | undefined;
}

/** A `Response` that says how it came to be. */
export type IdempotentResponse = Response & {
  /** True when the server replayed a stored response (`Idempotent-Replayed: true`). */
  readonly replayed: boolean;
  /** The key the request carried. */
  readonly idempotencyKey: string;
  /** How many attempts were made, from 1. */
  readonly attempts: number;
};

/** Every client default, in one place. */
export const FETCH_DEFAULTS = {
  maxRetries: 3,
  baseDelay: "100ms",
  maxDelay: "5s",
  deadline: "60s",
} as const;

// Methods the key is added to; safe methods are retried without one.
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS", "TRACE"]);

interface ClientSettings {
  readonly fetch: typeof globalThis.fetch | undefined;
  readonly key: string | undefined;
  readonly maxRetries: number;
  readonly baseMs: number;
  readonly maxMs: number;
  readonly deadlineMs: number;
  readonly onRetry: ((info: RetryInfo) => void) | undefined;
}

/**
 * A configured idempotent `fetch`; per-call options override the factory's.
 *
 * @example
 * ```ts
 * import { createIdempotentFetch } from "idemkit/fetch";
 *
 * const post = createIdempotentFetch({ maxRetries: 5, deadline: "20s" });
 * const res = await post("https://api.example.com/payments", {
 *   method: "POST",
 *   headers: { "content-type": "application/json" },
 *   body: JSON.stringify({ amount: 10 }),
 * });
 * if (res.replayed) log.info("the first attempt had gone through");
 * ```
 */
export function createIdempotentFetch(
  options: IdempotentFetchOptions = {},
): (
  input: string | URL | Request,
  init?: RequestInit,
  overrides?: IdempotentFetchOptions,
) => Promise<IdempotentResponse> {
  const base = normalize(options, undefined);
  return (input, init, overrides) =>
    send(input, init, overrides === undefined ? base : normalize(overrides, base));
}

/**
 * Sends one logical request with retries under one idempotency key.
 *
 * @example
 * ```ts
 * import { idempotentFetch } from "idemkit/fetch";
 *
 * const res = await idempotentFetch("http://127.0.0.1:3000/orders", {
 *   method: "POST",
 *   body: JSON.stringify({ sku: "A1" }),
 * }, { key: "order-7f3a" });
 * ```
 */
export function idempotentFetch(
  input: string | URL | Request,
  init?: RequestInit,
  options: IdempotentFetchOptions = {},
): Promise<IdempotentResponse> {
  return send(input, init, normalize(options, undefined));
}

async function send(
  input: string | URL | Request,
  init: RequestInit | undefined,
  settings: ClientSettings,
): Promise<IdempotentResponse> {
  refuseStreams(init);
  const doFetch = settings.fetch ?? globalThis.fetch;
  const method = (
    init?.method ?? (input instanceof Request ? input.method : "GET")
  ).toUpperCase();
  const headers = new Headers(
    init?.headers ?? (input instanceof Request ? input.headers : undefined),
  );
  // A key the caller put in the headers is the one sent: report that one.
  const given = headers.get("idempotency-key");
  const parsed = given === null ? undefined : parseIdempotencyKey(given);
  const key = parsed?.ok ? parsed.key : (given ?? settings.key ?? randomUUID());
  if (!SAFE_METHODS.has(method) && given === null) {
    headers.set("idempotency-key", formatIdempotencyKey(key));
  }

  const started = Date.now();
  const budget = AbortSignal.timeout(settings.deadlineMs);
  const signal = init?.signal ? either(init.signal, budget) : budget;

  for (let attempt = 1; ; attempt++) {
    // A Request's body can be read once; each attempt sends a fresh copy.
    const request = input instanceof Request ? input.clone() : input;
    let response: Response | undefined;
    let failure: unknown;
    try {
      response = await doFetch(request, { ...init, method, headers, signal });
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      failure = error;
    }

    const retryable = response === undefined || isRetryable(response);
    const wait = retryable ? delayFor(response, attempt, settings) : 0;
    const left = settings.deadlineMs - (Date.now() - started);
    if (!retryable || attempt > settings.maxRetries || wait >= left) {
      if (response === undefined) throw failure;
      return decorate(response, key, attempt);
    }

    settings.onRetry?.({ attempt, delayMs: wait, key, response, error: failure });
    await response?.body?.cancel().catch(() => {});
    await sleep(wait, signal);
  }
}

/** Aborts when either signal does (`AbortSignal.any` is Node 20.3+ only). */
function either(a: AbortSignal, b: AbortSignal): AbortSignal {
  const any = (AbortSignal as { any?: (signals: AbortSignal[]) => AbortSignal }).any;
  if (typeof any === "function") return any([a, b]);

  const controller = new AbortController();
  for (const signal of [a, b]) {
    if (signal.aborted) controller.abort(signal.reason);
    else
      signal.addEventListener("abort", () => controller.abort(signal.reason), {
        once: true,
      });
  }
  return controller.signal;
}

function isRetryable(response: Response): boolean {
  if (response.headers.get("idempotent-replayed") === "true") return false;
  const { status } = response;
  return status >= 500 || status === 409 || status === 429;
}

function delayFor(
  response: Response | undefined,
  attempt: number,
  settings: ClientSettings,
): number {
  const hinted = parseRetryAfter(response?.headers.get("retry-after"));
  return hinted ?? fullJitter(attempt, settings.baseMs, settings.maxMs);
}

function decorate(response: Response, key: string, attempts: number): IdempotentResponse {
  return Object.defineProperties(response, {
    replayed: { value: response.headers.get("idempotent-replayed") === "true" },
    idempotencyKey: { value: key },
    attempts: { value: attempts },
  }) as IdempotentResponse;
}

function refuseStreams(init: RequestInit | undefined): void {
  const body = init?.body;
  const streamed =
    body instanceof ReadableStream ||
    (body !== null &&
      typeof body === "object" &&
      (Symbol.asyncIterator in body ||
        typeof (body as { pipe?: unknown }).pipe === "function"));
  if (streamed) {
    throw new IdempotencyConfigError(
      "idempotentFetch cannot retry a stream body (it can be read only once); send a string, bytes, Blob, FormData or URLSearchParams",
    );
  }
}

function normalize(
  options: IdempotentFetchOptions,
  base: ClientSettings | undefined,
): ClientSettings {
  const maxRetries = options.maxRetries ?? base?.maxRetries ?? FETCH_DEFAULTS.maxRetries;
  if (!Number.isInteger(maxRetries) || maxRetries < 0) {
    throw new IdempotencyConfigError(
      `maxRetries must be a whole number >= 0, got ${maxRetries}`,
    );
  }
  return {
    fetch: options.fetch ?? base?.fetch,
    key: options.key ?? base?.key,
    maxRetries,
    baseMs: ms(options.baseDelay, "baseDelay", base?.baseMs, FETCH_DEFAULTS.baseDelay),
    maxMs: ms(options.maxDelay, "maxDelay", base?.maxMs, FETCH_DEFAULTS.maxDelay),
    deadlineMs: ms(
      options.deadline,
      "deadline",
      base?.deadlineMs,
      FETCH_DEFAULTS.deadline,
    ),
    onRetry: options.onRetry ?? base?.onRetry,
  };
}

function ms(
  value: Duration | undefined,
  label: string,
  inherited: number | undefined,
  fallback: Duration,
): number {
  if (value !== undefined) return parseDuration(value, label);
  return inherited ?? parseDuration(fallback, label);
}
