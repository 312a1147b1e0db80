/**
 * `idemkit/fetch`: an idempotent `fetch` that keeps one key across
 * retries, so a server speaking the Idempotency-Key protocol runs the
 * request once.
 *
 * @example
 * ```ts
 * import { idempotentFetch } from "idemkit/fetch";
 *
 * const res = await idempotentFetch("http://127.0.0.1:3000/orders", {
 *   method: "POST",
 *   headers: { "content-type": "application/json" },
 *   body: JSON.stringify({ sku: "A1" }),
 * });
 * log.info({ status: res.status, replayed: res.replayed }, "payment sent");
 * ```
 */
export { fullJitter, parseRetryAfter } from "./backoff.js";
export {
  createIdempotentFetch,
  FETCH_DEFAULTS,
  type IdempotentFetchOptions,
  type IdempotentResponse,
  idempotentFetch,
  type RetryInfo,
} from "./fetch.js";
