/**
 * How an execution's outcome is stored and brought back, shared by the
 * engine and the Postgres transactional runner so both store and replay
 * exactly alike.
 */
import type { Codec } from "./codec.js";
import {
  IdempotencyEncodeError,
  IdempotencyResultUnavailableError,
  IdempotencyStoreError,
} from "./errors.js";
import type { Logger } from "./logger.js";
import type { IdempotencyRecord, RecordId, StoredError } from "./record.js";
import { openEnvelope, sealUnavailable, sealValue } from "./result-envelope.js";

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

/**
 * What a duplicate gets from a settled record: the decoded result, or a
 * throw — the cached failure, `IdempotencyResultUnavailableError` for a
 * result that could not be stored, `IdempotencyStoreError` for a record
 * that cannot be read.
 */
export function replayOutcome<T>(record: IdempotencyRecord, codec: Codec): T {
  if (record.status === "failed" && record.error !== undefined) {
    throw reviveStoredError(record.error);
  }

  const envelope = record.result === undefined ? undefined : openEnvelope(record.result);
  if (envelope === undefined) {
    throw new IdempotencyStoreError(
      `The record for key "${record.key}" holds no readable result`,
    );
  }
  if (envelope.kind === "unavailable") {
    throw new IdempotencyResultUnavailableError(
      `The operation for key "${record.key}" already ran, but its result cannot be replayed: ${envelope.reason}`,
    );
  }

  try {
    return codec.decode(envelope.text) as T;
  } catch (error) {
    throw new IdempotencyStoreError(
      `The stored result for key "${record.key}" could not be decoded`,
      {
        cause: error,
      },
    );
  }
}
