/**
 * The record as a Redis hash. Short field names keep every reply small:
 *
 * | field | meaning |
 * | --- | --- |
 * | `st` | status: `in_progress`, `completed` or `failed` |
 * | `tk` | fencing token (decimal integer) |
 * | `fp` | fingerprint |
 * | `lu` | lease end, epoch ms (`0` once settled) |
 * | `at` | attempts |
 * | `r` | encoded result, once completed |
 * | `e`, `fin` | error as JSON `{ name, message, code }`, and `1` when final |
 * | `ca`, `co`, `ex` | created, completed, expires at (epoch ms) |
 * | `s:<name>` | result of the recovery step `<name>` |
 */
import { IdempotencyStoreError } from "../../core/errors.js";
import type { IdempotencyRecord, RecordId, StoredError } from "../../core/record.js";

const STATUSES = new Set(["in_progress", "completed", "failed"]);

/**
 * Builds a record from an `HGETALL` reply (a flat array of field, value).
 * Returns `undefined` for an empty hash (no record); throws
 * `IdempotencyStoreError` for a hash that is not a record.
 */
export function recordFromFields(
  id: RecordId,
  reply: unknown,
): IdempotencyRecord | undefined {
  if (!Array.isArray(reply) || reply.length % 2 !== 0) throw corrupt(id, "not a hash");
  if (reply.length === 0) return undefined;

  const fields = new Map<string, string>();
  const steps: Record<string, string> = {};
  for (let i = 0; i < reply.length; i += 2) {
    const name = String(reply[i]);
    const value = String(reply[i + 1]);
    if (name.startsWith("s:")) steps[name.slice(2)] = value;
    else fields.set(name, value);
  }

  const status = fields.get("st");
  if (status === undefined || !STATUSES.has(status)) throw corrupt(id, "no status");
  const number = (name: string): number => {
    const value = Number(fields.get(name));
    if (!Number.isFinite(value)) throw corrupt(id, `field ${name} is not a number`);
    return value;
  };
  const completedAt = fields.get("co");
  return {
    ...id,
    fingerprint: fields.get("fp") ?? "",
    status: status as IdempotencyRecord["status"],
    token: number("tk"),
    leaseUntil: number("lu"),
    attempts: number("at"),
    result: fields.get("r"),
    error: errorOf(id, fields.get("e"), fields.get("fin")),
    steps,
    createdAt: number("ca"),
    completedAt: completedAt === undefined ? undefined : Number(completedAt),
    expiresAt: number("ex"),
  };
}

/** The `e` field's JSON for a stored error (`final` travels apart). */
export function errorJson(error: StoredError): string {
  return JSON.stringify({ name: error.name, message: error.message, code: error.code });
}

function errorOf(
  id: RecordId,
  json: string | undefined,
  final: string | undefined,
): StoredError | undefined {
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
      final: final === "1",
    };
  } catch (error) {
    throw corrupt(id, "the stored error is not JSON", error);
  }
}

function corrupt(id: RecordId, why: string, cause?: unknown): IdempotencyStoreError {
  return new IdempotencyStoreError(
    `The Redis record for key "${id.key}" is corrupt: ${why}`,
    cause === undefined ? undefined : { cause },
  );
}
