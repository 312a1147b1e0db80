/**
 * How a transactional execution ends when it does not run the operation
 * itself: a replay of the committed record, decoded through the engine's
 * codec and result envelope, and the small helpers the runner shares.
 */
import type { Codec } from "../../core/codec.js";
import {
  IdempotencyResultUnavailableError,
  IdempotencyStoreError,
} from "../../core/errors.js";
import type { IdempotencyEvent } from "../../core/events.js";
import { reviveStoredError as reviveError } from "../../core/outcomes.js";
import type { IdempotencyRecord, RecordId } from "../../core/record.js";
import { openEnvelope } from "../../core/result-envelope.js";
import { asPgStoreError } from "./client.js";

/** Replays a settled record: its value, or its cached failure rethrown. */
export function replay<T>(
  codec: Codec,
  emitEvent: (event: Omit<IdempotencyEvent, "store">) => void,
  record: IdempotencyRecord,
): T {
  const id: RecordId = {
    namespace: record.namespace,
    scope: record.scope,
    key: record.key,
  };
  if (record.status === "failed" && record.error !== undefined) {
    emitEvent({ type: "replayed", id, replayedError: true });
    throw new OperationFailed(reviveError(record.error));
  }
  const envelope = record.result === undefined ? undefined : openEnvelope(record.result);
  if (envelope === undefined) {
    throw new IdempotencyStoreError(
      `The record for key "${id.key}" holds no readable result`,
    );
  }
  emitEvent({ type: "replayed", id });
  if (envelope.kind === "unavailable") {
    throw new OperationFailed(
      new IdempotencyResultUnavailableError(
        `The operation for key "${id.key}" already ran, but its result cannot be replayed: ${envelope.reason}`,
      ),
    );
  }
  try {
    return codec.decode(envelope.text) as T;
  } catch (error) {
    throw new IdempotencyStoreError(
      `The stored result for key "${id.key}" could not be decoded`,
      {
        cause: error,
      },
    );
  }
}

/** Carries the operation's own error (or a replayed one) past the store-error wrapping. */
export class OperationFailed {
  constructor(readonly error: unknown) {}
}

/** Awaits `promise`, failing with `IdempotencyStoreError` after `ms`; wraps driver errors. */
export async function timed<V>(
  promise: Promise<V>,
  ms: number,
  what: string,
): Promise<V> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new IdempotencyStoreError(`Postgres did not answer within ${ms} ms (${what})`),
        ),
      ms,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } catch (error) {
    throw asPgStoreError(error, what);
  } finally {
    clearTimeout(timer);
  }
}
