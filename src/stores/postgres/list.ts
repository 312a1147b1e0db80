/**
 * `list` as one keyset-paginated query: pages follow the primary key order,
 * and the cursor is the last row's key, so a page costs the same however
 * deep it is and rows written meanwhile never shift a page.
 */
import { IdempotencyConfigError } from "../../core/errors.js";
import type { ListOptions } from "../contract.js";
import { EXPIRED_SQL } from "./queries.js";
import { toPgText } from "./rows.js";

/** A ready `list` query. */
export interface ListQuery {
  readonly text: string;
  readonly values: unknown[];
  /** The page size; the query asks for one row more to know if a page follows. */
  readonly limit: number;
}

/** Builds the `list` query over `head` (the SELECT … FROM part). */
export function listQuery(head: string, options: ListOptions): ListQuery {
  const limit = options.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new IdempotencyConfigError(
      `list limit must be a positive integer, got ${limit}`,
    );
  }

  const values: unknown[] = [];
  const where: string[] = [];
  const bind = (value: unknown): string => {
    values.push(value);
    return `$${values.length}`;
  };

  if (options.namespace !== undefined)
    where.push(`t.namespace = ${bind(toPgText(options.namespace))}`);
  if (options.scope !== undefined)
    where.push(`t.scope = ${bind(toPgText(options.scope))}`);
  if (options.status === "expired") where.push(EXPIRED_SQL);
  else if (options.status !== undefined) {
    where.push(`t.status = ${bind(options.status)} AND NOT ${EXPIRED_SQL}`);
  }
  if (options.cursor !== undefined) {
    const [namespace, scope, key] = decodeCursor(options.cursor);
    where.push(
      `(t.namespace, t.scope, t.key) > (${bind(toPgText(namespace))}, ${bind(toPgText(scope))}, ${bind(toPgText(key))})`,
    );
  }

  const filter = where.length === 0 ? "" : ` WHERE ${where.join(" AND ")}`;
  const text = `${head}${filter} ORDER BY t.namespace, t.scope, t.key LIMIT ${bind(limit + 1)}`;
  return { text, values, limit };
}

function decodeCursor(cursor: string): [string, string, string] {
  try {
    const parts: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (
      Array.isArray(parts) &&
      parts.length === 3 &&
      parts.every((p) => typeof p === "string")
    ) {
      return parts as [string, string, string];
    }
  } catch {
    // Reported below, with the same message as a well-formed but wrong cursor.
  }
  throw new IdempotencyConfigError("The list cursor is not one this store returned");
}
