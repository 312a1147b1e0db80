/**
 * Numbered migrations for the records table, applied by `store.migrate()`.
 *
 * Safe from many processes at once: the whole run holds a transaction-level
 * advisory lock, so processes apply migrations one after another, and each
 * one records what it applied in `<table>_migrations`. `CREATE … IF NOT
 * EXISTS` alone is not enough, since two sessions creating the same table
 * at the same moment can still collide on the catalogue's unique indexes.
 */
import { readFileSync } from "node:fs";
import { IdempotencyConfigError } from "../../core/errors.js";
import { asPgStoreError, type PgPool } from "./client.js";

/**
 * One numbered migration.
 *
 * @example
 * ```ts
 * const { version, name } = MIGRATIONS[0]!; // 1, "001-create-records.sql"
 * ```
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  /** The SQL, with `{{table}}` and `{{expires_index}}` placeholders. */
  readonly sql: string;
}

function load(version: number, name: string): Migration {
  const url = new URL(`./migrations/${name}`, import.meta.url);
  return { version, name, sql: readFileSync(url, "utf8") };
}

/**
 * Every migration, in order. `store.migrationSql()` gives their SQL with
 * the store's names filled in.
 *
 * @example
 * ```ts
 * const latest = MIGRATIONS[MIGRATIONS.length - 1]?.version;
 * ```
 */
export const MIGRATIONS: readonly Migration[] = [load(1, "001-create-records.sql")];

// "idemkit" in ASCII: the advisory lock every migrating process takes.
const MIGRATE_LOCK = "29665259344849268";

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,39}$/;

/** Validates a table or schema name; throws `IdempotencyConfigError`. */
export function validateIdentifier(value: string, what: string): string {
  if (typeof value !== "string" || !IDENTIFIER.test(value)) {
    throw new IdempotencyConfigError(
      `The ${what} must be a letter or underscore followed by up to 39 letters, digits or underscores, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/** The names a migration run needs, quoted. */
export interface TableNames {
  readonly schema: string | undefined;
  readonly table: string;
}

/** Quotes a validated identifier. */
export function quote(identifier: string): string {
  return `"${identifier}"`;
}

/** `"schema"."table"`, or `"table"` on the search path. */
export function qualified(names: TableNames, table = names.table): string {
  return names.schema === undefined
    ? quote(table)
    : `${quote(names.schema)}.${quote(table)}`;
}

/** The SQL text of every migration, with names filled in, for teams that run their own. */
export function migrationSql(names: TableNames): string[] {
  return MIGRATIONS.map((m) =>
    m.sql
      .replaceAll("{{table}}", qualified(names))
      .replaceAll("{{expires_index}}", quote(`${names.table}_expires_at`)),
  );
}

/** Applies the migrations not yet applied; returns the versions it applied. */
export async function migrate(pool: PgPool, names: TableNames): Promise<number[]> {
  const client = await pool.connect().catch((error: unknown) => {
    throw asPgStoreError(error, "migrate (connect)");
  });
  const ledger = qualified(names, `${names.table}_migrations`);
  const scripts = migrationSql(names);
  let broken = false;

  try {
    await client.query("BEGIN");
    await client.query(`SELECT pg_advisory_xact_lock(${MIGRATE_LOCK})`);
    if (names.schema !== undefined) {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${quote(names.schema)}`);
    }
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${ledger} (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const done = await client.query(`SELECT version FROM ${ledger}`);
    const applied = new Set(
      (Array.isArray(done) ? [] : done.rows).map((r) =>
        Number((r as { version: number }).version),
      ),
    );

    const now: number[] = [];
    for (const [index, migration] of MIGRATIONS.entries()) {
      if (applied.has(migration.version)) continue;
      await client.query(scripts[index] as string);
      await client.query(`INSERT INTO ${ledger} (version, name) VALUES ($1, $2)`, [
        migration.version,
        migration.name,
      ]);
      now.push(migration.version);
    }
    await client.query("COMMIT");
    return now;
  } catch (error) {
    broken = true;
    await client.query("ROLLBACK").catch(() => undefined);
    throw asPgStoreError(error, "migrate");
  } finally {
    client.release(broken);
  }
}
