/**
 * How an execution's outcome is stored and brought back, shared by the
 * engine and the Postgres transactional runner so both store and replay
 * exactly alike.
 */
import type { Codec } from "./codec.js";
import { IdempotencyEncodeError } from "./errors.js";
import type { Logger } from "./logger.js";
import type { RecordId, StoredError } from "./record.js";
import { sealUnavailable, sealValue } from "./result-envelope.js";

/**
 * Encodes a result into its envelope. A result that cannot be stored (the
 * codec refuses it, or it is over `maxBytes`) becomes a marker with the
 * reason, so duplicates learn why instead of running again.
 */
export function sealResult(
  codec: Codec,
  value: unknown,
  maxBytes: number,
  logger: Logger,
  id: RecordId,
): string {
  let sealed: string;
  try {
    sealed = sealValue(codec.encode(value));
  } catch (error) {
    const reason =
      error instanceof IdempotencyEncodeError
        ? error.message
        : `Encoding failed: ${String(error)}`;
    logger.warn({ id, err: error }, `idemkit: result not stored: ${reason}`);
    return sealUnavailable(reason);
  }

  // Length in UTF-16 units bounds the UTF-8 size from below; only measure
  // bytes when the cheap bound does not settle it.
  if (sealed.length * 3 > maxBytes && Buffer.byteLength(sealed) > maxBytes) {
    const reason = `The result is larger than ${maxBytes} bytes`;
    logger.warn({ id }, `idemkit: result not stored: ${reason}`);
    return sealUnavailable(reason);
  }
  return sealed;
}

/** The stored form of a thrown value: name, message, code and finality. */
export function toStoredError(error: unknown, final: boolean): StoredError {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return {
      name: error.name,
      message: error.message,
      code: typeof code === "string" ? code : undefined,
      final,
    };
  }
  return { name: "Error", message: String(error), final };
}

/**
 * A cached failure, rethrown: an `Error` with the original name, message
 * and code, and `replayed: true`.
 */
export function reviveStoredError(stored: StoredError): Error {
  const error = new Error(stored.message) as Error & {
    code?: string;
    replayed?: boolean;
  };
  error.name = stored.name;
  if (stored.code !== undefined) error.code = stored.code;
  error.replayed = true;
  return error;
}
