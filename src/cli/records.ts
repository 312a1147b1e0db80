/**
 * What the record commands share: the `--store` flag, opening and closing
 * the store around a command, paging through `list`, and one record's
 * readable form.
 */
import type { IdempotencyRecord, RecordStatus } from "../core/record.js";
import { openEnvelope } from "../core/result-envelope.js";
import type { IdempotencyStore, ListOptions } from "../stores/contract.js";
import type { FlagSpec } from "./args.js";
import { CliUsageError } from "./errors.js";
import { clip, Progress, shortDuration, shortSize, table } from "./format.js";
import { DEFAULT_STORE_URL, openStore } from "./store-url.js";

/** The `--store` flag every command that reads records has. */
export const STORE_FLAG: FlagSpec = {
  type: "string",
  value: "URL",
  description: "memory:, sqlite:PATH, redis://… or postgres://…",
  env: "IDEMKIT_STORE",
  default: DEFAULT_STORE_URL,
};

/** The `--json` flag. */
export const JSON_FLAG: FlagSpec = {
  type: "boolean",
  description: "Print JSON instead of a table, for scripts",
};

/**
 * Opens the store, runs `fn`, and closes the store whatever happens.
 *
 * @example
 * ```ts
 * const stats = await withStore("sqlite:./idemkit.db", (store) => store.stats());
 * ```
 */
export async function withStore<T>(
  url: string | undefined,
  fn: (store: IdempotencyStore) => Promise<T>,
): Promise<T> {
  const opened = await openStore(url ?? DEFAULT_STORE_URL);
  try {
    return await fn(opened.store);
  } finally {
    await opened.close();
  }
}

const STATUSES: readonly RecordStatus[] = [
  "in_progress",
  "completed",
  "failed",
  "expired",
];

/** Checks a `--status` value. */
export function parseStatus(value: string | undefined): RecordStatus | undefined {
  if (value === undefined) return undefined;
  const status = value.replace("-", "_") as RecordStatus;
  if (!STATUSES.includes(status)) {
    throw new CliUsageError(
      `--status must be one of ${STATUSES.join(", ")}, got "${value}"`,
    );
  }
  return status;
}

/**
 * Reads up to `limit` records page by page, showing progress on a
 * terminal. `limit` undefined reads them all.
 */
export async function collect(
  store: IdempotencyStore,
  filter: Omit<ListOptions, "limit" | "cursor">,
  limit: number | undefined,
  keep: (record: IdempotencyRecord) => boolean = () => true,
): Promise<IdempotencyRecord[]> {
  const progress = new Progress();
  const found: IdempotencyRecord[] = [];
  let cursor: string | undefined;
  let read = 0;
  try {
    do {
      const want = limit === undefined ? 500 : Math.min(500, limit - found.length);
      const page = await store.list({ ...filter, limit: want, cursor });
      read += page.records.length;
      for (const record of page.records) if (keep(record)) found.push(record);
      cursor = page.records.length > 0 ? page.cursor : undefined;
      progress.update(`reading records… ${read} read, ${found.length} kept`);
    } while (cursor !== undefined && (limit === undefined || found.length < limit));
  } finally {
    progress.done();
  }
  return limit === undefined ? found : found.slice(0, limit);
}

/** The bytes a record's result and error take. */
export function recordSize(record: IdempotencyRecord): number {
  let bytes = record.result === undefined ? 0 : Buffer.byteLength(record.result);
  if (record.error !== undefined)
    bytes += Buffer.byteLength(JSON.stringify(record.error));
  for (const value of Object.values(record.steps)) bytes += Buffer.byteLength(value);
  return bytes;
}

/** The table `inspect` prints. */
export function recordTable(
  records: readonly IdempotencyRecord[],
  now = Date.now(),
): string {
  const rows = records.map((r) => [
    clip(r.key, 40),
    r.scope === "" ? "-" : clip(r.scope, 16),
    r.status,
    String(r.attempts),
    shortDuration(now - r.createdAt),
    r.status === "expired" ? "expired" : shortDuration(r.expiresAt - now),
    shortSize(recordSize(r)),
  ]);
  return table(["KEY", "SCOPE", "STATUS", "ATTEMPTS", "AGE", "EXPIRES IN", "SIZE"], rows);
}

/** A record as JSON for `--json`: every field, times as ISO strings too. */
export function recordJson(record: IdempotencyRecord): Record<string, unknown> {
  const iso = (ms: number | undefined): string | undefined =>
    ms === undefined || ms === 0 ? undefined : new Date(ms).toISOString();
  return {
    ...record,
    size: recordSize(record),
    createdAtIso: iso(record.createdAt),
    completedAtIso: iso(record.completedAt),
    expiresAtIso: iso(record.expiresAt),
    leaseUntilIso: record.status === "in_progress" ? iso(record.leaseUntil) : undefined,
  };
}

/** One record, field by field, for `get`. */
export function recordDetails(record: IdempotencyRecord, now = Date.now()): string {
  const at = (ms: number): string => {
    const when =
      ms < now ? `${shortDuration(now - ms)} ago` : `in ${shortDuration(ms - now)}`;
    return `${new Date(ms).toISOString()} (${when})`;
  };
  const rows: [string, string][] = [
    ["key", record.key],
    ["namespace", record.namespace],
    ["scope", record.scope === "" ? "-" : record.scope],
    ["status", record.status],
    ["attempts", String(record.attempts)],
    ["token", String(record.token)],
    ["fingerprint", record.fingerprint === "" ? "-" : record.fingerprint],
    ["created", at(record.createdAt)],
  ];
  if (record.completedAt !== undefined) rows.push(["completed", at(record.completedAt)]);
  if (record.status === "in_progress") rows.push(["lease until", at(record.leaseUntil)]);
  rows.push(["expires", at(record.expiresAt)], ["size", shortSize(recordSize(record))]);
  if (record.error !== undefined) {
    const { name, message, code, final } = record.error;
    rows.push([
      "error",
      `${name}${code ? ` [${code}]` : ""}: ${message}${final ? " (final)" : ""}`,
    ]);
  }
  const steps = Object.keys(record.steps);
  if (steps.length > 0) rows.push(["steps", steps.join(", ")]);
  if (record.result !== undefined) {
    const envelope = openEnvelope(record.result);
    rows.push([
      "result",
      envelope === undefined
        ? clip(record.result, 400)
        : envelope.kind === "value"
          ? clip(envelope.text, 400)
          : `(not stored: ${envelope.reason})`,
    ]);
  }
  const width = Math.max(...rows.map(([name]) => name.length));
  return `${rows.map(([name, value]) => `${`${name}:`.padEnd(width + 1)} ${value}`).join("\n")}\n`;
}

/** Records with `key`, optionally only in one scope or namespace. */
export async function findByKey(
  store: IdempotencyStore,
  key: string,
  scope: string | undefined,
  namespace: string | undefined,
): Promise<IdempotencyRecord[]> {
  if (scope !== undefined && namespace !== undefined) {
    const record = await store.get({ namespace, scope, key });
    return record === undefined ? [] : [record];
  }
  return collect(store, { scope, namespace }, undefined, (r) => r.key === key);
}
