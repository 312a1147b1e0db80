/**
 * `list` and `stats` for the Redis store: `SCAN` with the prefix as a
 * `MATCH` pattern (never `KEYS`), on every master of a cluster.
 *
 * A page's cursor is `node.scanCursor.skip`: the master being scanned, the
 * `SCAN` cursor of the batch being read, and how many keys of that batch
 * were already handed out. Like `SCAN` itself, paging while keys change may
 * show a record twice or miss one written meanwhile.
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
  cursor: string;
  skip: number;
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
    const node = nodes[at.node];
    if (node === undefined) return { records };
    const [next, keys] = await scan(context, node, at.cursor, pattern);
    const batch = keys.slice(at.skip);
    const found = await Promise.all(batch.map((key) => read(context, key)));

    for (let i = 0; i < batch.length; i++) {
      if (records.length === limit) {
        return { records, cursor: formatCursor({ ...at, skip: at.skip + i }) };
      }
      const record = found[i];
      if (record === undefined) continue;
      if (options.scope !== undefined && record.scope !== options.scope) continue;
      if (options.status !== undefined && record.status !== options.status) continue;
      records.push(record);
    }

    at =
      next === "0"
        ? { node: at.node + 1, cursor: "0", skip: 0 }
        : { ...at, cursor: next, skip: 0 };
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
      const [next, keys] = await scan(context, node, cursor, pattern);
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
): Promise<[string, string[]]> {
  const reply = await context.call("scan", () =>
    node(["SCAN", cursor, "MATCH", pattern, "COUNT", String(context.count)]),
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
  if (cursor === undefined) return { node: 0, cursor: "0", skip: 0 };
  const match = /^(\d+)\.(\d+)\.(\d+)$/.exec(cursor);
  if (match === null) throw new IdempotencyStoreError(`Not a list cursor: "${cursor}"`);
  return { node: Number(match[1]), cursor: match[2] as string, skip: Number(match[3]) };
}

function formatCursor(at: Position): string {
  return `${at.node}.${at.cursor}.${at.skip}`;
}
