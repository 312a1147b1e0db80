import type { IdempotencyRecord, RecordStatus, StoredError } from "../../core/record.js";

/** A row of `idemkit_records` as better-sqlite3 returns it. */
export interface RecordRow {
  namespace: string;
  scope: string;
  key: string;
  fingerprint: string;
  status: string;
  token: number;
  lease_until: number;
  attempts: number;
  result: string | null;
  error: string | null;
  steps: string;
  created_at: number;
  completed_at: number | null;
  expires_at: number;
}

/** Reads a row into a record. */
export function fromRow(row: RecordRow): IdempotencyRecord {
  return {
    namespace: row.namespace,
    scope: row.scope,
    key: row.key,
    fingerprint: row.fingerprint,
    status: row.status as RecordStatus,
    token: row.token,
    leaseUntil: row.lease_until,
    attempts: row.attempts,
    result: row.result ?? undefined,
    error: row.error === null ? undefined : (JSON.parse(row.error) as StoredError),
    steps: JSON.parse(row.steps) as Record<string, string>,
    createdAt: row.created_at,
    completedAt: row.completed_at ?? undefined,
    expiresAt: row.expires_at,
  };
}

/** Named parameters for the upsert statement. */
export function toRow(record: IdempotencyRecord): Record<string, string | number | null> {
  return {
    namespace: record.namespace,
    scope: record.scope,
    key: record.key,
    fingerprint: record.fingerprint,
    status: record.status,
    token: record.token,
    lease_until: record.leaseUntil,
    attempts: record.attempts,
    result: record.result ?? null,
    error: record.error === undefined ? null : JSON.stringify(record.error),
    steps: JSON.stringify(record.steps),
    created_at: record.createdAt,
    completed_at: record.completedAt ?? null,
    expires_at: record.expiresAt,
  };
}
