/**
 * A stale owner on Redis: A's lease runs out while it is still working, B
 * takes the key over and finishes, then A finishes late. A's result must
 * not replace B's. A and B use separate clients and stores, as two
 * processes would.
 *
 *   A: claim ──── working (lease 200 ms, no heartbeat) ──────── complete ✗
 *   B:                         claim (take over) ── complete ✓
 *   C:                                                              replay → B
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Idempotency, type IdempotencyEvent } from "../../../src/index.js";
import { RedisStore } from "../../../src/stores/redis/index.js";
import { redisForTests } from "../../support/redis.js";
import { dropPrefix, freshPrefix, openClient, type TestClient } from "./fixtures.js";

const redis = await redisForTests("Redis store fencing");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(redis.skip !== undefined)("RedisStore fencing", () => {
  const prefix = freshPrefix("fencing");
  let clientA: TestClient;
  let clientB: TestClient;

  beforeAll(async () => {
    clientA = await openClient("ioredis", redis.url as string);
    clientB = await openClient("node-redis", redis.url as string);
  });

  afterAll(async () => {
    await dropPrefix(clientA, prefix);
    await clientA.close();
    await clientB.close();
  });

  it("keeps the new owner's result when a stale owner finishes late", async () => {
    const events: IdempotencyEvent[] = [];
    const storeA = new RedisStore({ client: clientA.client, prefix });
    const storeB = new RedisStore({ client: clientB.client, prefix });
    const ownerA = new Idempotency({
      store: storeA,
      lease: 200,
      heartbeat: false,
      onEvent: (event) => events.push(event),
    });
    const ownerB = new Idempotency({ store: storeB, lease: "5s" });
    const attempts: number[] = [];

    const lateA = ownerA.run("order-1", async (ctx) => {
      attempts.push(ctx.attempt);
      await sleep(600);
      return "result of A";
    });
    await sleep(350);
    const fromB = await ownerB.run("order-1", async (ctx) => {
      attempts.push(ctx.attempt);
      return "result of B";
    });
    const fromA = await lateA;
    const replay = await ownerA.run("order-1", async () => "must not run");
    const record = await storeA.get({ namespace: "default", scope: "", key: "order-1" });

    expect(fromB).toBe("result of B");
    expect(fromA).toBe("result of A");
    expect(replay).toBe("result of B");
    expect(attempts).toEqual([1, 2]);
    expect(record).toMatchObject({ status: "completed", attempts: 2 });
    expect(events.some((e) => e.type === "lease_lost")).toBe(true);
  });

  it("refuses every fenced write of the stale token at the store", async () => {
    const store = new RedisStore({ client: clientA.client, prefix });
    const id = { namespace: "fencing", scope: "", key: "direct" };
    const claim = { id, fingerprint: "", leaseMs: 50, ttlMs: 60_000 };
    const stale = await store.claim(claim);
    await sleep(100);
    const fresh = await store.claim({ ...claim, leaseMs: 5_000 });

    const writes = [
      await store.complete(id, stale.record.token, { result: "vA", ttlMs: 60_000 }),
      await store.fail(id, stale.record.token, {
        error: { name: "Error", message: "late", final: true },
        ttlMs: 60_000,
      }),
      await store.extend(id, stale.record.token, 5_000),
      await store.saveStep(id, stale.record.token, "charge", "1"),
    ];

    expect(writes).toEqual([false, false, false, false]);
    expect(await store.get(id)).toMatchObject({
      status: "in_progress",
      token: fresh.record.token,
      steps: {},
    });
  });
});
