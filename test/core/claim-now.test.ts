/**
 * `Idempotency.claimNow`: the owner-handle entry the HTTP layer uses, so an
 * in-process store records a response in the same tick it is sent. Each
 * case checks what `run` would have done for the same call, since the two
 * entries share the engine's flights, events and records.
 */
import { describe, expect, it } from "vitest";
import {
  Idempotency,
  type IdempotencyEvent,
  IdempotencyKeyReuseError,
  IdempotencyStoreError,
  MemoryStore,
} from "../../src/index.js";
import { SqliteStore } from "../../src/stores/sqlite/index.js";
import { anotherProcessView, gate } from "../support/delegating-store.js";

const id = (key: string) => ({ namespace: "default", scope: "", key });

function owner<T>(idem: Idempotency, key: string, payload?: unknown) {
  const held = idem.claimNow<T>(key, { payload });
  if (held?.kind !== "owner")
    throw new Error(`expected to own ${key}, got ${held?.kind}`);
  return held;
}

describe("claimNow", () => {
  it.each([
    ["memory", () => new MemoryStore()],
    ["sqlite", () => new SqliteStore({ path: ":memory:" })],
  ])("on the %s store, records the result before succeed returns", async (_, open) => {
    const store = open();
    const idem = new Idempotency({ store });
    const held = owner<{ n: number }>(idem, "k1");

    const returned = held.succeed({ n: 1 });
    // Not a promise: the record is written already, with no await between.
    expect(returned).toEqual({ n: 1 });
    expect(returned).not.toBeInstanceOf(Promise);
    const record = await store.get(id("k1"));
    expect(record?.status).toBe("completed");

    // A later call replays it without running anything.
    let ran = 0;
    await expect(idem.run("k1", () => ++ran)).resolves.toEqual({ n: 1 });
    expect(ran).toBe(0);
    await store.close();
  });

  it("lets duplicates of this process join the owner, as run does", async () => {
    // onBusy "reject": a duplicate that went to the store would fail fast
    // with "in progress"; one that joined the owner gets its result.
    const idem = new Idempotency({ store: new MemoryStore(), onBusy: "reject" });
    const held = owner<string>(idem, "k2");

    let ran = 0;
    const duplicate = idem.run("k2", () => {
      ran++;
      return "second";
    });
    // While the owner runs, claimNow leaves the key to run's flight.
    expect(idem.claimNow("k2")).toBeUndefined();

    held.succeed("first");
    await expect(duplicate).resolves.toBe("first");
    expect(ran).toBe(0);
  });

  it("fail frees the key for a retry and rejects joined duplicates", async () => {
    const store = new MemoryStore();
    const idem = new Idempotency({ store });
    const held = owner<string>(idem, "k3");
    const duplicate = idem.run("k3", () => "never");

    const boom = new Error("handler threw");
    await held.fail(boom);
    await expect(duplicate).rejects.toBe(boom);
    expect((await store.get(id("k3")))?.status).toBe("failed");

    // Retryable: the next caller owns the key again, attempt 2.
    let attempt = 0;
    await expect(
      idem.run("k3", (ctx) => {
        attempt = ctx.attempt;
        return "retried";
      }),
    ).resolves.toBe("retried");
    expect(attempt).toBe(2);
  });

  it("settles replays and mismatches the way run does", async () => {
    const idem = new Idempotency({ store: new MemoryStore() });
    await idem.run("k4", () => "stored", { payload: { a: 1 } });

    const replay = idem.claimNow<string>("k4", { payload: { a: 1 } });
    expect(replay?.kind).toBe("settled");
    if (replay?.kind === "settled") await expect(replay.result).resolves.toBe("stored");

    const mismatch = idem.claimNow<string>("k4", { payload: { a: 2 } });
    expect(mismatch?.kind).toBe("settled");
    if (mismatch?.kind === "settled") {
      await expect(mismatch.result).rejects.toBeInstanceOf(IdempotencyKeyReuseError);
    }
  });

  it("answers undefined for a store that cannot claim at once", async () => {
    // The same memory store behind an object without claimSync, as Redis
    // and Postgres are.
    const idem = new Idempotency({ store: anotherProcessView(new MemoryStore()) });
    expect(idem.claimNow("k5")).toBeUndefined();
  });

  it("a result keepResult declines is not stored, and succeed waits for the release", async () => {
    const store = new MemoryStore();
    const idem = new Idempotency({ store });
    const held = idem.claimNow<number>("k6", { keepResult: (value) => value < 500 });
    if (held?.kind !== "owner") throw new Error("expected to own k6");

    const returned = held.succeed(503);
    expect(returned).toBeInstanceOf(Promise);
    await expect(returned).resolves.toBe(503);
    const record = await store.get(id("k6"));
    expect(record?.status).toBe("failed");
    expect(record?.error?.final).toBe(false);
  });

  it("emits the same events as run for an owner", async () => {
    const events: IdempotencyEvent["type"][] = [];
    const idem = new Idempotency({
      store: new MemoryStore(),
      onEvent: (event) => events.push(event.type),
    });
    owner<string>(idem, "k7").succeed("done");
    await idem.run("k7", () => "never");
    expect(events).toEqual(["acquired", "completed", "replayed"]);
  });

  it("a store that fails to record makes succeed throw a store error", async () => {
    const store = new MemoryStore();
    const idem = new Idempotency({ store });
    const held = owner<string>(idem, "k8");
    const duplicate = idem.run("k8", () => "never");
    await store.close();
    expect(() => held.succeed("lost")).toThrow(IdempotencyStoreError);
    await expect(duplicate).rejects.toBeInstanceOf(IdempotencyStoreError);
  });

  it("keeps the lease alive while the owner holds it (heartbeat)", async () => {
    const store = new MemoryStore();
    const idem = new Idempotency({ store, lease: "300ms" });
    const held = owner<string>(idem, "k9");
    const leaseAtClaim = (await store.get(id("k9")))?.leaseUntil ?? 0;
    const later = gate();
    setTimeout(() => later.open(), 500);
    await later.promise;
    const leaseLater = (await store.get(id("k9")))?.leaseUntil ?? 0;
    expect(leaseLater).toBeGreaterThan(leaseAtClaim);
    held.succeed("done");
    expect((await store.get(id("k9")))?.status).toBe("completed");
  });
});
