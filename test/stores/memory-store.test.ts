import { describe, expect, it } from "vitest";
import { MemoryStore } from "../../src/stores/memory/memory-store.js";
import { describeStoreContract } from "../contract/store-contract.js";
import { watchIntervals } from "../support/intervals.js";

describeStoreContract("memory", async () => {
  const store = new MemoryStore();
  return { store, teardown: () => store.close() };
});

describe("MemoryStore", () => {
  const id = (key: string) => ({ namespace: "n", scope: "", key });
  const claim = (key: string) => ({
    id: id(key),
    fingerprint: "",
    leaseMs: 10_000,
    ttlMs: 60_000,
  });

  it("evicts the oldest settled records past maxEntries, never an in-progress one", async () => {
    const store = new MemoryStore({ maxEntries: 3 });
    const running = await store.claim(claim("running"));
    for (const key of ["a", "b", "c"]) {
      const outcome = await store.claim(claim(key));
      await store.complete(id(key), outcome.record.token, {
        result: "v1",
        ttlMs: 60_000,
      });
    }

    expect(store.size).toBe(3);
    expect(await store.get(id("running"))).toMatchObject({
      status: "in_progress",
      token: running.record.token,
    });
    expect(await store.get(id("a"))).toBeUndefined();
    expect(await store.get(id("c"))).toBeDefined();
    await store.close();
  });

  it("can exceed maxEntries while that many operations run", async () => {
    const store = new MemoryStore({ maxEntries: 2 });
    for (const key of ["a", "b", "c"]) await store.claim(claim(key));

    expect(store.size).toBe(3);
    await store.close();
  });

  it("sweeps expired records on its timer", async () => {
    const store = new MemoryStore({ sweepInterval: 20 });
    const outcome = await store.claim({ ...claim("a"), ttlMs: 10, leaseMs: 5 });
    await store.complete(id("a"), outcome.record.token, { result: "v1", ttlMs: 10 });
    await new Promise((resolve) => setTimeout(resolve, 80));

    expect(store.size).toBe(0);
    await store.close();
  });

  it("sweeps on a timer that never keeps the process alive, and stops it on close", async () => {
    const intervals = watchIntervals();
    const store = new MemoryStore({ sweepInterval: "1s" });
    const [timer] = intervals.made;

    expect(intervals.made).toHaveLength(1);
    expect(timer?.hasRef()).toBe(false);
    await store.close();
    intervals.restore();
    expect(intervals.cleared.has(timer)).toBe(true);
  });

  it("rejects a bad bound and a bad sweep interval", () => {
    expect(() => new MemoryStore({ maxEntries: 0 })).toThrow(/maxEntries/);
    expect(() => new MemoryStore({ sweepInterval: "soon" as never })).toThrow(
      /sweepInterval/,
    );
  });

  it("refuses claims once closed", async () => {
    const store = new MemoryStore();
    await store.close();

    await expect(store.claim(claim("a"))).rejects.toMatchObject({
      code: "IDEMKIT_STORE",
    });
  });
});
