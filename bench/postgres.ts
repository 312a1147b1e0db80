/**
 * Postgres store benchmark: one run, one server, a pool of 16 and 64
 * concurrent callers.
 *
 *   node --import tsx bench/postgres.ts
 *
 * Rows: the raw baseline of the same round trips idemkit makes for a first
 * execution (`INSERT … ON CONFLICT DO NOTHING`, then `UPDATE`), idemkit
 * first executions (through the engine, as bare store calls, and as the
 * store's own two statements sent by hand through the pool: the floor the
 * store cannot beat), replays, and a one-row update as the caller's own
 * transaction vs inside `store.transaction()`. Round trips per operation
 * are counted at the pool. Connects to IDEMKIT_BENCH_PG_URL (default
 * postgres://postgres@127.0.0.1:5432/test) and drops its schema at the end.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { Idempotency } from "../src/core/engine.js";
import type { PgPool } from "../src/stores/postgres/client.js";
import { PostgresStore } from "../src/stores/postgres/postgres-store.js";
import { buildQueries } from "../src/stores/postgres/queries.js";
import { measure, median, printTable } from "./support.js";

const URL = process.env.IDEMKIT_BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const CALLERS = 64;
const OPS = Number(process.env.IDEMKIT_BENCH_OPS ?? 1000);
const ROUNDS = 5;

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

interface Scenario {
  readonly name: string;
  readonly op: (i: number, caller: number, round: number) => Promise<unknown>;
}

interface Row {
  readonly name: string;
  readonly rate: number;
  readonly trips: number;
}

/**
 * Runs the scenarios round-robin (round 1 of each, then round 2 of each,
 * …), so a change in the machine's load during the run touches every
 * scenario alike; reports each scenario's median rate.
 */
async function runAll(scenarios: Scenario[]): Promise<Row[]> {
  const rates = scenarios.map(() => [] as number[]);
  const counted = scenarios.map(() => 0);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [index, { op }] of scenarios.entries()) {
      const before = trips;
      const rate = await measure(1, OPS, () =>
        drive((i, caller) => op(i, caller, round)),
      );
      rates[index]?.push(rate);
      counted[index] = (counted[index] ?? 0) + trips - before;
    }
  }
  return scenarios.map(({ name }, index) => ({
    name,
    rate: median(rates[index] ?? []),
    trips: (counted[index] ?? 0) / (OPS * ROUNDS),
  }));
}

const store = new PostgresStore({ pool, schema, sweepInterval: false });
const idem = new Idempotency({ store, heartbeat: false });
const statements = buildQueries(store.table);

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

  const update = `UPDATE "${schema}".accounts SET balance = balance + 1 WHERE id = $1`;
  const scenarios: Scenario[] = [
    {
      name: "raw INSERT … ON CONFLICT DO NOTHING + UPDATE",
      op: async (i, _c, round) => {
        const key = `raw-${round}-${i}`;
        const insert = `INSERT INTO "${schema}".raw (key) VALUES ($1) ON CONFLICT DO NOTHING`;
        await pool.query(insert, [key]);
        await pool.query(`UPDATE "${schema}".raw SET result = $2 WHERE key = $1`, [
          key,
          "v42",
        ]);
      },
    },
    {
      name: "idemkit first executions",
      op: (i, _c, round) => idem.run(`first-${round}-${i}`, () => 42),
    },
    {
      name: "store.claim + store.complete (no engine)",
      op: async (i, _c, round) => {
        const id = { namespace: "direct", scope: "", key: `direct-${round}-${i}` };
        const claim = { id, fingerprint: "", leaseMs: 30_000, ttlMs: 86_400_000 };
        const outcome = await store.claim(claim);
        await store.complete(id, outcome.record.token, {
          result: "v42",
          ttlMs: 86_400_000,
        });
      },
    },
    {
      name: "the store's claim + complete statements, by hand",
      op: async (i, _c, round) => {
        const key = `hand-${round}-${i}`;
        const claimed = await raw.query({
          name: "bench-claim",
          text: statements.claim,
          values: ["hand", "", key, "", 30_000, 86_400_000],
        });
        await raw.query({
          name: "bench-complete",
          text: statements.complete,
          values: ["hand", "", key, claimed.rows[0].token, "v42", 86_400_000],
        });
        trips += 2;
      },
    },
    // Keys of round 0's first executions, which ran just before.
    { name: "idemkit replays", op: (i) => idem.run(`first-0-${i}`, () => 42) },
    {
      name: "own transaction: BEGIN, one-row UPDATE, COMMIT",
      op: async (_i, caller) => {
        const client = await pool.connect();
        try {
          await client.query("BEGIN");
          await client.query(update, [caller]);
          await client.query("COMMIT");
        } finally {
          client.release();
        }
      },
    },
    {
      name: "store.transaction: same one-row UPDATE",
      op: (i, caller, round) =>
        store.transaction(`tx-${round}-${i}`, async (tx) => {
          await tx.query(update, [caller]);
          return caller;
        }),
    },
  ];
  const rows = await runAll(scenarios);

  const base = rows[0]?.rate ?? 1;
  const own = rows[5]?.rate ?? 1;
  console.log(
    `\nPostgres ${(await raw.query("SHOW server_version")).rows[0].server_version}, pool 16, ${CALLERS} callers, ${OPS} ops × ${ROUNDS} rounds, round-robin (median)\n`,
  );
  printTable(
    ["scenario", "ops/s", "round trips / op", "vs baseline"],
    rows.map((row, index) => [
      row.name,
      row.rate,
      row.trips.toFixed(2),
      index >= 5
        ? `${(row.rate / own).toFixed(2)}× own tx`
        : `${(row.rate / base).toFixed(2)}×`,
    ]),
  );
} finally {
  await raw.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
  await store.close();
  await raw.end();
}
