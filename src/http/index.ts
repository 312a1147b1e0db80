/**
 * `idemkit/http`: the Idempotency-Key protocol on Web `Request`/`Response`,
 * and the pieces the framework adapters are built from.
 *
 * @example
 * ```ts
 * import { withIdempotency } from "idemkit/http";
 * import { MemoryStore } from "idemkit";
 *
 * const handler = withIdempotency(async (req) => Response.json({ ok: true }), {
 *   store: new MemoryStore(),
 * });
 * ```
 */
export {
  type CapturedResponse,
  REPLAYED_HEADER,
  type StoredResponse,
} from "./captured.js";
export {
  formatIdempotencyKey,
  IDEMPOTENCY_KEY_HEADER,
  type ParsedKey,
  parseIdempotencyKey,
} from "./key-header.js";
export {
  DEFAULT_REPLAY_HEADERS,
  HTTP_DEFAULTS,
  type HttpIdempotencyOptions,
  type HttpSettings,
  isStorableStatus,
  type RequestView,
} from "./options.js";
export { type HttpReply, type ProblemDetails, problemReply } from "./problem.js";
export { IdempotencyProtocol, type Inspection, type Step } from "./protocol.js";
export {
  captureWebResponse,
  readLimited,
  toWebResponse,
  type WebHandler,
  webRequestView,
  withIdempotency,
} from "./web.js";
