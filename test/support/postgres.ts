/**
 * Postgres for tests. `openPostgres()` connects to the real server
 * (`IDEMKIT_TEST_PG_URL`, else postgres://postgres@127.0.0.1:5432/test) and
 * gives each test file a fresh schema, dropped by `teardown()`. When no
 * server answers, it falls back to PGlite (in-process Postgres) and says so
 * loudly; suites that need several OS processes check `kind` and skip with
 * `reportSkip()`.
 */
import { randomBytes } from "node:crypto";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import type {
  PgPool,
  PgPoolClient,
  PgQueryConfig,
  PgQueryResult,
} from "../../src/stores/postgres/client.js";
import { reportSkip } from "./skips.js";

export const PG_URL =
  process.env.IDEMKIT_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";

export interface TestPostgres {
  /** "server": a real Postgres at `PG_URL`; "pglite": the in-process fallback. */
  readonly kind: "server" | "pglite";
  readonly pool: PgPool;
  /** The raw pg Pool, on a server (for tests that need more of it). */
  readonly pgPool: pg.Pool | undefined;
  /** A fresh schema for this test file. */
  readonly schema: string;
  readonly url: string;
  teardown(): Promise<void>;
}

let reachable: Promise<boolean> | undefined;

/** True when the Postgres server at `PG_URL` answers. Checked once per file. */
export function serverReachable(): Promise<boolean> {
  reachable ??= (async () => {
    const client = new pg.Client({
      connectionString: PG_URL,
      connectionTimeoutMillis: 2_000,
    });
    try {
      await client.connect();
      await client.query("SELECT 1");
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return reachable;
}

/** Opens Postgres for one test file, in a schema named after `label`. */
export async function openPostgres(label: string, poolSize = 16): Promise<TestPostgres> {
  const schema = `idemkit_t_${label.replace(/\W/g, "_")}_${randomBytes(4).toString("hex")}`;

  if (await serverReachable()) {
    const pgPool = new pg.Pool({ connectionString: PG_URL, max: poolSize });
    await pgPool.query(`CREATE SCHEMA "${schema}"`);
    return {
      kind: "server",
      pool: pgPool,
      pgPool,
      schema,
      url: PG_URL,
      async teardown() {
        await pgPool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await pgPool.end();
      },
    };
  }

  reportSkip(
    `Postgres server at ${PG_URL} (${label})`,
    "not reachable: running the single-process suite on PGlite instead",
  );
  const db = new PGlite();
  await db.exec(`CREATE SCHEMA "${schema}"`);
  const pool = new PgliteAdapter(db);
  return {
    kind: "pglite",
    pool,
    pgPool: undefined,
    schema,
    url: "pglite:memory",
    async teardown() {
      await db.close();
    },
  };
}

/**
 * PGlite behind the store's pool interface. PGlite is one session, so a
 * checked-out client holds it exclusively until released, as a connection
 * would hold its own transaction.
 */
export class PgliteAdapter implements PgPool {
  readonly #db: PGlite;
  #tail: Promise<void> = Promise.resolve();

  constructor(db: PGlite) {
    this.#db = db;
  }

  async query(
    text: string,
    values?: unknown[],
  ): Promise<PgQueryResult | PgQueryResult[]> {
    const release = await this.#acquire();
    try {
      return await this.#run(text, values);
    } finally {
      release();
    }
  }

  async connect(): Promise<PgPoolClient> {
    const release = await this.#acquire();
    let released = false;
    return {
      query: (text, values) => this.#run(text, values),
      release: () => {
        if (released) return;
        released = true;
        release();
      },
    };
  }

  async #run(
    textOrConfig: string | PgQueryConfig,
    params?: unknown[],
  ): Promise<PgQueryResult | PgQueryResult[]> {
    const text = typeof textOrConfig === "string" ? textOrConfig : textOrConfig.text;
    const values = typeof textOrConfig === "string" ? params : textOrConfig.values;
    if (values === undefined || values.length === 0) {
      const results = await this.#db.exec(text);
      const mapped = results.map((r) => ({
        rows: r.rows as unknown[],
        rowCount: r.affectedRows ?? r.rows.length,
      }));
      return mapped.length === 1 ? (mapped[0] as PgQueryResult) : mapped;
    }
    const result = await this.#db.query(text, values);
    return {
      rows: result.rows as unknown[],
      rowCount: result.affectedRows ?? result.rows.length,
    };
  }

  #acquire(): Promise<() => void> {
    let unlock!: () => void;
    const next = new Promise<void>((resolve) => {
      unlock = resolve;
    });
    const previous = this.#tail;
    this.#tail = previous.then(() => next);
    return previous.then(() => unlock);
  }
}
