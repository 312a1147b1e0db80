/**
 * Postgres store benchmark: one run, one server, a pool of 16 and 64
 * concurrent callers.
 *
 *   node --import tsx bench/postgres.ts
 *
 * Rows: the raw baseline of the same round trips idemkit makes for a first
 * execution (`INSERT … ON CONFLICT DO NOTHING`, then `UPDATE`), idemkit
 * first executions (through the engine, and as bare store calls), replays, and a one-row update as the caller's own
 * transaction vs inside `store.transaction()`. Round trips per operation
 * are counted at the pool. Connects to IDEMKIT_BENCH_PG_URL (default
 * postgres://postgres@127.0.0.1:5432/test) and drops its schema at the end.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { Idempotency } from "../src/core/engine.js";
import type { PgPool } from "../src/stores/postgres/client.js";
import { PostgresStore } from "../src/stores/postgres/postgres-store.js";
import { measure, printTable } from "./support.js";

const URL = process.env.IDEMKIT_BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const CALLERS = 64;
const OPS = Number(process.env.IDEMKIT_BENCH_OPS ?? 2000);
const ROUNDS = 3;

const schema = `idemkit_bench_${randomBytes(4).toString("hex")}`;
const raw = new pg.Pool({ connectionString: URL, max: 16 });
let trips = 0;
const pool: PgPool = {
  query: (text, values) => {
    trips++;
    return raw.query(text, values);
  },
  connect: async () => {
    const client = await raw.connect();
    return {
      query: (text: string, values?: unknown[]) => {
        trips++;
        return client.query(text, values);
      },
      release: (destroy?: boolean | Error) => client.release(destroy),
    };
  },
};

/** Runs `op(i)` for i in [0, OPS) with CALLERS concurrent callers. */
async function drive(op: (i: number, caller: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CALLERS }, async (_, caller) => {
      while (next < OPS) await op(next++, caller);
    }),
  );
}

interface Row {
  readonly name: string;
  readonly rate: number;
  readonly trips: number;
}

async function scenario(
  name: string,
  op: (i: number, caller: number, round: number) => Promise<unknown>,
): Promise<Row> {
  const before = trips;
  const rate = await measure(ROUNDS, OPS, (round) =>
    drive((i, caller) => op(i, caller, round)),
  );
  return { name, rate, trips: (trips - before) / (OPS * ROUNDS) };
}

const store = new PostgresStore({ pool, schema, sweepInterval: false });
const idem = new Idempotency({ store, heartbeat: false });

try {
  await store.migrate();
  await raw.query(`CREATE TABLE "${schema}".raw (key text PRIMARY KEY, result text)`);
  await raw.query(
    `CREATE TABLE "${schema}".accounts (id int PRIMARY KEY, balance int NOT NULL)`,
  );
  await raw.query(
    `INSERT INTO "${schema}".accounts SELECT g, 0 FROM generate_series(0, ${CALLERS - 1}) g`,
  );
  // Warm the pool and the plans.
  await drive((i) => idem.run(`warm-${i}`, () => i));

  const rows: Row[] = [];
  rows.push(
    await scenario(
      "raw INSERT … ON CONFLICT DO NOTHING + UPDATE",
      async (i, _c, round) => {
        const key = `raw-${round}-${i}`;
        await pool.query(
          `INSERT INTO "${schema}".raw (key) VALUES ($1) ON CONFLICT DO NOTHING`,
          [key],
        );
        await pool.query(`UPDATE "${schema}".raw SET result = $2 WHERE key = $1`, [
          key,
          "v42",
        ]);
      },
    ),
  );
  rows.push(
    await scenario("idemkit first executions", (i, _c, round) =>
      idem.run(`first-${round}-${i}`, () => 42),
    ),
  );
  rows.push(
    await scenario("store.claim + store.complete (no engine)", async (i, _c, round) => {
      const id = { namespace: "direct", scope: "", key: `direct-${round}-${i}` };
      const claim = { id, fingerprint: "", leaseMs: 30_000, ttlMs: 86_400_000 };
      const outcome = await store.claim(claim);
      await store.complete(id, outcome.record.token, {
        result: "v42",
        ttlMs: 86_400_000,
      });
    }),
  );
  rows.push(await scenario("idemkit replays", (i) => idem.run(`first-0-${i}`, () => 42)));

  const update = `UPDATE "${schema}".accounts SET balance = balance + 1 WHERE id = $1`;
  rows.push(
    await scenario(
      "own transaction: BEGIN, one-row UPDATE, COMMIT",
      async (_i, caller) => {
        const client = await pool.connect();
        try {
          await client.query("BEGIN");
          await client.query(update, [caller]);
          await client.query("COMMIT");
        } finally {
          client.release();
        }
      },
    ),
  );
  rows.push(
    await scenario("store.transaction: same one-row UPDATE", (i, caller, round) =>
      store.transaction(`tx-${round}-${i}`, async (tx) => {
        await tx.query(update, [caller]);
        return caller;
      }),
    ),
  );

  const base = rows[0]?.rate ?? 1;
  const own = rows[4]?.rate ?? 1;
  console.log(
    `\nPostgres ${(await raw.query("SHOW server_version")).rows[0].server_version}, pool 16, ${CALLERS} callers, ${OPS} ops × ${ROUNDS} rounds (median)\n`,
  );
  printTable(
    ["scenario", "ops/s", "round trips / op", "vs baseline"],
    rows.map((row, index) => [
      row.name,
      row.rate,
      row.trips.toFixed(2),
      index >= 4
        ? `${(row.rate / own).toFixed(2)}× own tx`
        : `${(row.rate / base).toFixed(2)}×`,
    ]),
  );
} finally {
  await raw.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
  await store.close();
  await raw.end();
}
