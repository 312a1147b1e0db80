import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { SqliteStore } from "../../src/stores/sqlite/index.js";
import { describeStoreContract } from "../contract/store-contract.js";
import { watchIntervals } from "../support/intervals.js";

const dir = mkdtempSync(join(tmpdir(), "idemkit-sqlite-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeStoreContract("sqlite (file, WAL)", async () => {
  const store = new SqliteStore({ path: join(dir, "contract.db") });
  return { store, teardown: () => store.close() };
});

describeStoreContract("sqlite (:memory:)", async () => {
  const store = new SqliteStore({ path: ":memory:" });
  return { store, teardown: () => store.close() };
});

describe("SqliteStore", () => {
  const id = { namespace: "n", scope: "", key: "k" };

  it("keeps records across a reopen of the file", async () => {
    const path = join(dir, "reopen.db");
    const first = new SqliteStore({ path });
    const claimed = await first.claim({
      id,
      fingerprint: "f",
      leaseMs: 1_000,
      ttlMs: 60_000,
    });
    await first.complete(id, claimed.record.token, { result: "v42", ttlMs: 60_000 });
    await first.close();

    const second = new SqliteStore({ path });
    const replay = await second.claim({
      id,
      fingerprint: "f",
      leaseMs: 1_000,
      ttlMs: 60_000,
    });

    expect(replay).toMatchObject({ kind: "replay", record: { result: "v42" } });
    await second.close();
  });

  it("runs in WAL mode with the chosen synchronous level", async () => {
    const path = join(dir, "pragmas.db");
    const store = new SqliteStore({ path, synchronous: "FULL" });
    const probe = new Database(path);
    // `synchronous` is per connection: read it on a handle the store set up.
    const normal = new Database(join(dir, "pragmas-normal.db"));
    const full = new Database(join(dir, "pragmas-full.db"));
    const onNormal = new SqliteStore({ database: normal });
    const onFull = new SqliteStore({ database: full, synchronous: "FULL" });

    expect(probe.pragma("journal_mode", { simple: true })).toBe("wal");
    expect(normal.pragma("synchronous", { simple: true })).toBe(1);
    expect(full.pragma("synchronous", { simple: true })).toBe(2);
    for (const closing of [onNormal, onFull, store]) await closing.close();
    for (const db of [probe, normal, full]) db.close();
  });

  it("sweeps expired rows on a timer that never keeps the process alive, and stops it on close", async () => {
    const intervals = watchIntervals();
    const store = new SqliteStore({ path: ":memory:", sweepInterval: 20 });
    const [timer] = intervals.made;
    const claimed = await store.claim({ id, fingerprint: "", leaseMs: 5, ttlMs: 10 });
    await store.complete(id, claimed.record.token, { result: "v", ttlMs: 10 });
    await new Promise((resolve) => setTimeout(resolve, 100));

    expect((await store.stats()).total).toBe(0);
    expect(timer?.hasRef()).toBe(false);
    await store.close();
    intervals.restore();
    expect(intervals.cleared.has(timer)).toBe(true);
  });

  it("uses a database the caller opened and leaves it open", async () => {
    const database = new Database(":memory:");
    const store = new SqliteStore({ database });
    await store.claim({ id, fingerprint: "f", leaseMs: 1_000, ttlMs: 60_000 });
    await store.close();

    expect(database.open).toBe(true);
    expect(database.prepare("SELECT COUNT(*) AS n FROM idemkit_records").get()).toEqual({
      n: 1,
    });
    database.close();
  });

  it("sweeps a large backlog in batches", async () => {
    const store = new SqliteStore({ path: ":memory:" });
    for (let i = 0; i < 2_500; i++) {
      const key = { ...id, key: `k${i}` };
      const claimed = await store.claim({
        id: key,
        fingerprint: "",
        leaseMs: 1,
        ttlMs: 1,
      });
      await store.complete(key, claimed.record.token, { result: "v", ttlMs: 1 });
    }
    await new Promise((resolve) => setTimeout(resolve, 10));

    expect(await store.sweep()).toBe(2_500);
    expect((await store.stats()).total).toBe(0);
    await store.close();
  });

  it("reports a database it cannot open as a store error", () => {
    expect(() => new SqliteStore({ path: join(dir, "missing", "dir", "x.db") })).toThrow(
      expect.objectContaining({ code: "IDEMKIT_STORE" }),
    );
    expect(() => new SqliteStore({ synchronous: "OFF" as never })).toThrow(/synchronous/);
  });
});
