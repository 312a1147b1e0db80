/**
 * How long to wait before a retry: the server's `Retry-After` when it gave
 * one, else exponential backoff with full jitter (a uniform pick between
 * zero and the capped exponential), which spreads retries of many clients
 * that failed together instead of sending them back in waves.
 */

/**
 * The delay before retry number `retry` (1 for the first retry): uniform in
 * `[0, min(maxMs, baseMs * 2^(retry-1)))`.
 *
 * @example
 * ```ts
 * fullJitter(3, 100, 5_000); // somewhere in [0, 400) ms
 * ```
 */
export function fullJitter(
  retry: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, retry - 1));
  return Math.floor(random() * ceiling);
}

/**
 * A `Retry-After` value in milliseconds from `now`: delay-seconds or an
 * HTTP date; `undefined` when absent or malformed. A date in the past is 0.
 *
 * @example
 * ```ts
 * parseRetryAfter("2");                              // 2000
 * parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT");  // ms until then, or 0
 * ```
 */
export function parseRetryAfter(
  value: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;

  // Only the HTTP date forms: a letter first, so "1.5" or "-3" are not dates.
  if (!/^[A-Za-z]/.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/**
 * Waits `ms`, or rejects with the signal's reason when it aborts first.
 */
export function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
