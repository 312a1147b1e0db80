import { describe, expect, it } from "vitest";
import {
  Idempotency,
  type IdempotencyEvent,
  IdempotencyInProgressError,
  IdempotencyKeyReuseError,
  IdempotencyStoreError,
  idempotent,
  MemoryStore,
} from "../../src/index.js";
import type { IdempotencyStore } from "../../src/stores/contract.js";
import { anotherProcessView, gate, sleep } from "../support/delegating-store.js";

describe("idempotent()", () => {
  it("runs 200 concurrent calls with one key once, and all get the identical result", async () => {
    const store = new MemoryStore();
    let runs = 0;
    const charge = idempotent(
      async (input: { user: string; amount: number }) => {
        runs++;
        await sleep(20);
        return { paymentId: `pay_${runs}`, amount: input.amount };
      },
      { store, name: "charge", key: (input) => input.user },
    );

    const results = await Promise.all(
      Array.from({ length: 200 }, () => charge({ user: "u1", amount: 10 })),
    );

    expect(runs).toBe(1);
    expect(new Set(results.map((r) => JSON.stringify(r)))).toEqual(
      new Set(['{"paymentId":"pay_1","amount":10}']),
    );
  });

  it("replays the stored result to a later duplicate without running again", async () => {
    const store = new MemoryStore();
    let runs = 0;
    const charge = idempotent(
      async (amount: number) => ({ n: ++runs, amount, at: new Date(0) }),
      {
        store,
        key: "fixed-key",
      },
    );

    const first = await charge(5);
    const second = await charge(5);

    expect(runs).toBe(1);
    expect(second).toEqual(first);
    expect(second.at).toBeInstanceOf(Date);
  });

  it("throws IdempotencyKeyReuseError for the same key with other arguments, without running", async () => {
    const store = new MemoryStore();
    let runs = 0;
    const charge = idempotent(async (_user: string, amount: number) => ++runs + amount, {
      store,
      key: (user) => user,
    });
    await charge("u1", 10);

    await expect(charge("u1", 99)).rejects.toBeInstanceOf(IdempotencyKeyReuseError);
    expect(runs).toBe(1);
  });

  it("reports reuse even while the first call is still running", async () => {
    const store = new MemoryStore();
    const held = gate();
    const op = idempotent(async (_k: string, _n: number) => held.promise, {
      store,
      key: (k) => k,
    });

    const first = op("k", 1);
    const conflicting = op("k", 2);

    await expect(conflicting).rejects.toBeInstanceOf(IdempotencyKeyReuseError);
    held.open();
    await first;
  });

  it("derives the same key whatever the order of object keys", async () => {
    const store = new MemoryStore();
    let runs = 0;
    const op = idempotent(async (_input: object) => ++runs, { store, name: "derived" });

    await op({ a: 1, b: { c: [1, 2], d: "x" } });
    await op({ b: { d: "x", c: [1, 2] }, a: 1 });
    await op({ a: 2, b: { c: [1, 2], d: "x" } });

    expect(runs).toBe(2);
  });

  it("keeps scopes apart: the same key in two scopes runs twice", async () => {
    const store = new MemoryStore();
    let runs = 0;
    const op = idempotent(async (_tenant: string) => ++runs, {
      store,
      key: "same",
      scope: (tenant) => tenant,
    });

    await op("tenant-a");
    await op("tenant-b");
    await op("tenant-a");

    expect(runs).toBe(2);
  });

  it("keeps `this` for methods", async () => {
    const store = new MemoryStore();
    const account = {
      balance: 100,
      debit: idempotent(
        async function (this: { balance: number }, amount: number) {
          this.balance -= amount;
          return this.balance;
        },
        { store, key: (amount) => `debit-${amount}` },
      ),
    };

    await account.debit(30);
    await account.debit(30);

    expect(account.balance).toBe(70);
  });
});

