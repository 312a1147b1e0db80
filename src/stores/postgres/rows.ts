/**
 * Rows to records and back. Postgres `text` and `jsonb` cannot hold the NUL
 * character, which scopes, results and step values may contain, so such
 * text is escaped reversibly: U+0000 → U+0001 U+0002 and U+0001 → U+0001
 * U+0001. Text without either character (nearly all of it) is stored as is,
 * so the table stays readable with plain SQL.
 */
import type { IdempotencyRecord, RecordStatus, StoredError } from "../../core/record.js";
import { reportedStatus } from "../transitions.js";

const NUL = "\u0000";
const SOH = "\u0001";
const STX = "\u0002";

/** Makes `text` storable in a Postgres text or jsonb value. */
export function toPgText(text: string): string {
  if (!text.includes(NUL) && !text.includes(SOH)) return text;
  let out = "";
  for (const char of text) {
    if (char === NUL) out += SOH + STX;
    else if (char === SOH) out += SOH + SOH;
    else out += char;
  }
  return out;
}

/** Undoes {@link toPgText}. */
export function fromPgText(text: string): string {
  if (!text.includes(SOH)) return text;
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const char = text[i] as string;
    if (char !== SOH) {
      out += char;
      continue;
    }
    i++;
    out += text[i] === STX ? NUL : SOH;
  }
  return out;
}

/** A record row as the driver returns it (bigint columns may be strings). */
export interface RecordRow {
  namespace: string;
  scope: string;
  key: string;
  fingerprint: string;
  status: string;
  token: string | number;
  lease_until: string | number;
  attempts: number;
  taken_over: boolean;
  result: string | null;
  error: string | null;
  error_final: boolean;
  steps: Record<string, string> | string;
  created_at: string | number;
  completed_at: string | number | null;
  expires_at: string | number;
  /** The database clock when the statement ran. */
  now_ms: string | number;
  /** Set by the claim statement: true when this claim acquired the record. */
  acquired?: boolean;
}

/** Reads a row into a record, as stored (status not adjusted for expiry). */
export function fromRow(row: RecordRow): IdempotencyRecord {
  const steps = typeof row.steps === "string" ? JSON.parse(row.steps) : row.steps;
  const decodedSteps: Record<string, string> = {};
  for (const [name, value] of Object.entries(steps as Record<string, string>)) {
    decodedSteps[fromPgText(name)] = fromPgText(value);
  }

  return {
    namespace: fromPgText(row.namespace),
    scope: fromPgText(row.scope),
    key: fromPgText(row.key),
    fingerprint: row.fingerprint,
    status: row.status as RecordStatus,
    token: Number(row.token),
    leaseUntil: Number(row.lease_until),
    attempts: Number(row.attempts),
    result: row.result === null ? undefined : fromPgText(row.result),
    error: row.error === null ? undefined : (JSON.parse(row.error) as StoredError),
    steps: decodedSteps,
    createdAt: Number(row.created_at),
    completedAt: row.completed_at === null ? undefined : Number(row.completed_at),
    expiresAt: Number(row.expires_at),
  };
}

/** Reads a row into a record as `get` and `list` report it (`expired` applied). */
export function viewOfRow(row: RecordRow): IdempotencyRecord {
  const record = fromRow(row);
  return { ...record, status: reportedStatus(record, Number(row.now_ms)) };
}

/** The steps map as jsonb text, every name and value escaped. */
export function stepsToJson(steps: Readonly<Record<string, string>>): string {
  const escaped: Record<string, string> = {};
  for (const [name, value] of Object.entries(steps)) {
    escaped[toPgText(name)] = toPgText(value);
  }
  return JSON.stringify(escaped);
}

/** The stored error as text (JSON escapes NUL, so text holds it). */
export function errorToText(error: StoredError): string {
  return JSON.stringify(error);
}
