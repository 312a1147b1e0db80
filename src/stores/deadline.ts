/**
 * A store call under a deadline, shared by the stores that talk to a
 * server (Redis, Postgres): an unreachable or silent server must never hang
 * a caller. One promise and one timer per call, no `Promise.race` and its
 * extra promises: every claim and completion goes through here. A call
 * that times out may still settle later; that outcome is dropped.
 */
import { IdempotencyStoreError } from "../core/errors.js";

/**
 * Runs `run`, rejecting with `IdempotencyStoreError` after `timeoutMs`
 * ("<server> did not answer within … (<what>)") and with `failed(error)`
 * when the call fails (or throws).
 *
 * @example
 * ```ts
 * await withDeadline(() => client.get(key), 2_000, "Redis", "get", (e) => asStoreError(e, "get failed"));
 * ```
 */
export function withDeadline<T>(
  run: () => Promise<T>,
  timeoutMs: number,
  server: string,
  what: string,
  failed: (error: unknown) => Error,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(
        new IdempotencyStoreError(
          `${server} did not answer within ${timeoutMs} ms (${what})`,
        ),
      );
    }, timeoutMs);
    let pending: Promise<T>;
    try {
      pending = run();
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(failed(error));
      },
    );
  });
}
