/**
 * What is stored for a response, and how it is replayed.
 *
 * The stored value is a plain object (status, allow-listed headers, body
 * bytes), never a framework's response object: duplicates in one process
 * share the first caller's result, so each one builds its own reply from it.
 * A response that cannot be replayed (too large, streamed) is stored as a
 * marker with its status, so a duplicate learns that the request ran
 * without running it again.
 */
import type { HttpSettings } from "./options.js";
import { type HttpReply, problemReply } from "./problem.js";

/** A response as the adapter saw it leave. */
export interface CapturedResponse {
  readonly status: number;
  /** Every header the response had; only allow-listed ones are kept. */
  readonly headers: Iterable<readonly [string, string | number | readonly string[]]>;
  /**
   * The body bytes, or `undefined` when they could not be recorded in full
   * (over the limit, a stream, the connection closed).
   */
  readonly body: Uint8Array | undefined;
  /** Why `body` is missing; said to duplicates. */
  readonly unavailableReason?: string | undefined;
}

/** The stored form of a response. */
export type StoredResponse =
  | {
      readonly status: number;
      readonly headers: ReadonlyArray<readonly [string, string]>;
      readonly body: Uint8Array;
    }
  | { readonly status: number; readonly unavailable: string };

/** The header a replay carries. */
export const REPLAYED_HEADER = "idempotent-replayed";

/**
 * Turns a captured response into what is stored: allow-listed headers
 * only, and a marker instead of a body over `maxResponseBytes`.
 */
export function toStored(
  captured: CapturedResponse,
  settings: HttpSettings,
): StoredResponse {
  const { status, body } = captured;
  if (body === undefined) {
    return {
      status,
      unavailable: captured.unavailableReason ?? "The body was not recorded",
    };
  }
  if (body.length > settings.maxResponseBytes) {
    return {
      status,
      unavailable: `The response body was larger than ${settings.maxResponseBytes} bytes`,
    };
  }

  const headers: [string, string][] = [];
  for (const [rawName, value] of captured.headers) {
    const name = rawName.toLowerCase();
    if (!settings.replayHeaders.has(name)) continue;
    if (Array.isArray(value)) for (const v of value) headers.push([name, String(v)]);
    else headers.push([name, String(value)]);
  }
  return { status, headers, body };
}

/**
 * The reply a duplicate gets: the stored response plus
 * `Idempotent-Replayed: true`, or a problem response when the original
 * cannot be replayed. `origin` set (a CORS request) exposes the header to
 * scripts. `kept` false (a result shared in process but not stored, such
 * as a 5xx) leaves the replay mark off, so clients still retry it.
 */
export function replayOf(
  stored: StoredResponse,
  origin: boolean,
  kept = true,
): HttpReply {
  const extra: [string, string][] = [];
  if (kept) extra.push([REPLAYED_HEADER, "true"]);
  if (kept && origin)
    extra.push(["access-control-expose-headers", "Idempotent-Replayed"]);

  if ("unavailable" in stored) {
    return problemReply(
      "IDEMKIT_RESULT_UNAVAILABLE",
      `The request already ran and answered ${stored.status}, but its response cannot be replayed: ${stored.unavailable}`,
      { originalStatus: stored.status, headers: extra },
    );
  }
  return {
    status: stored.status,
    headers: [...stored.headers, ...extra],
    body: stored.body,
  };
}

/** True when a value read back from the store has the stored-response shape. */
export function isStoredResponse(value: unknown): value is StoredResponse {
  if (value === null || typeof value !== "object") return false;
  const v = value as Record<string, unknown>;
  if (typeof v.status !== "number") return false;
  return typeof v.unavailable === "string" || v.body instanceof Uint8Array;
}
