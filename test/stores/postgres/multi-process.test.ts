/**
 * Exactly-once across OS processes, crash and take-over, on a real Postgres
 * server. These need several connections from several processes, which the
 * in-process PGlite fallback cannot give, so without a server they are
 * skipped loudly.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PostgresStore } from "../../../src/stores/postgres/postgres-store.js";
import {
  openPostgres,
  PG_URL,
  serverReachable,
  type TestPostgres,
} from "../../support/postgres.js";
import { reportSkip } from "../../support/skips.js";
import { startWorker } from "./workers/spawn-worker.js";

const hasServer = await serverReachable();
if (!hasServer) {
  reportSkip("Postgres multi-process suite", `no Postgres server at ${PG_URL}`);
}

describe.skipIf(!hasServer)("PostgresStore across processes", () => {
  let db: TestPostgres;
  let store: PostgresStore;

  beforeAll(async () => {
    db = await openPostgres("multi");
    store = new PostgresStore({ pool: db.pool, schema: db.schema, sweepInterval: false });
    await store.migrate();
    await db.pool.query(
      `CREATE TABLE "${db.schema}".executions (key text PRIMARY KEY, n int NOT NULL)`,
    );
    await db.pool.query(
      `CREATE TABLE "${db.schema}".accounts (id text PRIMARY KEY, balance int NOT NULL)`,
    );
  });

  afterAll(async () => {
    await store?.close();
    await db?.teardown();
  });

  it("runs each of 20 keys once when 4 processes make 100 concurrent calls each", async () => {
    const keys = 20;
    for (let i = 0; i < keys; i++) {
      await db.pool.query(`INSERT INTO "${db.schema}".executions VALUES ($1, 0)`, [
        `key-${i}`,
      ]);
    }

    const workers = Array.from({ length: 4 }, () =>
      startWorker({
        mode: "exactly-once",
        url: db.url,
        schema: db.schema,
        calls: 100,
        keys,
      }),
    );
    const codes = await Promise.all(workers.map((w) => w.exited));

    const rows = await db.pool.query(`SELECT key, n FROM "${db.schema}".executions`);
    const counts = (rows as { rows: { key: string; n: number }[] }).rows;
    expect(codes).toEqual([0, 0, 0, 0]);
    expect(counts).toHaveLength(keys);
    expect(counts.every((row) => row.n === 1)).toBe(true);
  }, 60_000);

  it("leaves neither the write nor the record when a transaction's process is killed before commit", async () => {
    await db.pool.query(`INSERT INTO "${db.schema}".accounts VALUES ('a', 100)`);
    const key = "crash-1";
    const worker = startWorker({ mode: "tx-hang", url: db.url, schema: db.schema, key });
    await worker.waitFor(/^written$/);

    await worker.kill();
    const balanceAfterKill = await balanceOf("a");
    const recordAfterKill = await store.get({ namespace: "transfer", scope: "", key });
    const retried = await store.transaction(
      key,
      async (tx) => {
        await tx.query(
          `UPDATE "${db.schema}".accounts SET balance = balance - 10 WHERE id = 'a'`,
        );
        return "moved";
      },
      { name: "transfer" },
    );
    const replayed = await store.transaction(key, async () => "ran again", {
      name: "transfer",
    });

    expect(balanceAfterKill).toBe(100);
    expect(recordAfterKill).toBeUndefined();
    expect(retried).toBe("moved");
    expect(replayed).toBe("moved");
    expect(await balanceOf("a")).toBe(90);
  }, 30_000);

  it("lets a take-over run only the steps the killed owner did not finish", async () => {
    const dir = mkdtempSync(join(tmpdir(), "idemkit-steps-"));
    const crashedLog = join(dir, "crashed.log");
    const cleanLog = join(dir, "clean.log");

    const first = startWorker({
      mode: "steps",
      url: db.url,
      schema: db.schema,
      key: "order-1",
      log: crashedLog,
      crashAfter: "charge",
    });
    await first.waitFor(/^after-charge$/);
    await first.kill();
    await new Promise((resolve) => setTimeout(resolve, 700));
    const takeover = startWorker({
      mode: "steps",
      url: db.url,
      schema: db.schema,
      key: "order-1",
      log: crashedLog,
    });
    const takeoverResult = await takeover.waitFor(/^result /);
    const clean = startWorker({
      mode: "steps",
      url: db.url,
      schema: db.schema,
      key: "order-2",
      log: cleanLog,
    });
    const cleanResult = await clean.waitFor(/^result /);

    expect(readFileSync(crashedLog, "utf8").trim().split("\n")).toEqual([
      "reserve 1",
      "charge 1",
      "ship 2",
    ]);
    expect(readFileSync(cleanLog, "utf8").trim().split("\n")).toEqual([
      "reserve 1",
      "charge 1",
      "ship 1",
    ]);
    expect(takeoverResult).toBe(cleanResult);
  }, 30_000);

  it("migrates from 8 processes at once and leaves one table", async () => {
    const schema = `${db.schema}_m`;

    const workers = Array.from({ length: 8 }, () =>
      startWorker({ mode: "migrate", url: db.url, schema }),
    );
    const lines = await Promise.all(workers.map((w) => w.waitFor(/^applied /)));
    const codes = await Promise.all(workers.map((w) => w.exited));
    const tables = await db.pool.query(
      "SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY tablename",
      [schema],
    );
    await db.pool.query(`DROP SCHEMA "${schema}" CASCADE`);

    expect(codes).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(lines.filter((line) => line === "applied [1]")).toHaveLength(1);
    expect(lines.filter((line) => line === "applied []")).toHaveLength(7);
    expect(
      (tables as { rows: { tablename: string }[] }).rows.map((r) => r.tablename),
    ).toEqual(["idemkit_records", "idemkit_records_migrations"]);
  }, 60_000);

  async function balanceOf(id: string): Promise<number> {
    const result = await db.pool.query(
      `SELECT balance FROM "${db.schema}".accounts WHERE id = $1`,
      [id],
    );
    return ((result as { rows: { balance: number }[] }).rows[0] as { balance: number })
      .balance;
  }
});