describe("failures", () => {
  it("runs again after a retryable failure", async () => {
    const store = new MemoryStore();
    let runs = 0;
    const op = idempotent(
      async () => {
        runs++;
        if (runs === 1) throw new Error("gateway timeout");
        return "ok";
      },
      { store, key: "k" },
    );

    await expect(op()).rejects.toThrow("gateway timeout");
    await expect(op()).resolves.toBe("ok");
    expect(runs).toBe(2);
  });

  it("replays a final failure with its name, message and code, without running", async () => {
    const store = new MemoryStore();
    let runs = 0;
    class FundsError extends Error {
      code = "E_FUNDS";
      override name = "FundsError";
    }
    const op = idempotent(
      async () => {
        runs++;
        throw new FundsError("insufficient funds");
      },
      { store, key: "k", cacheError: (err) => err instanceof FundsError },
    );

    await expect(op()).rejects.toBeInstanceOf(FundsError);
    const replayed = await op().catch((err: unknown) => err);

    expect(runs).toBe(1);
    expect(replayed).toMatchObject({
      name: "FundsError",
      message: "insufficient funds",
      code: "E_FUNDS",
      replayed: true,
    });
  });

  it("treats a throwing cacheError hook as retryable", async () => {
    const store = new MemoryStore();
    let runs = 0;
    const op = idempotent(
      async () => {
        runs++;
        throw new Error("x");
      },
      {
        store,
        key: "k",
        cacheError: () => {
          throw new Error("bad hook");
        },
      },
    );

    await expect(op()).rejects.toThrow("x");
    await expect(op()).rejects.toThrow("x");
    expect(runs).toBe(2);
  });

  it("does not run the operation when the claim cannot be written", async () => {
    const broken: IdempotencyStore = {
      ...anotherProcessView(new MemoryStore()),
      claim: () => Promise.reject(new Error("ECONNREFUSED")),
    };
    let runs = 0;
    const op = idempotent(async () => ++runs, { store: broken, key: "k" });

    const error = await op().catch((err: unknown) => err);

    expect(error).toBeInstanceOf(IdempotencyStoreError);
    expect((error as Error).message).toMatch(/ECONNREFUSED/);
    expect(runs).toBe(0);
  });
});

describe("in-process stores answering synchronously", () => {
  it("turns a failing synchronous claim into IdempotencyStoreError, without running", async () => {
    const store = new MemoryStore();
    await store.close();
    let runs = 0;
    const op = idempotent(async () => ++runs, { store, key: "k" });

    await expect(op()).rejects.toBeInstanceOf(IdempotencyStoreError);
    expect(runs).toBe(0);
  });

  it("answers the same through the synchronous and the asynchronous claim", async () => {
    const store = new MemoryStore();
    const direct = new Idempotency({ store });
    const viaPromises = new Idempotency({ store: anotherProcessView(store) });
    await direct.run("k", async () => ({ at: new Date(0) }), { payload: 1 });

    const fromSync = await direct.run("k", async () => "again", { payload: 1 });
    const fromAsync = await viaPromises.run("k", async () => "again", { payload: 1 });
    const mismatch = await direct
      .run("k", async () => "x", { payload: 2 })
      .catch((e: Error) => e.name);

    expect(fromSync).toEqual({ at: new Date(0) });
    expect(fromAsync).toEqual(fromSync);
    expect(mismatch).toBe("IdempotencyKeyReuseError");
  });
});

describe("busy keys", () => {
  it("rejects at once with onBusy: reject while another process runs the key", async () => {
    const store = new MemoryStore();
    const held = gate();
    const owner = new Idempotency({ store });
    const other = new Idempotency({ store: anotherProcessView(store), onBusy: "reject" });

    const running = owner.run("k", () => held.promise);
    await sleep(5);
    const error = await other.run("k", async () => "second").catch((err: unknown) => err);

    expect(error).toBeInstanceOf(IdempotencyInProgressError);
    expect((error as IdempotencyInProgressError).retryAfterMs).toBeGreaterThan(0);
    held.open();
    await running;
  });

  it("waits for another process's result with onBusy: wait", async () => {
    const store = new MemoryStore();
    const owner = new Idempotency({ store });
    const other = new Idempotency({ store: anotherProcessView(store) });
    let runs = 0;

    const first = owner.run("k", async () => {
      runs++;
      await sleep(100);
      return "first";
    });
    await sleep(5);
    const second = await other.run("k", async () => {
      runs++;
      return "second";
    });

    expect(second).toBe("first");
    expect(await first).toBe("first");
    expect(runs).toBe(1);
  });

  it("gives up waiting after waitTimeout", async () => {
    const store = new MemoryStore();
    const held = gate();
    const owner = new Idempotency({ store });
    const other = new Idempotency({ store: anotherProcessView(store), waitTimeout: 80 });

    const running = owner.run("k", () => held.promise);
    await sleep(5);
    const started = Date.now();
    const error = await other.run("k", async () => "x").catch((err: unknown) => err);

    expect(error).toBeInstanceOf(IdempotencyInProgressError);
    expect(Date.now() - started).toBeLessThan(1_000);
    held.open();
    await running;
  });
});

