import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IdempotencyEvent } from "../../../src/core/events.js";
import type { PgPool, PgQueryable } from "../../../src/stores/postgres/client.js";
import { PostgresStore } from "../../../src/stores/postgres/postgres-store.js";
import { openPostgres, type TestPostgres } from "../../support/postgres.js";
import { reportSkip } from "../../support/skips.js";

/** Counts every query sent through the pool and its clients: one per round trip. */
function counting(pool: PgPool): { pool: PgPool; count: () => number } {
  let n = 0;
  const counted: PgPool = {
    query: (text, values) => {
      n++;
      return pool.query(text, values);
    },
    connect: async () => {
      const client = await pool.connect();
      return {
        query: (text, values) => {
          n++;
          return client.query(text, values);
        },
        release: (destroy) => client.release(destroy),
      };
    },
  };
  return { pool: counted, count: () => n };
}

describe("PostgresStore.transaction", () => {
  let db: TestPostgres;
  let store: PostgresStore;
  let accounts: string;
  let seq = 0;
  const nextKey = () => `key-${++seq}`;

  beforeAll(async () => {
    db = await openPostgres("transaction");
    store = new PostgresStore({ pool: db.pool, schema: db.schema, sweepInterval: false });
    await store.migrate();
    accounts = `"${db.schema}".accounts`;
    await db.pool.query(
      `CREATE TABLE ${accounts} (id text PRIMARY KEY, balance int NOT NULL)`,
    );
  });

  afterAll(async () => {
    await store?.close();
    await db?.teardown();
  });

  async function openAccount(id: string, balance: number): Promise<void> {
    await db.pool.query(`INSERT INTO ${accounts} VALUES ($1, $2)`, [id, balance]);
  }

  async function balanceOf(id: string): Promise<number> {
    const result = await db.pool.query(`SELECT balance FROM ${accounts} WHERE id = $1`, [
      id,
    ]);
    return (result as { rows: { balance: number }[] }).rows[0]?.balance ?? Number.NaN;
  }

  const debit = (id: string, amount: number) => async (tx: PgQueryable) => {
    await tx.query(`UPDATE ${accounts} SET balance = balance - $1 WHERE id = $2`, [
      amount,
      id,
    ]);
    return { id, amount, at: new Date(0), big: 10n };
  };

  it("joins a duplicate in the same process onto the running execution", async () => {
    const key = nextKey();
    let runs = 0;
    const operation = async () => {
      runs++;
      await new Promise((resolve) => setTimeout(resolve, 20));
      return runs;
    };

    const results = await Promise.all([
      store.transaction(key, operation, { name: "join" }),
      store.transaction(key, operation, { name: "join" }),
    ]);

    expect(results).toEqual([1, 1]);
    expect(runs).toBe(1);
  });

  it("commits the writes with the record and replays the decoded result", async () => {
    await openAccount("t1", 100);
    const key = nextKey();

    const first = await store.transaction(key, debit("t1", 30), { name: "debit" });
    const second = await store.transaction(key, debit("t1", 30), { name: "debit" });

    expect(second).toEqual(first);
    expect(second.at).toBeInstanceOf(Date);
    expect(second.big).toBe(10n);
    expect(await balanceOf("t1")).toBe(70);
    expect(await store.get({ namespace: "debit", scope: "", key })).toMatchObject({
      status: "completed",
      attempts: 1,
    });
  });

  it("moves money once when 20 duplicates run at the same moment", async () => {
    await openAccount("t2", 100);
    const key = nextKey();
    // Four stores, so duplicates meet in the database and not only in a
    // store's in-process single flight.
    const stores = Array.from(
      { length: 4 },
      () => new PostgresStore({ pool: db.pool, schema: db.schema, sweepInterval: false }),
    );

    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (stores[i % 4] as PostgresStore).transaction(key, debit("t2", 10), {
          name: "debit",
        }),
      ),
    );

    for (const result of results) expect(result).toEqual(results[0]);
    expect(await balanceOf("t2")).toBe(90);
  });

  it("rolls back the writes of a failed operation and leaves no record", async () => {
    await openAccount("t3", 100);
    const key = nextKey();

    const attempt = store.transaction(
      key,
      async (tx) => {
        await debit("t3", 50)(tx);
        throw new Error("gateway down");
      },
      { name: "debit" },
    );

    await expect(attempt).rejects.toThrow("gateway down");
    expect(await balanceOf("t3")).toBe(100);
    expect(await store.get({ namespace: "debit", scope: "", key })).toBeUndefined();
    expect(
      await store.transaction(key, debit("t3", 50), { name: "debit" }),
    ).toMatchObject({
      amount: 50,
    });
    expect(await balanceOf("t3")).toBe(50);
  });

  it("replays a failure cacheError marks final, without its writes", async () => {
    await openAccount("t4", 100);
    const key = nextKey();
    const funds = Object.assign(new Error("insufficient funds"), { code: "E_FUNDS" });
    const options = { name: "debit", cacheError: () => true };
    let runs = 0;
    const failing = async (tx: PgQueryable) => {
      runs++;
      await debit("t4", 500)(tx);
      throw funds;
    };

    await expect(store.transaction(key, failing, options)).rejects.toBe(funds);
    const replay = store.transaction(key, failing, options);

    await expect(replay).rejects.toMatchObject({
      message: "insufficient funds",
      code: "E_FUNDS",
      replayed: true,
    });
    expect(runs).toBe(1);
    expect(await balanceOf("t4")).toBe(100);
  });

  it("keeps quotes, backslashes, NUL and unicode in keys and scopes intact", async () => {
    const key = `k'; DROP TABLE x; --\\${nextKey()}`;
    const scope = "ünï\u0000'\\\"cødé";

    const first = await store.transaction(key, async () => "once", {
      name: "odd",
      scope,
    });
    const again = await store.transaction(key, async () => "twice", {
      name: "odd",
      scope,
    });

    expect([first, again]).toEqual(["once", "once"]);
    expect(await store.get({ namespace: "odd", scope, key })).toMatchObject({
      scope,
      key,
    });
  });

  it("rejects a key reused for a different payload", async () => {
    const key = nextKey();
    await store.transaction(key, async () => 1, { name: "p", payload: { amount: 1 } });

    const reuse = store.transaction(key, async () => 2, {
      name: "p",
      payload: { amount: 2 },
    });

    await expect(reuse).rejects.toMatchObject({ code: "IDEMKIT_KEY_REUSE" });
  });

  it("emits acquired, completed and replayed events", async () => {
    const key = nextKey();
    const events: IdempotencyEvent[] = [];
    const onEvent = (event: IdempotencyEvent) => events.push(event);

    await store.transaction(key, async () => "x", { name: "e", onEvent });
    await store.transaction(key, async () => "y", { name: "e", onEvent });

    expect(events.map((e) => e.type)).toEqual(["acquired", "completed", "replayed"]);
    expect(events.every((e) => e.store === "postgres")).toBe(true);
  });

  it("costs one round trip more than the caller's own transaction", async () => {
    await openAccount("t5", 100);
    const counter = counting(db.pool);
    const counted = new PostgresStore({
      pool: counter.pool,
      schema: db.schema,
      sweepInterval: false,
    });
    const update = `UPDATE ${accounts} SET balance = balance - 1 WHERE id = 't5'`;

    const own = await counter.pool.connect();
    await own.query("BEGIN");
    await own.query(update);
    await own.query("COMMIT");
    own.release();
    const plain = counter.count();
    await counted.transaction(nextKey(), async (tx) => tx.query(update).then(() => "ok"));
    const transactional = counter.count() - plain;

    expect(plain).toBe(3);
    expect(transactional).toBe(plain + 1);
    await counted.close();
  });

  describe("with a duplicate holding the key", () => {
    it("waits up to waitTimeout, or rejects at once with onBusy reject", async (context) => {
      if (db.kind !== "server") {
        reportSkip(
          "transaction busy behaviour",
          "PGlite is one session; needs a Postgres server",
        );
        context.skip();
      }
      const key = nextKey();
      let release!: () => void;
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      let started!: () => void;
      const running = new Promise<void>((resolve) => {
        started = resolve;
      });
      const holder = store.transaction(
        key,
        async () => {
          started();
          await gate;
          return "first";
        },
        { name: "busy" },
      );
      await running;

      const rejectAt = Date.now();
      // Another store over the same pool: a separate caller, not a join of
      // this store's in-process flight.
      const other = new PostgresStore({
        pool: db.pool,
        schema: db.schema,
        sweepInterval: false,
      });
      const rejected = await other
        .transaction(key, async () => "second", { name: "busy", onBusy: "reject" })
        .catch((error: unknown) => error);
      const rejectMs = Date.now() - rejectAt;
      const waitAt = Date.now();
      const timedOut = await other
        .transaction(key, async () => "second", { name: "busy", waitTimeout: 300 })
        .catch((error: unknown) => error);
      const waitMs = Date.now() - waitAt;
      const waiter = other.transaction(key, async () => "second", { name: "busy" });
      release();

      expect(rejected).toMatchObject({ code: "IDEMKIT_IN_PROGRESS" });
      expect(rejectMs).toBeLessThan(250);
      expect(timedOut).toMatchObject({ code: "IDEMKIT_IN_PROGRESS" });
      expect(waitMs).toBeGreaterThanOrEqual(250);
      expect(waitMs).toBeLessThan(2_000);
      expect(await holder).toBe("first");
      expect(await waiter).toBe("first");
    });
  });
});
