/**
 * The record state machine as pure functions, for stores that decide in
 * JavaScript (memory, SQLite). Redis and Postgres run the same rules inside
 * a Lua script and a SQL statement; the contract suite holds them all to it.
 */
import {
  type IdempotencyRecord,
  type RecordStatus,
  updateRecord,
} from "../core/record.js";
import type { ClaimOutcome, ClaimRequest } from "./contract.js";

/**
 * The next fencing token: the store clock in microseconds, but never less
 * than the previous token + 1. Tokens therefore grow on every claim of one
 * record, and a record created again after expiry starts above any token a
 * stale owner of the old record could hold.
 */
export function nextToken(previous: number, nowMs: number): number {
  return Math.max(previous + 1, nowMs * 1000);
}

// Every fresh record starts with this one frozen object instead of a new
// `{}`: a store keeps its records for the whole retention, and one object
// less per record is one allocation less for the collector to carry. Steps
// are only ever added by copying (see `saveStep` in each store).
const NO_STEPS: Readonly<Record<string, string>> = Object.freeze({});

/** True when the record is past retention. A live lease keeps it alive. */
export function isExpired(record: IdempotencyRecord, nowMs: number): boolean {
  if (nowMs < record.expiresAt) return false;
  return !(record.status === "in_progress" && nowMs < record.leaseUntil);
}

/** The status to report: `expired` for a record past expiry. */
export function reportedStatus(record: IdempotencyRecord, nowMs: number): RecordStatus {
  return isExpired(record, nowMs) ? "expired" : record.status;
}

/**
 * Decides a claim against the current record (or none). Returns the outcome
 * and, when the claim acquires, the record to write.
 *
 * The order matters. A fingerprint mismatch is reported before the status is
 * looked at, so a different request sent while the first is still running is
 * told "reused", not "in progress".
 */
export function decideClaim(
  current: IdempotencyRecord | undefined,
  request: ClaimRequest,
  nowMs: number,
): ClaimOutcome {
  if (current === undefined || isExpired(current, nowMs)) {
    const record: IdempotencyRecord = {
      namespace: request.id.namespace,
      scope: request.id.scope,
      key: request.id.key,
      fingerprint: request.fingerprint,
      status: "in_progress",
      token: nextToken(current?.token ?? 0, nowMs),
      leaseUntil: nowMs + request.leaseMs,
      attempts: 1,
      // Every field, in `updateRecord`'s order: records keep one shape
      // through their life, so the code that reads them stays monomorphic.
      result: undefined,
      error: undefined,
      steps: NO_STEPS,
      createdAt: nowMs,
      completedAt: undefined,
      expiresAt: nowMs + Math.max(request.ttlMs, request.leaseMs),
    };
    return { kind: "acquired", record, takenOver: false };
  }

  if (current.fingerprint !== request.fingerprint) {
    return { kind: "mismatch", record: current };
  }

  if (current.status === "completed") return { kind: "replay", record: current };
  if (current.status === "failed" && current.error?.final === true) {
    return { kind: "replay", record: current };
  }
  if (current.status === "in_progress" && nowMs < current.leaseUntil) {
    return { kind: "busy", record: current };
  }

  // A retryable failure, or an owner whose lease ran out: claim it again,
  // keeping the finished steps so a take-over does not repeat them.
  const takenOver = current.status === "in_progress";
  const record = updateRecord(current, {
    status: "in_progress",
    token: nextToken(current.token, nowMs),
    leaseUntil: nowMs + request.leaseMs,
    attempts: current.attempts + 1,
    result: undefined,
    error: undefined,
    completedAt: undefined,
    expiresAt: Math.max(current.expiresAt, nowMs + request.leaseMs),
  });
  return { kind: "acquired", record, takenOver };
}

/** True when a fenced write by `token` may change `current`. */
export function holdsToken(
  current: IdempotencyRecord | undefined,
  token: number,
): current is IdempotencyRecord {
  return (
    current !== undefined && current.status === "in_progress" && current.token === token
  );
}