describe("leases", () => {
  it("lets the next caller take over a dead owner's key, and the stale owner cannot overwrite", async () => {
    const store = new MemoryStore();
    const events: IdempotencyEvent[] = [];
    const stuck = gate<string>();
    const dead = new Idempotency({
      store,
      lease: 60,
      heartbeat: false,
      onEvent: (e) => events.push(e),
    });
    const next = new Idempotency({ store: anotherProcessView(store), lease: "5s" });

    const stale = dead.run("k", () => stuck.promise);
    await sleep(120);
    let attempt = 0;
    const fresh = await next.run("k", async (ctx) => {
      attempt = ctx.attempt;
      return "fresh";
    });
    stuck.open("stale");
    const staleResult = await stale;
    const record = await store.get({ namespace: "default", scope: "", key: "k" });

    expect(fresh).toBe("fresh");
    expect(attempt).toBe(2);
    expect(staleResult).toBe("stale");
    expect(record).toMatchObject({
      status: "completed",
      attempts: 2,
      result: 'v"fresh"',
    });
    expect(events.map((e) => e.type)).toContain("lease_lost");
    expect(await next.run("k", async () => "third")).toBe("fresh");
  });

  it("aborts the stale owner's signal when its heartbeat finds the key taken", async () => {
    const store = new MemoryStore();
    const slow = new Idempotency({ store, lease: 90, heartbeat: 30 });
    let aborted: unknown;

    const running = slow.run("k", async (ctx) => {
      ctx.signal.addEventListener("abort", () => {
        aborted = ctx.signal.reason;
      });
      // Simulate the store losing the claim (a failover, a manual delete).
      await store.delete({ namespace: "default", scope: "", key: "k" });
      await sleep(150);
      return "done";
    });
    await running;

    expect(aborted).toMatchObject({ code: "IDEMKIT_LEASE_LOST" });
  });

  it("keeps a long operation (over three leases) alive with the heartbeat", async () => {
    const store = new MemoryStore();
    const owner = new Idempotency({ store, lease: 90 });
    const prober = new Idempotency({
      store: anotherProcessView(store),
      onBusy: "reject",
    });
    let runs = 0;

    const long = owner.run("k", async () => {
      runs++;
      await sleep(350);
      return "long";
    });
    const probes: string[] = [];
    for (let i = 0; i < 6; i++) {
      await sleep(50);
      probes.push(
        await prober
          .run("k", async () => {
            runs++;
            return "probe";
          })
          .then(
            () => "ran",
            (err: Error) => err.name,
          ),
      );
    }

    expect(await long).toBe("long");
    expect(runs).toBe(1);
    expect(probes).toEqual(Array(6).fill("IdempotencyInProgressError"));
  });
});

describe("many leases at once", () => {
  it("renews every running owner's lease from one engine", async () => {
    const store = new MemoryStore();
    const owner = new Idempotency({ store, lease: 90 });
    const prober = new Idempotency({
      store: anotherProcessView(store),
      onBusy: "reject",
    });
    let runs = 0;

    const running = Array.from({ length: 20 }, (_, i) =>
      owner.run(`k${i}`, async () => {
        runs++;
        await sleep(250 + i * 5);
        return i;
      }),
    );
    await sleep(200);
    const probes = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        prober.run(`k${i}`, async () => -1).catch((err: Error) => err.name),
      ),
    );

    expect(await Promise.all(running)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(probes).toEqual(Array(20).fill("IdempotencyInProgressError"));
    expect(runs).toBe(20);
  });
});

describe("retention", () => {
  it("runs a key again after its ttl", async () => {
    const store = new MemoryStore();
    let runs = 0;
    const op = idempotent(async () => ++runs, { store, key: "k", ttl: 40, lease: 30 });

    await op();
    await op();
    await sleep(80);
    await op();

    expect(runs).toBe(2);
  });
});

describe("keepResult", () => {
  it("returns a declined result to the caller but lets the next call run", async () => {
    const store = new MemoryStore();
    const idem = new Idempotency({ store });
    let runs = 0;
    const op = async () => ({ status: ++runs === 1 ? 503 : 200 });

    const first = await idem.run("k", op, { keepResult: (r) => r.status < 500 });
    const second = await idem.run("k", op, { keepResult: (r) => r.status < 500 });
    const third = await idem.run("k", op, { keepResult: (r) => r.status < 500 });

    expect([first.status, second.status, third.status]).toEqual([503, 200, 200]);
    expect(runs).toBe(2);
  });
});
