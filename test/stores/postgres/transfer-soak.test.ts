/**
 * The transactional soak: 1000 transfers between 10 accounts, sent by two
 * worker processes at once with random duplicates, while workers are
 * SIGKILLed at random moments and restarted. Needs a real Postgres server
 * (several processes); skipped loudly without one.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PostgresStore } from "../../../src/stores/postgres/postgres-store.js";
import {
  openPostgres,
  PG_URL,
  serverReachable,
  type TestPostgres,
} from "../../support/postgres.js";
import { reportSkip } from "../../support/skips.js";
import { startWorker, type Worker } from "./workers/spawn-worker.js";

const hasServer = await serverReachable();
if (!hasServer) reportSkip("Postgres transfer soak", `no Postgres server at ${PG_URL}`);

const TRANSFERS = 1000;
const ACCOUNTS = 10;
const START_BALANCE = 10_000;
const KILLS = 6;

/** A seeded generator, so a failing run can be repeated. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** Every transfer once, plus ~30% duplicates, shuffled. */
function plan(next: () => number): number[] {
  const ids = Array.from({ length: TRANSFERS }, (_, i) => i);
  for (let i = 0; i < TRANSFERS * 0.3; i++) ids.push(Math.floor(next() * TRANSFERS));
  for (let i = ids.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [ids[i], ids[j]] = [ids[j] as number, ids[i] as number];
  }
  return ids;
}

describe.skipIf(!hasServer)("PostgresStore.transaction soak", () => {
  let db: TestPostgres;

  beforeAll(async () => {
    db = await openPostgres("soak");
    const store = new PostgresStore({
      pool: db.pool,
      schema: db.schema,
      sweepInterval: false,
    });
    await store.migrate();
    await store.close();
    await db.pool.query(
      `CREATE TABLE "${db.schema}".accounts (id text PRIMARY KEY, balance int NOT NULL)`,
    );
    await db.pool.query(`CREATE TABLE "${db.schema}".ledger (transfer_id int NOT NULL)`);
    for (let i = 0; i < ACCOUNTS; i++) {
      await db.pool.query(`INSERT INTO "${db.schema}".accounts VALUES ($1, $2)`, [
        `acct-${i}`,
        START_BALANCE,
      ]);
    }
  });

  afterAll(async () => {
    await db?.teardown();
  });

  it("applies 1000 transfers exactly once through duplicates and kills, keeping the sum", async () => {
    const seed = Number(process.env.IDEMKIT_SOAK_SEED ?? Date.now() % 100_000);
    const next = random(seed);
    const task = (ids: number[]) =>
      ({
        mode: "transfers",
        url: db.url,
        schema: db.schema,
        ids,
        concurrency: 8,
      }) as const;

    // Rounds with kills: two workers race over shuffled plans; one of them
    // is killed at a random moment, then both are stopped.
    let killed = 0;
    while (killed < KILLS) {
      const pair: Worker[] = [
        startWorker(task(plan(next))),
        startWorker(task(plan(next))),
      ];
      const victim = pair[Math.floor(next() * 2)] as Worker;
      await victim.waitFor(/^ok /);
      await new Promise((resolve) => setTimeout(resolve, 50 + next() * 400));
      await victim.kill();
      killed++;
      await Promise.all(pair.map((w) => w.kill()));
    }
    // A final pair without kills finishes every transfer.
    const last = [startWorker(task(plan(next))), startWorker(task(plan(next)))];
    const codes = await Promise.all(last.map((w) => w.exited));

    const sum = await db.pool.query(
      `SELECT sum(balance)::int AS total FROM "${db.schema}".accounts`,
    );
    const ledger = await db.pool.query(
      `SELECT transfer_id, count(*)::int AS n FROM "${db.schema}".ledger GROUP BY transfer_id`,
    );
    const rows = (ledger as { rows: { transfer_id: number; n: number }[] }).rows;
    expect(codes, `seed ${seed}: ${last.map((w) => w.stderr()).join("\n")}`).toEqual([
      0, 0,
    ]);
    expect((sum as { rows: { total: number }[] }).rows[0]?.total).toBe(
      ACCOUNTS * START_BALANCE,
    );
    expect(rows).toHaveLength(TRANSFERS);
    expect(
      rows.filter((row) => row.n !== 1),
      `seed ${seed}`,
    ).toEqual([]);
  }, 90_000);
});
