/**
 * The few driver methods the Postgres store calls, as structural types, so
 * a `pg` Pool of any 8.x version fits, and so does anything shaped like it
 * (tests adapt PGlite to it).
 */
import { asStoreError, IdempotencyStoreError } from "../../core/errors.js";
import { withDeadline } from "../deadline.js";

/**
 * A query result: the rows and, for writes, how many rows changed.
 *
 * @example
 * ```ts
 * const { rows, rowCount } = (await tx.query("UPDATE t SET n = n + 1")) as PgQueryResult;
 * ```
 */
export interface PgQueryResult {
  readonly rows: unknown[];
  readonly rowCount: number | null;
}

/**
 * A named (prepared) statement: parsed and planned once per connection.
 *
 * @example
 * ```ts
 * await pool.query({ name: "get-user", text: "SELECT * FROM users WHERE id = $1", values: [id] });
 * ```
 */
export interface PgQueryConfig {
  readonly name: string;
  readonly text: string;
  readonly values: unknown[];
}

/**
 * Anything that runs a query: a pool or a checked-out client. A transactional
 * operation receives one as `tx`.
 *
 * @example
 * ```ts
 * const debit = async (tx: PgQueryable) => tx.query("UPDATE accounts SET balance = balance - 1");
 * ```
 */
export interface PgQueryable {
  /**
   * Runs `text` with bind `values`, or a named statement. Without values,
   * `text` may hold several statements; the driver then resolves to one
   * result per statement.
   */
  query(
    textOrConfig: string | PgQueryConfig,
    values?: unknown[],
  ): Promise<PgQueryResult | PgQueryResult[]>;
}

/**
 * A client checked out of the pool, for a transaction: `pg.PoolClient` fits.
 *
 * @example
 * ```ts
 * const client: PgPoolClient = await pool.connect();
 * client.release();
 * ```
 */
export interface PgPoolClient extends PgQueryable {
  /** Returns the client to the pool; a truthy argument destroys it instead. */
  release(destroy?: boolean | Error): void;
}

/**
 * The pool the store uses: `pg.Pool` fits as is.
 *
 * @example
 * ```ts
 * import pg from "pg";
 * const pool: PgPool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * ```
 */
export interface PgPool extends PgQueryable {
  connect(): Promise<PgPoolClient>;
}

/** SQLSTATE of a lock wait that ran into `lock_timeout`. */
export const LOCK_NOT_AVAILABLE = "55P03";

/** The SQLSTATE of a driver error, if it has one. */
export function sqlState(error: unknown): string | undefined {
  const { code, cause } = (error ?? {}) as { code?: unknown; cause?: unknown };
  if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return code;
  return cause === undefined ? undefined : sqlState(cause);
}

/** The result of a query (the last one, for a batch of statements). */
export function single(result: PgQueryResult | PgQueryResult[]): PgQueryResult {
  const last = Array.isArray(result) ? result[result.length - 1] : result;
  if (last === undefined) throw new IdempotencyStoreError("Postgres returned no result");
  return last;
}

/**
 * Runs one query, giving up after `timeoutMs` with `IdempotencyStoreError`
 * so an unreachable server never hangs a caller (the driver's own attempt
 * may go on in the background; its outcome is then ignored).
 */
export function runQuery(
  db: PgQueryable,
  text: string,
  values: unknown[],
  timeoutMs: number,
  what: string,
  name?: string,
): Promise<PgQueryResult> {
  return withDeadline(
    () =>
      name === undefined ? db.query(text, values) : db.query({ name, text, values }),
    timeoutMs,
    "Postgres",
    what,
    (error) => asPgStoreError(error, what),
  ).then(single);
}

/** Wraps a driver error as `IdempotencyStoreError`, keeping it as `cause`. */
export function asPgStoreError(error: unknown, what: string): IdempotencyStoreError {
  return asStoreError(error, `Postgres store: ${what} failed`);
}
