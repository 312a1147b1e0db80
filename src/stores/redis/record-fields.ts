/**
 * The record as a Redis hash, kept to few fields so that the claim, which
 * runs on every call, reads little:
 *
 * | field | meaning |
 * | --- | --- |
 * | `m` | `status token attempts leaseUntil createdAt expiresAt completedAt final`, space-separated (times in epoch ms, `0` for none; `final` is `1` for a failure that replays) |
 * | `fp` | fingerprint |
 * | `r` | encoded result, once completed |
 * | `e` | error as JSON `{ name, message, code }`, once failed |
 * | `s:<name>` | result of the recovery step `<name>` |
 */
import { IdempotencyStoreError } from "../../core/errors.js";
import type { IdempotencyRecord, RecordId, StoredError } from "../../core/record.js";

const META =
  /^(in_progress|completed|failed) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) ([01])$/;

/**
 * Builds a record from an `HGETALL` reply (a flat array of field, value).
 * Returns `undefined` for an empty hash (no record); throws
 * `IdempotencyStoreError` for a hash that is not a record.
 */
export function recordFromHash(
  id: RecordId,
  raw: unknown,
): IdempotencyRecord | undefined {
  const reply = flatHash(raw);
  if (reply === undefined || reply.length % 2 !== 0) throw corrupt(id, "not a hash");
  if (reply.length === 0) return undefined;

  let meta: unknown;
  let fingerprint: unknown;
  let result: unknown;
  let error: unknown;
  for (let i = 0; i < reply.length; i += 2) {
    const name = text(reply[i]);
    if (name === "m") meta = reply[i + 1];
    else if (name === "fp") fingerprint = reply[i + 1];
    else if (name === "r") result = reply[i + 1];
    else if (name === "e") error = reply[i + 1];
  }
  return build(id, meta, fingerprint, result, error, stepsOf(reply));
}

/**
 * Builds a record from the claim script's reply: the values of `m`, `fp`,
 * `r`, `e`, and the whole hash when the steps matter (else empty).
 */
export function recordFromClaim(
  id: RecordId,
  values: unknown,
  hash: unknown,
): IdempotencyRecord {
  if (!Array.isArray(values)) throw corrupt(id, "the claim returned no fields");
  const [meta, fingerprint, result, error] = values;
  return build(id, meta, fingerprint, result, error, stepsOf(hash));
}

/** The `e` field's JSON for a stored error (`final` travels apart). */
export function errorJson(error: StoredError): string {
  return JSON.stringify({ name: error.name, message: error.message, code: error.code });
}

function build(
  id: RecordId,
  meta: unknown,
  fingerprint: unknown,
  result: unknown,
  error: unknown,
  steps: Record<string, string>,
): IdempotencyRecord {
  const metaText = text(meta);
  const match = metaText === undefined ? null : META.exec(metaText);
  if (match === null) throw corrupt(id, "no readable meta field");
  const completedAt = Number(match[7]);
  return {
    namespace: id.namespace,
    scope: id.scope,
    key: id.key,
    fingerprint: text(fingerprint) ?? "",
    status: match[1] as IdempotencyRecord["status"],
    token: Number(match[2]),
    attempts: Number(match[3]),
    leaseUntil: Number(match[4]),
    result: text(result),
    error: errorOf(id, error, match[8] === "1"),
    steps,
    createdAt: Number(match[5]),
    completedAt: completedAt === 0 ? undefined : completedAt,
    expiresAt: Number(match[6]),
  };
}

function stepsOf(raw: unknown): Record<string, string> {
  const steps: Record<string, string> = {};
  const hash = flatHash(raw);
  if (hash === undefined) return steps;
  for (let i = 0; i < hash.length; i += 2) {
    const name = text(hash[i]);
    if (name?.startsWith("s:")) steps[name.slice(2)] = text(hash[i + 1]) ?? "";
  }
  return steps;
}

function errorOf(id: RecordId, raw: unknown, final: boolean): StoredError | undefined {
  const json = text(raw);
  if (json === undefined) return undefined;
  try {
    const parsed = JSON.parse(json) as {
      name?: unknown;
      message?: unknown;
      code?: unknown;
    };
    return {
      name: String(parsed.name),
      message: String(parsed.message),
      code: typeof parsed.code === "string" ? parsed.code : undefined,
      final,
    };
  } catch (cause) {
    throw corrupt(id, "the stored error is not JSON", cause);
  }
}

/**
 * A reply value as text. Clients set to return buffers give `Buffer`s;
 * Redis nil comes as `null` (node-redis) or `null`/`undefined` (ioredis).
 */
export function text(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (value instanceof Uint8Array) return Buffer.from(value).toString("utf8");
  return undefined;
}

/**
 * A hash reply as a flat `[field, value, …]` array: RESP2 gives one
 * already; a node-redis client on RESP3 gives a `Map` or a plain object.
 */
function flatHash(reply: unknown): unknown[] | undefined {
  if (Array.isArray(reply)) return reply;
  if (reply instanceof Map) return [...reply].flat();
  if (reply !== null && typeof reply === "object") return Object.entries(reply).flat();
  return undefined;
}

function corrupt(id: RecordId, why: string, cause?: unknown): IdempotencyStoreError {
  return new IdempotencyStoreError(
    `The Redis record for key "${id.key}" is corrupt: ${why}`,
    cause === undefined ? undefined : { cause },
  );
}
