/**
 * How a transactional execution ends when it does not run the operation
 * itself: a replay of the committed record, decoded through the engine's
 * codec and result envelope, and the small helpers the runner shares.
 */
import type { Codec } from "../../core/codec.js";
import { IdempotencyStoreError } from "../../core/errors.js";
import type { IdempotencyEvent } from "../../core/events.js";
import { replayOutcome } from "../../core/outcomes.js";
import type { IdempotencyRecord, RecordId } from "../../core/record.js";
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
  emitEvent({
    type: "replayed",
    id,
    replayedError: record.status === "failed" || undefined,
  });
  try {
    return replayOutcome<T>(record, codec);
  } catch (error) {
    // An unreadable record is the store's fault; a cached failure or an
    // unavailable result is the operation's outcome, passed on as is.
    if (error instanceof IdempotencyStoreError) throw error;
    throw new OperationFailed(error);
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
