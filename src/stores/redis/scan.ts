/**
 * `list` and `stats` for the Redis store: `SCAN` with the prefix as a
 * `MATCH` pattern (never `KEYS`), on every master of a cluster.
 *
 * A page's cursor is `node.scanCursor.rest`: the master being scanned, the
 * `SCAN` cursor to continue from, and the keys of the last batch that did
 * not fit in the page (base64url JSON). A batch is never scanned twice:
 * `SCAN` with the same cursor need not return the same keys again (the
 * keyspace may be rehashing), so resuming "at the n-th key of that batch"
 * would miss and repeat records. Each `SCAN` asks for about as many keys
 * as the page still has room for, so the rest stays small. Like `SCAN`
 * itself, paging while keys change may show a record twice or miss one
 * written meanwhile.
 */
import { IdempotencyStoreError } from "../../core/errors.js";
import type { IdempotencyRecord } from "../../core/record.js";
import type { ListOptions, ListPage, StoreStats } from "../contract.js";
import type { NodeCommand, RedisConnection } from "./client-adapter.js";
import { idOfKey, scanPattern } from "./key-layout.js";
import { recordFromHash, text } from "./record-fields.js";

/** What the scans need from the store. */
export interface ScanContext {
  readonly redis: RedisConnection;
  readonly prefix: string;
  readonly count: number;
  /** Runs one Redis call under the store's timeout and error mapping. */
  readonly call: <T>(what: string, run: () => Promise<T>) => Promise<T>;
}

interface Position {
  node: number;
  /** Where `SCAN` continues on that node, after `rest`. */
  cursor: string;
  /** Keys already scanned but not yet handed out. */
  rest: string[];
}

// Bounds the SCAN calls of one `list` page, so a sparse match over a large
// keyspace returns a short page with a cursor instead of running on.
const MAX_SCANS_PER_PAGE = 1_000;

/** One page of records under the prefix, filtered as asked. */
export async function listRecords(
  context: ScanContext,
  options: ListOptions,
): Promise<ListPage> {
  const limit = options.limit ?? 100;
  const pattern = scanPattern(context.prefix, options.namespace, options.scope);
  const nodes = await context.call("list masters", () => context.redis.masters());
  const records: IdempotencyRecord[] = [];
  let at = parseCursor(options.cursor);

  for (let scans = 0; scans < MAX_SCANS_PER_PAGE; scans++) {
    let batch: string[];
    let after: Position;
    if (at.rest.length > 0) {
      batch = at.rest;
      after = { ...at, rest: [] };
    } else {
      const node = nodes[at.node];
      if (node === undefined) return { records };
      const room = Math.min(context.count, Math.max(limit - records.length, 10));
      const [next, keys] = await scan(context, node, at.cursor, pattern, room);
      batch = keys;
      after =
        next === "0"
          ? { node: at.node + 1, cursor: "0", rest: [] }
          : { node: at.node, cursor: next, rest: [] };
    }
    const found = await Promise.all(batch.map((key) => read(context, key)));

    for (let i = 0; i < batch.length; i++) {
      if (records.length === limit) {
        return { records, cursor: formatCursor({ ...after, rest: batch.slice(i) }) };
      }
      const record = found[i];
      if (record === undefined) continue;
      if (options.scope !== undefined && record.scope !== options.scope) continue;
      if (options.status !== undefined && record.status !== options.status) continue;
      records.push(record);
    }

    at = after;
    if (at.node >= nodes.length) return { records };
    if (records.length === limit) return { records, cursor: formatCursor(at) };
  }
  return { records, cursor: formatCursor(at) };
}

/** Counts the records under the prefix by status, over every master. */
export async function countRecords(context: ScanContext): Promise<StoreStats> {
  const pattern = scanPattern(context.prefix);
  const nodes = await context.call("list masters", () => context.redis.masters());
  const counts = { total: 0, inProgress: 0, completed: 0, failed: 0, expired: 0 };

  for (const node of nodes) {
    let cursor = "0";
    do {
      const [next, keys] = await scan(context, node, cursor, pattern, context.count);
      const metas = await Promise.all(
        keys.map((key) =>
          context.call("read a status", () =>
            context.redis.keyed(key, ["HGET", key, "m"]),
          ),
        ),
      );
      for (const reply of metas) {
        // A key that expired between SCAN and HGET is no longer counted.
        const meta = text(reply);
        if (meta === undefined) continue;
        const status = meta.slice(0, meta.indexOf(" "));
        counts.total++;
        if (status === "in_progress") counts.inProgress++;
        else if (status === "completed") counts.completed++;
        else if (status === "failed") counts.failed++;
      }
      cursor = next;
    } while (cursor !== "0");
  }
  return counts;
}

async function scan(
  context: ScanContext,
  node: NodeCommand,
  cursor: string,
  pattern: string,
  count: number,
): Promise<[string, string[]]> {
  const reply = await context.call("scan", () =>
    node(["SCAN", cursor, "MATCH", pattern, "COUNT", String(count)]),
  );
  if (!Array.isArray(reply) || reply.length !== 2 || !Array.isArray(reply[1])) {
    throw new IdempotencyStoreError("Unexpected SCAN reply");
  }
  return [
    String(text(reply[0]) ?? reply[0]),
    (reply[1] as unknown[]).map((key) => text(key) ?? ""),
  ];
}

async function read(
  context: ScanContext,
  key: string,
): Promise<IdempotencyRecord | undefined> {
  const id = idOfKey(context.prefix, key);
  if (id === undefined) return undefined;
  const reply = await context.call("read a record", () =>
    context.redis.keyed(key, ["HGETALL", key]),
  );
  return recordFromHash(id, reply);
}

function parseCursor(cursor: string | undefined): Position {
  if (cursor === undefined) return { node: 0, cursor: "0", rest: [] };
  const match = /^(\d+)\.(\d+)\.([A-Za-z0-9_-]*)$/.exec(cursor);
  const rest = match === null ? undefined : restOf(match[3] as string);
  if (match === null || rest === undefined) {
    throw new IdempotencyStoreError(`Not a list cursor: "${cursor}"`);
  }
  return { node: Number(match[1]), cursor: match[2] as string, rest };
}

function formatCursor(at: Position): string {
  const rest =
    at.rest.length === 0
      ? ""
      : Buffer.from(JSON.stringify(at.rest)).toString("base64url");
  return `${at.node}.${at.cursor}.${rest}`;
}

/** The keys a cursor carries; `undefined` for anything else. */
function restOf(encoded: string): string[] | undefined {
  if (encoded === "") return [];
  try {
    const keys: unknown = JSON.parse(Buffer.from(encoded, "base64url").toString("utf8"));
    if (Array.isArray(keys) && keys.every((key) => typeof key === "string")) return keys;
  } catch {
    // Not a cursor this module wrote.
  }
  return undefined;
}
