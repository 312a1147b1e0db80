/**
 * `idemkit/postgres`: the Postgres store and transactional execution. Needs
 * the `pg` driver (an optional peer dependency), or any pool with the same
 * `query` and `connect`.
 *
 * @example
 * ```ts
 * import pg from "pg";
 * import { PostgresStore } from "idemkit/postgres";
 *
 * const store = new PostgresStore({ pool: new pg.Pool({ connectionString: url }) });
 * await store.migrate();
 * const receipt = await store.transaction(key, async (tx) => {
 *   await tx.query("UPDATE accounts SET balance = balance - $1 WHERE id = $2", [10, "a"]);
 *   return { ok: true };
 * }, { name: "debit" });
 * ```
 */
export type {
  PgPool,
  PgPoolClient,
  PgQueryable,
  PgQueryConfig,
  PgQueryResult,
} from "./client.js";
export { MIGRATIONS, type Migration } from "./migrate.js";
export {
  POSTGRES_DEFAULTS,
  PostgresStore,
  type PostgresStoreOptions,
} from "./postgres-store.js";
export type { TransactionalOperation, TransactionOptions } from "./transaction.js";
export { TransactionContext } from "./transaction-parts.js";
