/**
 * `idemkit/sqlite`: the embedded durable store (better-sqlite3 12.x).
 *
 * @example
 * ```ts
 * import { SqliteStore } from "idemkit/sqlite";
 * const store = new SqliteStore({ path: "./idemkit.db" });
 * ```
 */
export { SqliteStore, type SqliteStoreOptions } from "./sqlite-store.js";
