import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type PgPool,
  type PgQueryResult,
  single,
} from "../../../src/stores/postgres/client.js";
import { PostgresStore } from "../../../src/stores/postgres/postgres-store.js";
import { describeStoreContract } from "../../contract/store-contract.js";
import { watchIntervals } from "../../support/intervals.js";
import { openPostgres, type TestPostgres } from "../../support/postgres.js";

/** A migrated store in a fresh schema, torn down with it. */
function contractFixture(schemaTag: string, prepare: boolean) {
  return async () => {
    const db = await openPostgres(schemaTag);
    const store = new PostgresStore({
      pool: db.pool,
      schema: db.schema,
      sweepInterval: false,
      prepare,
    });
    await store.migrate();
    return {
      store,
      teardown: async () => {
        await store.close();
        await db.teardown();
      },
    };
  };
}

describeStoreContract("postgres", contractFixture("contract", true));
describeStoreContract(
  "postgres without prepared statements",
  contractFixture("contract_plain", false),
);

describe("PostgresStore", () => {
  let db: TestPostgres;

  beforeAll(async () => {
    db = await openPostgres("store");
  });

  afterAll(async () => {
    await db.teardown();
  });

  it("migrates idempotently and applies each version once", async () => {
    const store = new PostgresStore({ pool: db.pool, schema: db.schema, table: "again" });

    const first = await store.migrate();
    const second = await store.migrate();

    expect(first).toEqual([1]);
    expect(second).toEqual([]);
    await store.close();
  });

  it("runs transactions without prepared statements", async () => {
    const store = new PostgresStore({
      pool: db.pool,
      schema: db.schema,
      table: "plain",
      prepare: false,
    });
    await store.migrate();

    const first = await store.transaction("k", async () => "once", { name: "plain" });
    const again = await store.transaction("k", async () => "twice", { name: "plain" });

    expect([first, again]).toEqual(["once", "once"]);
    await store.close();
  });

  it("lets exactly one of 50 concurrent claims take over an expired lease or an expired record", async () => {
    const store = new PostgresStore({
      pool: db.pool,
      schema: db.schema,
      table: "races",
      sweepInterval: false,
    });
    await store.migrate();
    const lease = { namespace: "race", scope: "", key: "lease" };
    const record = { namespace: "race", scope: "", key: "record" };
    await store.claim({ id: lease, fingerprint: "f", leaseMs: 1, ttlMs: 60_000 });
    const done = await store.claim({
      id: record,
      fingerprint: "f",
      leaseMs: 1,
      ttlMs: 1,
    });
    await store.complete(record, done.record.token, { result: "v1", ttlMs: 1 });
    await new Promise((resolve) => setTimeout(resolve, 30));
    const claim = (id: typeof lease) =>
      store.claim({ id, fingerprint: "f", leaseMs: 60_000, ttlMs: 60_000 });

    const outcomes = await Promise.all(
      Array.from({ length: 50 }, (_, i) => claim(i % 2 === 0 ? lease : record)),
    );

    const acquired = outcomes.filter((o) => o.kind === "acquired");
    expect(acquired).toHaveLength(2);
    expect(outcomes.filter((o) => o.kind === "busy")).toHaveLength(48);
    const byKey = new Map(acquired.map((o) => [o.record.key, o]));
    expect(byKey.get("lease")).toMatchObject({
      takenOver: true,
      record: { attempts: 2 },
    });
    expect(byKey.get("record")).toMatchObject({
      takenOver: false,
      record: { attempts: 1 },
    });
    await store.close();
  });

  it("rejects table and schema names that are not plain identifiers", () => {
    expect(
      () => new PostgresStore({ pool: db.pool, table: 'x"; DROP TABLE y; --' }),
    ).toThrow(/table name/);
    expect(() => new PostgresStore({ pool: db.pool, schema: "a.b" })).toThrow(
      /schema name/,
    );
  });

  it("sweeps a backlog in batches of sweepBatchSize, one DELETE per batch", async () => {
    // Counts the sweep statements the store sends, and the rows each deleted.
    const deletedPerSweep: number[] = [];
    const counting: PgPool = {
      connect: () => db.pool.connect(),
      async query(textOrConfig, values) {
        const result = await db.pool.query(textOrConfig, values);
        const text = typeof textOrConfig === "string" ? textOrConfig : textOrConfig.text;
        if (/^\s*DELETE\b/i.test(text) && text.includes(" ctid IN ")) {
          deletedPerSweep.push(single(result as PgQueryResult).rowCount ?? 0);
        }
        return result;
      },
    };
    const batch = 7;
    const store = new PostgresStore({
      pool: counting,
      schema: db.schema,
      table: "sweep",
      sweepInterval: false,
      sweepBatchSize: batch,
    });
    await store.migrate();
    const claimAll = (count: number, prefix: string) =>
      Promise.all(
        Array.from({ length: count }, (_, i) =>
          store.claim({
            id: { namespace: "sweep", scope: "", key: `${prefix}${i}` },
            fingerprint: "",
            leaseMs: 1,
            ttlMs: 1,
          }),
        ),
      );
    await claimAll(30, "a");
    await new Promise((resolve) => setTimeout(resolve, 20));

    const swept = await store.sweep();

    // Full batches until one comes back short: 7 + 7 + 7 + 7 + 2.
    expect(swept).toBe(30);
    expect(deletedPerSweep).toEqual([7, 7, 7, 7, 2]);
    expect((await store.stats()).total).toBe(0);

    // An exact multiple of the batch needs one more, empty, statement to see the end.
    deletedPerSweep.length = 0;
    await claimAll(2 * batch, "b");
    await new Promise((resolve) => setTimeout(resolve, 20));

    expect(await store.sweep()).toBe(2 * batch);
    expect(deletedPerSweep).toEqual([7, 7, 0]);
    await store.close();
  });

  it("keeps its sweep timer from holding the process open and clears it on close", async () => {
    const intervals = watchIntervals();
    const store = new PostgresStore({
      pool: db.pool,
      schema: db.schema,
      table: "timer_ref",
      sweepInterval: "1s",
    });
    const [timer] = intervals.made;

    expect(intervals.made).toHaveLength(1);
    expect(timer?.hasRef()).toBe(false);
    await store.close();
    intervals.restore();
    expect(intervals.cleared.has(timer)).toBe(true);
  });

  it("sweeps on its own timer and stops on close", async () => {
    const store = new PostgresStore({
      pool: db.pool,
      schema: db.schema,
      table: "timer",
      sweepInterval: 30,
    });
    await store.migrate();
    await store.claim({
      id: { namespace: "t", scope: "", key: "k" },
      fingerprint: "",
      leaseMs: 1,
      ttlMs: 1,
    });

    await new Promise((resolve) => setTimeout(resolve, 150));

    expect((await store.stats()).total).toBe(0);
    await store.close();
    await expect(store.stats()).rejects.toMatchObject({ code: "IDEMKIT_STORE" });
  });

  it("lists records past expired ones with a status filter", async () => {
    const store = new PostgresStore({
      pool: db.pool,
      schema: db.schema,
      table: "listing",
      sweepInterval: false,
    });
    await store.migrate();
    await store.claim({
      id: { namespace: "l", scope: "", key: "old" },
      fingerprint: "",
      leaseMs: 1,
      ttlMs: 1,
    });
    await store.claim({
      id: { namespace: "l", scope: "", key: "live" },
      fingerprint: "",
      leaseMs: 60_000,
      ttlMs: 60_000,
    });
    await new Promise((resolve) => setTimeout(resolve, 20));

    const expired = await store.list({ status: "expired" });
    const running = await store.list({ status: "in_progress" });

    expect(expired.records.map((r) => r.key)).toEqual(["old"]);
    expect(running.records.map((r) => r.key)).toEqual(["live"]);
    await store.close();
  });
});
